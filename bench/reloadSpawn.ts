// What starting the compiler child costs the event loop that answers checks, per way of starting it. Each round
// compiles a small policy in the real child (dist/isolated-child.js, niceness 19, --liftoff-only) in a process
// holding a server-sized heap; rounds alternate between the ways.
//   npm run bench:reload-spawn        (ROUNDS=20; run `npm run build` first)
// Per way: the wall time of the call that starts the child (what compileIsolated reports as spawnMs), and the
// longest gap of a 1 ms timer from the call until the child has exited (any stall of the loop the start causes
// later, such as page faults blocked while a fork copies the process's page tables); a control row waits as long
// as a compile without starting anything, for the timer's gaps on this machine alone.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compileIsolated } from '@portcullis/rego-wasm/isolated';

const ROUNDS = Number(process.env.ROUNDS ?? 20);
// The built child script, next to the package's entry (its exports map lists only public entries).
const CHILD = fileURLToPath(
  new URL('./isolated-child.js', `file://${createRequire(import.meta.url).resolve('@portcullis/rego-wasm/isolated')}`),
);
const SOURCES = [
  {
    path: 'authz.rego',
    source: 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.x == 1\n',
  },
];
const REQUEST = { sources: SOURCES, options: { entrypoints: ['envoy/authz/allow'] } };
const NICENESS = 19;

// A heap the size of a serving process's (~80 MB RSS): forking copies the page tables of all of it.
const heap = Array.from({ length: 400_000 }, (_, i) => ({ i, text: `entry ${i}`, list: [i, i + 1] }));

type Start = () => ChildProcess;
const base = { execArgv: ['--liftoff-only'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as const };
/** The ways of forking on the calling thread, as compileIsolated did before it used a launcher thread and a shell. */
const FORKS: Record<string, Start> = {
  'fork (advanced serialization, stderr piped)': () =>
    fork(CHILD, [String(NICENESS)], { ...base, stdio: [...base.stdio], serialization: 'advanced' }),
  'fork, env of PATH only': () =>
    fork(CHILD, [String(NICENESS)], {
      ...base,
      stdio: [...base.stdio],
      serialization: 'advanced',
      env: { PATH: process.env.PATH ?? '' },
    }),
  'fork, JSON serialization': () => fork(CHILD, [String(NICENESS)], { ...base, stdio: [...base.stdio] }),
  'fork, stdio all ignored': () =>
    fork(CHILD, [String(NICENESS)], {
      ...base,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    }),
  'fork, detached': () =>
    fork(CHILD, [String(NICENESS)], { ...base, stdio: [...base.stdio], serialization: 'advanced', detached: true }),
  'spawn of node with an IPC channel': () =>
    spawn(process.execPath, ['--liftoff-only', CHILD, String(NICENESS)], {
      stdio: [...base.stdio],
      serialization: 'advanced',
    }),
};

interface Sample {
  callMs: number;
  gapMs: number;
}

/** A 1 ms timer's longest gap while `run` goes on. */
async function withGapTimer(run: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 1);
  await run();
  clearInterval(timer);
  return Math.max(gap, performance.now() - last);
}

async function forkRound(start: Start): Promise<Sample> {
  let callMs = 0;
  const gapMs = await withGapTimer(async () => {
    const t = performance.now();
    const child = start();
    if (child.pid !== undefined) setPriority(child.pid, NICENESS);
    callMs = performance.now() - t;
    const replied = new Promise((resolve) => child.once('message', resolve));
    child.send(REQUEST);
    await replied;
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
  });
  return { callMs, gapMs };
}

/**
 * compileIsolated's round (a long-lived shell starts the child; the shell itself is started in the warm-up round)
 * lasts until its child has exited, as a fork's round does.
 */
async function isolatedRound(): Promise<Sample> {
  let callMs = 0;
  const gapMs = await withGapTimer(async () => {
    const before = new Set(descendantPids(process.pid));
    const t = performance.now();
    const compiled = compileIsolated(SOURCES, { entrypoints: ['envoy/authz/allow'] });
    callMs = performance.now() - t;
    await compiled;
    while (descendantPids(process.pid).some((pid) => !before.has(pid))) await sleep(1);
  });
  return { callMs, gapMs };
}

/** As long as the last compile round took, starting nothing. */
let lastRoundMs = 300;
async function controlRound(): Promise<Sample> {
  return { callMs: 0, gapMs: await withGapTimer(() => sleep(lastRoundMs)) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Children of every thread of a process, and theirs (a thread or process that ended meanwhile has none). */
function descendantPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = tasks.flatMap((task) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return children.flatMap((child) => [child, ...descendantPids(child)]);
}

const ways: Array<[string, () => Promise<Sample>]> = [
  ...Object.entries(FORKS).map(([name, start]): [string, () => Promise<Sample>] => [name, () => forkRound(start)]),
  ['compileIsolated: a long-lived shell forks', isolatedRound],
  ['control: no child, a timer alone', controlRound],
];
const samples = new Map<string, Sample[]>(ways.map(([name]) => [name, []]));
// compileIsolated starts its shell at its first compile and keeps it (a process that serves compiles at start-up)
await compileIsolated(SOURCES, { entrypoints: ['envoy/authz/allow'] });
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, run] of ways) {
    const started = performance.now();
    const sample = await run();
    if (run !== controlRound) lastRoundMs = performance.now() - started;
    if (round > 0) samples.get(name)!.push(sample); // round 0 warms every path up
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const largest = (values: number[]): number => values.reduce((max, value) => Math.max(max, value), 0);
const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
console.log(
  `starting the compiler child: ${ROUNDS} rounds, heap of ${heap.length} objects, node ${process.version} ` +
    `${process.execArgv.join(' ')}, load average ${loadAverage}; ms, median / longest`,
);
console.log(`  ${'way'.padEnd(46)} ${'call (spawnMs)'.padStart(16)} ${'timer gap'.padStart(16)}`);
for (const [name, list] of samples) {
  const cell = (pick: (s: Sample) => number): string =>
    `${median(list.map(pick)).toFixed(2)} / ${largest(list.map(pick)).toFixed(2)}`.padStart(16);
  console.log(`  ${name.padEnd(46)} ${cell((s) => s.callMs)} ${cell((s) => s.gapMs)}`);
}
