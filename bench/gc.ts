// What the garbage collector does per check in the server under load: bench:check's full pipeline under h2load
// (closed loop, 8 connections × 16 streams), the server started with V8's --trace-gc-nvp, and per load phase
// the bytes allocated per check, young-generation collections (scavenges) per 10,000 checks, what survives a
// scavenge (bytes copied: mostly what the checks in flight hold, which each scavenge copies), what is promoted
// to the old generation, the collectors' pause per check, next to the process's CPU per check (/proc).
// BASE=DIR runs the same server from another checkout (its bench/check/server.ts with its own src/) in
// alternating phases, so a change is compared with the tree before it under the same load.
//   npm run bench:gc     (ROUNDS=5 SECONDS=4; DISTINCT=1: 1,000 tokens; BASE=/path/to/other/tree; FLAGS="...": node options
//                         for this tree's server only; RATE=2000: an
//                         open loop at that rate instead of the closed loop)
// SERVE=1 measures `portcullis serve` instead, as bench:footprint starts it: each tree's built bin/portcullis.js
// (run `npm run build` in both) with the image's Node flags and ENV, serving policies/ without JWT or Redis,
// h2load sending the check the policy denies (POST /api/orders/1).
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { checkRequest } from '../test/helpers/checkClient.js';
import { CHECK_PATH, checkFrame, prepareBench } from './check/setup.js';
import { cpuSeconds, distinctLoad, h2load, startServer } from './check/servers.js';
import { imageNodeFlags } from './imageNodeFlags.js';
import { startServe } from './serveProcess.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 4);
const DISTINCT = process.env.DISTINCT === '1';
const BASE = process.env.BASE;
/** checks/s of an open loop (bench:check's fixed-rate phase); absent: the closed loop */
const RATE = process.env.RATE === undefined ? undefined : Number(process.env.RATE);

interface GcTotals {
  scavenges: number;
  /** bytes allocated in the young generation since the collection before (V8's `allocated`) */
  allocated: number;
  /** bytes a scavenge kept in the young generation (`new_space_survived`) */
  survived: number;
  promoted: number;
  scavengeMs: number;
  majors: number;
  majorMs: number;
}

/** SERVE=1: `portcullis serve` on policies/ (see the header) */
const SERVE = process.env.SERVE === '1';

interface Traced {
  server: { name: string; child: ChildProcess; port: number };
  /** every GC line printed before it resolves belongs to the phase before */
  settle(): Promise<unknown>;
  /** collections counted while a phase runs */
  phase: GcTotals | null;
}

const emptyTotals = (): GcTotals => ({
  scavenges: 0,
  allocated: 0,
  survived: 0,
  promoted: 0,
  scavengeMs: 0,
  majors: 0,
  majorMs: 0,
});

function field(line: string, name: string): number {
  const match = new RegExp(` ${name}=([\\d.]+)`).exec(line);
  return match === null ? 0 : Number(match[1]);
}

/** FLAGS="...": node options for this tree's server only (BASE=. then measures a flag against its absence) */
const FLAGS = (process.env.FLAGS ?? '').split(/\s+/).filter(Boolean);

async function startTraced(label: string, serverFile: string, configFile: string, flags: string[]): Promise<Traced> {
  const server = await startServer(label, [serverFile, 'portcullis', configFile], undefined, [
    '--trace-gc-nvp',
    ...flags,
  ]);
  return traceGc({ server, settle: () => server.ask('stages', 'STAGES '), phase: null });
}

/** `portcullis serve` of the checkout at `root` on `dir`/policies, as bench:footprint starts it, with its GC trace. */
async function startTracedServe(label: string, root: string, dir: string, flags: string[]): Promise<Traced> {
  const serve = await startServe({
    root,
    dir,
    policyPath: join(dir, 'policies'),
    watch: true,
    nodeFlags: [...imageNodeFlags(root), '--trace-gc-nvp', ...flags],
  });
  // the trace is written as each collection ends; a moment after the load has stopped, all of it has been read
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
  return traceGc({ server: { name: label, child: serve.child, port: serve.grpcPort }, settle, phase: null });
}

function traceGc(traced: Traced): Traced {
  const server = traced.server;
  createInterface({ input: server.child.stdout! }).on('line', (line) => {
    const totals = traced.phase;
    if (totals === null || !line.includes(' pause=')) return;
    const kind = /gc=(\w+)/.exec(line)?.[1];
    if (kind === 's') {
      totals.scavenges += 1;
      totals.scavengeMs += field(line, 'pause');
      totals.survived += field(line, 'new_space_survived');
    } else {
      totals.majors += 1;
      totals.majorMs += field(line, 'pause');
    }
    totals.allocated += field(line, 'allocated');
    totals.promoted += field(line, 'promoted');
  });
  return traced;
}

const thisTree = FLAGS.length === 0 ? 'this tree' : `this tree, ${FLAGS.join(' ')}`;
const setup = SERVE ? undefined : await prepareBench(DISTINCT ? 1000 : 1);
const dir = setup?.dir ?? mkdtempSync(join(tmpdir(), 'portcullis-bench-gc-'));
const sides: Traced[] = [];
let bodyFile: string;
if (setup === undefined) {
  cpSync(join(process.cwd(), 'policies'), join(dir, 'policies'), { recursive: true });
  bodyFile = join(dir, 'check.bin');
  writeFileSync(bodyFile, checkFrame(checkRequest({ path: '/api/orders/1', method: 'POST' })));
  sides.push(await startTracedServe(thisTree, process.cwd(), dir, FLAGS));
  if (BASE !== undefined) sides.push(await startTracedServe('BASE', BASE, dir, []));
} else {
  bodyFile = setup.oneTokenFile;
  const configFile = setup.writeConfig('portcullis.json', {
    grpc: { address: '127.0.0.1:0' },
    admin: { address: '127.0.0.1:0' },
    logLevel: 'silent',
  });
  sides.push(await startTraced(thisTree, 'bench/check/server.ts', configFile, FLAGS));
  if (BASE !== undefined) sides.push(await startTraced('BASE', join(BASE, 'bench/check/server.ts'), configFile, []));
}

const shape = { seconds: SECONDS, connections: 8, streams: 16, path: CHECK_PATH, dir };
const load = (port: number, seconds: number, rate?: number) =>
  DISTINCT && setup !== undefined
    ? distinctLoad(port, setup.bodies, { ...shape, seconds }, rate)
    : h2load(port, bodyFile, { ...shape, seconds }, rate);
for (const side of sides) await load(side.server.port, 2); // warm-up: JIT, caches

interface Row {
  checksPerSecond: number;
  cpuUs: number;
  allocatedKb: number;
  scavengesPer10k: number;
  survivedKbPerScavenge: number;
  promotedKbPer10k: number;
  gcUs: number;
  scavengeMs: number;
  majorsPer10k: number;
  majorMs: number;
}
const rows = new Map<Traced, Row[]>(sides.map((side) => [side, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    const totals = emptyTotals();
    await side.settle();
    side.phase = totals;
    const cpu0 = cpuSeconds(side.server.child.pid!);
    const result = await load(side.server.port, SECONDS, RATE);
    const cpu = cpuSeconds(side.server.child.pid!) - cpu0;
    await side.settle();
    side.phase = null;
    const checks = result.done;
    rows.get(side)!.push({
      checksPerSecond: checks / result.seconds,
      cpuUs: (cpu / checks) * 1e6,
      allocatedKb: totals.allocated / checks / 1024,
      scavengesPer10k: (totals.scavenges / checks) * 1e4,
      survivedKbPerScavenge: totals.survived / Math.max(1, totals.scavenges) / 1024,
      promotedKbPer10k: ((totals.promoted / checks) * 1e4) / 1024,
      gcUs: ((totals.scavengeMs + totals.majorMs) / checks) * 1e3,
      scavengeMs: totals.scavengeMs / Math.max(1, totals.scavenges),
      majorsPer10k: (totals.majors / checks) * 1e4,
      majorMs: totals.majorMs / Math.max(1, totals.majors),
    });
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const [load1] = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ');
console.log(
  `bench:gc — ${SERVE ? "portcullis serve on policies/, the image's Node flags (h2load)" : DISTINCT ? '1,000 tokens (framesLoad)' : '1 token (h2load)'}, ${ROUNDS} alternating rounds × ${SECONDS} s, ${RATE === undefined ? '8 × 16 streams' : `${RATE} checks/s, 8 connections`}; load average ${load1} at the end; node ${process.version}; medians`,
);
console.log(
  '| tree | checks/s | CPU µs/check | KB allocated/check | scavenges /10k checks | KB survived /scavenge | KB promoted /10k checks | ms /scavenge | major GCs /10k checks | ms /major GC | GC pause µs/check |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const side of sides) {
  const list = rows.get(side)!;
  const m = (pick: (row: Row) => number, digits = 1) => median(list.map(pick)).toFixed(digits);
  console.log(
    `| ${side.server.name} | ${m((r) => r.checksPerSecond, 0)} | ${m((r) => r.cpuUs)} | ${m((r) => r.allocatedKb)} | ${m((r) => r.scavengesPer10k)} | ${m((r) => r.survivedKbPerScavenge, 0)} | ${m((r) => r.promotedKbPer10k, 0)} | ${m((r) => r.scavengeMs, 2)} | ${m((r) => r.majorsPer10k, 2)} | ${m((r) => r.majorMs, 1)} | ${m((r) => r.gcUs)} |`,
  );
}
if (process.env.VERBOSE === '1')
  console.log(JSON.stringify(Object.fromEntries([...rows].map(([s, r]) => [s.server.name, r]))));

for (const side of sides) side.server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
if (setup === undefined) rmSync(dir, { recursive: true, force: true });
else await setup.dispose();
process.exit(0);
