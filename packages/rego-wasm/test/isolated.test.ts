// compileIsolated's child yields the CPU to the process that forked it: every thread of the child (V8's
// compiler and GC helpers included, not only the main thread) runs at the lowest priority (niceness 19),
// and V8 only uses its baseline WebAssembly compiler there. Read from /proc while a real compile runs (Linux).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileIsolated } from '@portcullis/rego-wasm/isolated';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;

interface ChildSnapshot {
  cmdline: string[];
  /** niceness of each thread, by thread id */
  niceness: Map<string, number>;
}

function children(): number[] {
  return readdirSync(`/proc/${process.pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

/** The child's command line and its threads' niceness (field 19 of /proc/PID/task/TID/stat), or undefined once gone. */
function snapshot(pid: number): ChildSnapshot | undefined {
  try {
    const niceness = new Map<string, number>();
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      niceness.set(thread, Number(fields[16]));
    }
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { cmdline, niceness };
  } catch {
    return undefined;
  }
}

describe.runIf(existsSync('/proc/self/task'))('compileIsolated child process', () => {
  it('runs every thread of the compiler child at a lower priority, with the baseline Wasm compiler only', async () => {
    const latest = new Map<number, ChildSnapshot>();
    const sampler = setInterval(() => {
      for (const pid of children()) {
        const seen = snapshot(pid);
        if (seen !== undefined && seen.cmdline.some((arg) => arg.endsWith('isolated-child.js'))) latest.set(pid, seen);
      }
    }, 5);
    try {
      const result = await compileIsolated([{ path: 'authz.rego', source: POLICY }], {
        entrypoints: ['envoy/authz/allow'],
      });
      expect(result.entrypoints).toEqual(['envoy/authz/allow']);
    } finally {
      clearInterval(sampler);
    }
    expect(latest.size).toBe(1);
    const [child] = [...latest.values()];
    expect(child!.cmdline).toContain('--liftoff-only');
    expect(child!.niceness.size).toBeGreaterThan(1);
    expect([...child!.niceness.values()].every((nice) => nice === 19)).toBe(true);
  });
});
