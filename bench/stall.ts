// Where a stall in bench:check's fixed-rate phase comes from (one quiet run had Portcullis's p99 at 2,000
// checks/s at 27.5 ms with its p50 unchanged: something held ~100 ms of requests in one 5 s phase). The phase
// (h2load, 8 connections, RATE/s, SECONDS) is repeated PHASES times against the full pipeline, alternating with
// the grpc-js no-op, and each phase is printed with what each side saw:
// - the client: p50, p99, max, and its slow requests (over 20 ms and 5× the p50) grouped into bursts by when
//   they were sent (h2load's per-request log);
// - the server: its longest event-loop delay and GC pause, and the ticks it held up by more than 30 ms and the
//   GC pauses over 5 ms at their wall-clock times (bench/check/server.ts), so a burst can be lined up with them;
// - the machine: the CPU time of every other process during the phase (/proc), and the kernel's steal, iowait
//   and interrupt time (/proc/stat).
// - the load generator: with DISTINCT=1 this process sends the requests (framesLoad); its own held ticks and GC
//   pauses are listed under a burst as the server's are (h2load, a C program, has no such view);
// A burst with a held tick or a GC pause of the server under it is the server's; one without is outside it.
//   npm run bench:stall      (PHASES=12 SECONDS=5 RATE=2000; DISTINCT=1: 1,000 tokens from framesLoad;
//                             TRACE_GC=1 or nvp: the server's --trace-gc or --trace-gc-nvp lines to a file, kept;
//                             NODE_FLAGS="...": node options for both servers)
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { framesLoad } from './check/framesLoad.js';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import {
  cpuSeconds,
  h2loadRecords,
  loopStart,
  loopStop,
  startServer,
  type H2loadRecord,
  type LoopStats,
  type Server,
} from './check/servers.js';

const PHASES = Number(process.env.PHASES ?? 12);
const SECONDS = Number(process.env.SECONDS ?? 5);
const RATE = Number(process.env.RATE ?? 2000);
const DISTINCT = process.env.DISTINCT === '1';
const TRACE_GC = process.env.TRACE_GC === '1' || process.env.TRACE_GC === 'nvp';
const TRACE_FLAG = process.env.TRACE_GC === 'nvp' ? '--trace-gc-nvp' : '--trace-gc';
/** more node options for both servers (NODE_FLAGS="--max-semi-space-size=8 ..."), e.g. the image's */
const NODE_FLAGS = (process.env.NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const CONNECTIONS = 8;
const STREAMS = 16;

const setup = await prepareBench(DISTINCT ? 1000 : 1);
const shape = { seconds: SECONDS, connections: CONNECTIONS, streams: STREAMS, path: CHECK_PATH, dir: setup.dir };
const configFile = setup.writeConfig('portcullis.json', {
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '127.0.0.1:0' },
  logLevel: 'silent',
});

async function start(name: string, args: string[]): Promise<Server> {
  const server = await startServer(name, args, undefined, [...NODE_FLAGS, ...(TRACE_GC ? [TRACE_FLAG] : [])]);
  if (TRACE_GC) {
    const file = join(setup.dir, `${name}.trace-gc.log`);
    const out = createWriteStream(file);
    createInterface({ input: server.child.stdout! }).on('line', (line) => {
      // everything but the server's answers on stdin's commands: the trace's lines, and any flag's own output
      if (!/^(PORT|STAGES|LOOP|PROFIL|SNAPSHOT)/.test(line)) out.write(`${Date.now()} ${line}\n`);
    });
    console.log(`${name}: --trace-gc lines (prefixed with the wall-clock ms they were read at) in ${file}`);
  }
  return server;
}
const noop = await start('no-op', ['bench/check/server.ts', 'noop']);
const portcullis = await start('portcullis', ['bench/check/server.ts', 'portcullis', configFile]);
// warm-up: JIT, the verified-token cache
for (const server of [noop, portcullis])
  await framesLoad({ port: server.port, path: CHECK_PATH, bodies: setup.bodies, sessions: 8, streams: 16, seconds: 2 });

// The load generator's side: with DISTINCT=1 the requests come from this process (framesLoad), whose own event
// loop and garbage collector can hold them up as the server's can. Ticks of this process held up by more than
// 30 ms and its GC pauses over 5 ms, with their wall-clock times, per phase.
const clientHeld: Array<{ atMs: number; ms: number }> = [];
const clientGcs: Array<{ atMs: number; ms: number }> = [];
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - lastTick > 30) clientHeld.push({ atMs: performance.timeOrigin + lastTick, ms: now - lastTick });
  lastTick = now;
}, 10).unref();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if (entry.duration > 5) clientGcs.push({ atMs: performance.timeOrigin + entry.startTime, ms: entry.duration });
}).observe({ entryTypes: ['gc'] });

/** CPU seconds of every process on the machine, by pid, with its name */
function processCpu(): Map<number, { name: string; seconds: number }> {
  const all = new Map<number, { name: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(Number(entry), { name, seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // the process exited while we listed them
    }
  }
  return all;
}

/** the machine's CPU time by kind (/proc/stat's first line), in seconds */
function machineCpu(): Record<'busy' | 'idle' | 'iowait' | 'irq' | 'steal', number> {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((n) => Number(n) / 100);
  return { busy: user! + nice! + system!, idle: idle!, iowait: iowait!, irq: irq! + softirq!, steal: steal! };
}

interface Burst {
  /** ms after the phase's first request */
  fromMs: number;
  toMs: number;
  requests: number;
  worstMs: number;
}

/** slow requests grouped by when they were sent: one held-up moment makes one burst */
function bursts(records: Array<Pick<H2loadRecord, 'startMs' | 'latencyMs'>>, slowMs: number): Burst[] {
  const t0 = Math.min(...records.map((r) => r.startMs));
  const slow = records.filter((r) => r.latencyMs > slowMs).sort((a, b) => a.startMs - b.startMs);
  const found: Burst[] = [];
  for (const r of slow) {
    const at = r.startMs - t0;
    const last = found[found.length - 1];
    if (last !== undefined && at - last.toMs < 50) {
      last.toMs = at;
      last.requests++;
      last.worstMs = Math.max(last.worstMs, r.latencyMs);
    } else found.push({ fromMs: at, toMs: at, requests: 1, worstMs: r.latencyMs });
  }
  return found;
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

console.log(
  `bench:stall — ${PHASES} fixed-rate phases per server, ${SECONDS} s at ${RATE}/s, ${CONNECTIONS} connections, ${DISTINCT ? '1,000 tokens (framesLoad)' : '1 token (h2load)'}; node ${NODE_FLAGS.join(' ') || '(default flags)'}; load average ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
);
console.log(
  '| phase | server | p50 ms | p99 ms | max ms | server loop max ms | server GC max ms | major GCs | server GC pauses over 5 ms, ms (M: major) | slow bursts: at ms (+span) × requests, worst ms, what was held up under it (server / client: this process) | machine: steal / iowait / irq / idle % | other processes (CPU s) |',
);
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|---|');
/** this process and its parents (tsx, npm, the shell) */
function ancestors(pid: number): number[] {
  const found: number[] = [];
  for (let p = pid; p > 1;) {
    found.push(p);
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return found;
}
const own = new Set([...ancestors(process.pid), setup.redisPid, noop.child.pid!, portcullis.child.pid!]);
for (let phase = 1; phase <= PHASES; phase++) {
  for (const server of [noop, portcullis]) {
    const procs0 = processCpu();
    const machine0 = machineCpu();
    const cpu0 = cpuSeconds(server.child.pid!);
    await loopStart(server);
    clientHeld.length = 0;
    clientGcs.length = 0;
    const { records } = DISTINCT
      ? await framesLoad({
          port: server.port,
          path: CHECK_PATH,
          bodies: setup.bodies,
          sessions: CONNECTIONS,
          streams: STREAMS,
          seconds: SECONDS,
          rate: RATE,
        })
      : await h2loadRecords(server.port, setup.oneTokenFile, shape, RATE);
    const latencies = records.map((r) => r.latencyMs).sort((a, b) => a - b);
    const found = bursts(records, Math.max(20, 5 * percentile(latencies, 0.5)));
    const firstRequestMs = Math.min(...records.map((r) => r.startMs));
    const loop: LoopStats = await loopStop(server);
    const serverCpu = cpuSeconds(server.child.pid!) - cpu0;
    const machine1 = machineCpu();
    const procs1 = processCpu();
    const total =
      Object.values(machine1).reduce((a, b) => a + b, 0) - Object.values(machine0).reduce((a, b) => a + b, 0);
    const share = (k: keyof typeof machine0) => ((machine1[k] - machine0[k]) / total) * 100;
    const others = [...procs1]
      .filter(([pid]) => !own.has(pid))
      .map(([pid, p]) => ({ name: `${p.name}[${pid}]`, seconds: p.seconds - (procs0.get(pid)?.seconds ?? p.seconds) }))
      .filter((p) => !p.name.startsWith('h2load[') && p.seconds >= 0.1)
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 3);
    const burstText = found
      .map((b) => {
        const from = firstRequestMs + b.fromMs - 50;
        const to = firstRequestMs + b.toMs + b.worstMs;
        const held = loop.held.filter((h) => h.atMs + h.ms >= from && h.atMs <= to);
        const gcs = loop.gcs.filter((g) => g.atMs + g.ms >= from && g.atMs <= to);
        const under = [
          ...held.map((h) => `held ${fmt(h.ms, 0)} (CPU ${fmt(h.cpuMs, 0)})`),
          ...gcs.map((g) => `GC${g.kind === 4 ? ' major' : ''} ${fmt(g.ms, 0)}`),
          ...clientHeld.filter((h) => h.atMs + h.ms >= from && h.atMs <= to).map((h) => `client held ${fmt(h.ms, 0)}`),
          ...clientGcs.filter((g) => g.atMs + g.ms >= from && g.atMs <= to).map((g) => `client GC ${fmt(g.ms, 0)}`),
        ];
        return `${fmt(b.fromMs, 0)} (+${fmt(b.toMs - b.fromMs, 0)}) × ${b.requests}, ${fmt(b.worstMs, 0)}, ${under.length === 0 ? 'none' : under.join(' ')}`;
      })
      .join('; ');
    console.log(
      `| ${phase} | ${server.name} | ${fmt(percentile(latencies, 0.5), 2)} | ${fmt(percentile(latencies, 0.99), 2)} | ${fmt(latencies[latencies.length - 1]!)} | ${fmt(loop.maxMs)} | ${fmt(loop.gcMaxMs)} | ${loop.majorGcs} | ${loop.gcs.map((g) => `${g.kind === 4 ? 'M' : ''}${fmt(g.ms, 0)}`).join(' ') || '-'} | ${burstText || '-'} | ${fmt(share('steal'))} / ${fmt(share('iowait'))} / ${fmt(share('irq'))} / ${fmt(share('idle'))} | ${others.map((p) => `${p.name} ${fmt(p.seconds)}`).join(', ') || '-'} (server ${fmt(serverCpu)}) |`,
    );
  }
}

for (const server of [noop, portcullis]) server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
if (!TRACE_GC) await setup.dispose();
process.exit(0);
