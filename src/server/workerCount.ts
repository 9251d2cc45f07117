// `workers: auto` resolves to the cores this process may actually use: the cgroup v2 CPU quota
// (/sys/fs/cgroup/cpu.max, "QUOTA PERIOD" or "max PERIOD") when one is set, never more than
// os.availableParallelism() (which already honours the CPU affinity mask). A pod limited to 2 CPUs on a
// 64-core node must run 2 event loops, not 64.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export type WorkersSetting = number | 'auto';

/** cores allowed by a cpu.max text, or null when there is no quota ("max") or the text is not understood */
export function coresFromCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return null;
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return null;
  return Math.max(1, Math.ceil(q / p));
}

export function resolveWorkerCount(
  setting: WorkersSetting,
  read: { cpuMax(): string | null; parallelism(): number } = {
    cpuMax: () => {
      try {
        return readFileSync('/sys/fs/cgroup/cpu.max', 'utf8');
      } catch {
        return null; // no cgroup v2 file (cgroup v1, macOS): the affinity count alone
      }
    },
    parallelism: availableParallelism,
  },
): number {
  if (setting !== 'auto') return setting;
  const cpuMax = read.cpuMax();
  const quota = cpuMax === null ? null : coresFromCpuMax(cpuMax);
  return Math.max(1, Math.min(read.parallelism(), quota ?? Number.POSITIVE_INFINITY));
}
