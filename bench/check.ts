// Whole-check benchmark: a no-op grpc-js ext_authz server (allows everything without looking; the baseline of
// the ratios), the same no-op on the sidecar's own node:http2 transport (what the transport alone buys), and
// Portcullis with the full pipeline — RS256 JWT (verified-token cache), denylist + one rate limit on a real
// redis-server started here, the default RBAC decision-object policy with its data.json — each in its own
// process, measured in the same run and alternating (no-op, Portcullis, no-op, Portcullis), so a machine
// shared with other work loads both sides alike. Per phase: throughput (closed loop, 8 connections × 16
// streams), p50/p99 at a fixed rate below saturation, CPU µs per check (the server process's utime+stime from
// /proc/PID/stat over the checks it answered) and RSS (/proc/PID/status).
// ROUNDS (default 3) repeats the whole alternation: one phase of one server can be hit by a stall or by other
// work on the machine (a single 5 s phase gave p99 ratios of 1.16× and 9.44× in two quiet runs), so each figure
// is the median of the rounds with its range, and each ratio is taken within a round (that round's no-op) and
// then the median of those ratios. About 4½ minutes with the defaults.
// The request is what Envoy sends: a dozen headers, source and destination addresses, a ~2 KB JWT.
// The same pipeline with `workers: 2` (node:cluster; CPU and RSS summed over the primary and its workers).
// Run 1: one token, gRPC frames from h2load. Run 2: 1,000 distinct tokens from bench/check/framesLoad.ts
// (h2load sends one body file), so the verified-token cache and the per-user buckets are not always hot.
// After the table: where the closed loop's CPU went (the server, the redis-server, the load generator: they share
// the machine's cores, so a server that is not busy all the time was waiting for a core or for Redis), then the
// pipeline's own stage timers (µs per check per stage) of the closed-loop phases.
//   npm run bench:check      (ROUNDS=3 SECONDS=4 RATE=2000 WORKERS=2 to change the phases; FLAGS="..." adds a
//                             Portcullis server started with those node options, measured alongside)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CHECK_STAGES, type CheckStage } from '../src/server/stageTimes.js';
import { createTestClient } from '../test/helpers/checkClient.js';
import { freePort } from '../test/helpers/redis.js';
import { framesLoad } from './check/framesLoad.js';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import {
  cpuSeconds,
  distinctLoad,
  loadGeneratorCpuSeconds,
  loopStart,
  loopStop,
  h2load,
  rssMiB,
  stageMicros,
  stageTotals,
  startServer,
  type Server,
} from './check/servers.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 4);
const RATE = Number(process.env.RATE ?? 2000);
const CONNECTIONS = 8;
const STREAMS = 16;
const TOKENS = 1000;
const WORKERS = Number(process.env.WORKERS ?? 2);

const setup = await prepareBench(TOKENS);
const { requests, bodies } = setup;
const shape = { seconds: SECONDS, connections: CONNECTIONS, streams: STREAMS, path: CHECK_PATH, dir: setup.dir };
const configFile = setup.writeConfig('portcullis.json', {
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '127.0.0.1:0' },
  logLevel: 'silent',
});
// The same pipeline with each check's Redis call written on its own (redis.batchWrites: false), for the effect of
// batching measured in the same run.
const unbatchedConfigFile = setup.writeConfig('portcullis-unbatched.json', {
  redis: { ...(setup.pipelineConfig['redis'] as object), batchWrites: false },
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '127.0.0.1:0' },
  logLevel: 'silent',
});
// The same pipeline with `workers: 2`, through `portcullis serve` (node:cluster needs the CLI's primary). Logs
// on, for the workers' start-up lines; no decision log, so nothing is logged per check on either side.
const workersPort = await freePort();
const workersConfigFile = setup.writeConfig('portcullis-workers.json', {
  workers: WORKERS,
  grpc: { address: `127.0.0.1:${workersPort}` },
  admin: { address: `127.0.0.1:${await freePort()}` },
  decisionLog: { enabled: false },
  logLevel: 'info',
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** the median of the rounds' figures, with their range */
interface Spread {
  median: number;
  min: number;
  max: number;
}
function spread(values: number[]): Spread {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median =
    sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}

interface Row {
  throughput: number;
  cpuUs: number;
  rss: number;
  p50: number;
  p99: number;
  /** closed loop: the server's CPU seconds per second of the phase (1 = one core busy all the time) */
  busy: number;
  /** closed loop: the redis-server's and the load generator's CPU µs per check */
  redisUs: number;
  loadUs: number;
  /** at the fixed rate, the server's own longest event-loop delay and GC pause (bench/check/server.ts only) */
  loopMaxMs: number;
  /** the process's CPU ms over its longest held tick (NaN: none held over 30 ms) */
  heldCpuMs: number;
  gcMaxMs: number;
  /** the pipeline's stage timers over the closed loop (bench/check/server.ts portcullis only) */
  stages?: Record<CheckStage, number>;
}
async function measure(server: Server, distinct: boolean, stages: boolean, loop: boolean): Promise<Row> {
  const pid = server.child.pid!;
  const load = (rate?: number) =>
    distinct ? distinctLoad(server.port, bodies, shape, rate) : h2load(server.port, setup.oneTokenFile, shape, rate);
  const stages0 = stages ? await stageTotals(server) : undefined;
  const cpu0 = cpuSeconds(pid);
  const redis0 = cpuSeconds(setup.redisPid);
  const load0 = loadGeneratorCpuSeconds();
  const closed = await load();
  const cpuUs = ((cpuSeconds(pid) - cpu0) / closed.done) * 1e6;
  const redisUs = ((cpuSeconds(setup.redisPid) - redis0) / closed.done) * 1e6;
  const loadUs = ((loadGeneratorCpuSeconds() - load0) / closed.done) * 1e6;
  const stageUs = stages0 === undefined ? undefined : stageMicros(stages0, await stageTotals(server));
  const rss = rssMiB(pid);
  if (loop) await loopStart(server);
  const fixed = await load(RATE);
  const loopStats = loop ? await loopStop(server) : undefined;
  return {
    throughput: closed.done / closed.seconds,
    cpuUs,
    busy: (cpuUs * closed.done) / 1e6 / closed.seconds,
    redisUs,
    loadUs,
    rss,
    p50: percentile(fixed.latenciesMs, 0.5),
    p99: percentile(fixed.latenciesMs, 0.99),
    loopMaxMs: loopStats?.maxMs ?? NaN,
    heldCpuMs: loopStats?.held.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, cpuMs: NaN }).cpuMs ?? NaN,
    gcMaxMs: loopStats?.gcMaxMs ?? NaN,
    ...(stageUs === undefined ? {} : { stages: stageUs }),
  };
}

const noop = await startServer('no-op', ['bench/check/server.ts', 'noop']);
const noopHttp2 = await startServer('no-op node:http2', ['bench/check/server.ts', 'noop-http2']);
const portcullis = await startServer('portcullis', ['bench/check/server.ts', 'portcullis', configFile]);
const unbatched = await startServer('portcullis unbatched', [
  'bench/check/server.ts',
  'portcullis',
  unbatchedConfigFile,
]);
let serving = 0;
const workers = await startServer(
  `portcullis workers: ${WORKERS}`,
  ['test/helpers/runCli.ts', 'serve', '--config', workersConfigFile],
  (line) => (line.includes('"portcullis serving"') && ++serving === WORKERS ? workersPort : null),
);
// FLAGS="--some-v8-flag": one more Portcullis server started with those node options, measured in the same
// alternation (the A/B of a runtime flag under the same load).
const FLAGS = (process.env.FLAGS ?? '').split(/\s+/).filter(Boolean);
const flagged =
  FLAGS.length === 0
    ? undefined
    : await startServer('portcullis flagged', ['bench/check/server.ts', 'portcullis', configFile], undefined, FLAGS);
const servers = [noop, noopHttp2, portcullis, unbatched, workers, ...(flagged === undefined ? [] : [flagged])];
for (const server of servers) {
  // Every request must be allowed by both, or the comparison is of different work.
  const client = createTestClient(server.port);
  const codes = new Set<number>();
  for (const r of requests.slice(0, 20)) codes.add((await client.check(r)).status?.code ?? -1);
  client.close();
  if (codes.size !== 1 || !codes.has(0))
    throw new Error(`${server.name} did not allow the bench request: ${[...codes].join(',')}`);
  await framesLoad({
    port: server.port,
    path: CHECK_PATH,
    bodies,
    sessions: CONNECTIONS,
    streams: STREAMS,
    seconds: 1,
  }); // warm-up: JIT, caches
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
/** a figure over the rounds: the median, then the range (min–max) when there was more than one round */
function fmtRounds(values: number[], d = 0, unit = ''): string {
  const s = spread(values);
  return ROUNDS === 1
    ? `${fmt(s.median, d)}${unit}`
    : `${fmt(s.median, d)}${unit} (${fmt(s.min, d)}–${fmt(s.max, d)}${unit})`;
}
const median = (values: number[]) => spread(values).median;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const started = performance.now();
console.log(
  `bench:check — ${ROUNDS} rounds × ${SECONDS} s per phase, ${CONNECTIONS} connections × ${STREAMS} streams, fixed rate ${RATE}/s; all servers in one run, alternating within each round; each figure the median of the rounds (min–max), each ratio the median of the rounds' own ratios; node ${process.version}; load average ${loadAverage()}`,
);
console.log(
  '| run | server | checks/s | p50 ms @rate | p99 ms @rate | server loop max ms @rate | CPU µs/check | RSS MiB |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
type Side = 'noop' | 'noopHttp2' | 'portcullis' | 'unbatched' | 'workers' | 'flagged';
type Round = Record<Side, Row>;
// workers: the CLI's primary takes no commands on stdin, so no stage timers or event-loop figures for it.
const sides: Array<{ side: Side; server: Server; stages: boolean; loop: boolean }> = [
  { side: 'noop', server: noop, stages: false, loop: true },
  { side: 'noopHttp2', server: noopHttp2, stages: false, loop: true },
  { side: 'portcullis', server: portcullis, stages: true, loop: true },
  { side: 'unbatched', server: unbatched, stages: true, loop: true },
  { side: 'workers', server: workers, stages: false, loop: false },
  ...(flagged === undefined ? [] : [{ side: 'flagged' as const, server: flagged, stages: true, loop: true }]),
];
const runs: Array<{ label: string; rounds: Round[] }> = [];
for (const [label, distinct] of [
  ['1 token (h2load)', false],
  [`${TOKENS} tokens (framesLoad)`, true],
] as const) {
  // Each round measures every server once, in the same order, so a round's ratios compare phases seconds apart.
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const measured: Partial<Round> = {};
    for (const { side, server, stages, loop } of sides) measured[side] = await measure(server, distinct, stages, loop);
    rounds.push(measured as Round);
  }
  runs.push({ label, rounds });
  const column = (side: Side, pick: (r: Row) => number, d = 0) =>
    fmtRounds(
      rounds.map((r) => pick(r[side])),
      d,
    );
  const row = (name: string, side: Side) =>
    `| ${label} | ${name} | ${column(side, (r) => r.throughput)} | ${column(side, (r) => r.p50, 2)} | ${column(side, (r) => r.p99, 2)} | ${column(side, (r) => r.loopMaxMs, 1)} | ${column(side, (r) => r.cpuUs)} | ${column(side, (r) => r.rss)} |`;
  // Ratios per round (that round's no-op), then their median: a slow round slows both sides of its ratio.
  const ratioOf = (side: Side, pick: (r: Row) => number, d: number, unit: string, scale = 1) =>
    fmtRounds(
      rounds.map((r) => (pick(r[side]) / pick(r.noop)) * scale),
      d,
      unit,
    );
  const ratio = (name: string, side: Side) =>
    `| ${label} | ${name} | ${ratioOf(side, (r) => r.throughput, 0, '%', 100)} | ${ratioOf(side, (r) => r.p50, 2, '×')} | ${ratioOf(side, (r) => r.p99, 2, '×')} | | ${ratioOf(side, (r) => r.cpuUs, 2, '×')} | ${ratioOf(side, (r) => r.rss, 2, '×')} |`;
  console.log(row('no-op grpc-js', 'noop'));
  console.log(row('no-op node:http2', 'noopHttp2'));
  console.log(row('Portcullis', 'portcullis'));
  console.log(row('Portcullis, redis.batchWrites: false', 'unbatched'));
  console.log(row(`Portcullis, workers: ${WORKERS}`, 'workers'));
  if (flagged !== undefined) console.log(row(`Portcullis, node ${FLAGS.join(' ')}`, 'flagged'));
  console.log(ratio('no-op node:http2 / no-op', 'noopHttp2'));
  console.log(ratio('Portcullis / no-op', 'portcullis'));
  console.log(ratio('batchWrites: false / no-op', 'unbatched'));
  console.log(ratio(`workers: ${WORKERS} / no-op`, 'workers'));
  if (flagged !== undefined) console.log(ratio(`node ${FLAGS.join(' ')} / no-op`, 'flagged'));
  console.log(
    `| ${label} | workers: ${WORKERS} / workers: 1 | ${fmtRounds(
      rounds.map((r) => r.workers.throughput / r.portcullis.throughput),
      2,
      '×',
    )} | | | | | |`,
  );
}

// Where the machine's CPU went in the closed loop: the server is one of three processes on the same cores.
console.log('');
console.log(
  '| run | server | server busy (cores) | server µs/check | redis-server µs/check | load generator µs/check | all µs/check |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const { label, rounds } of runs)
  for (const [name, side] of [
    ['no-op grpc-js', 'noop'],
    ['no-op node:http2', 'noopHttp2'],
    ['Portcullis', 'portcullis'],
    [`Portcullis, workers: ${WORKERS}`, 'workers'],
    ...(flagged === undefined ? [] : [[`Portcullis, node ${FLAGS.join(' ')}`, 'flagged'] as const]),
  ] as const) {
    const m = (pick: (r: Row) => number) => median(rounds.map((r) => pick(r[side])));
    console.log(
      `| ${label} | ${name} | ${fmt(
        m((r) => r.busy),
        2,
      )} | ${fmt(m((r) => r.cpuUs))} | ${fmt(m((r) => r.redisUs))} | ${fmt(m((r) => r.loadUs))} | ${fmt(m((r) => r.cpuUs + r.redisUs + r.loadUs))} |`,
    );
  }

// Each round's fixed-rate phase as the client and the server saw it. The server's loop max is the longest interval
// between two ticks of its 10 ms timer (10 = never held up), and when a tick was held up by more than 30 ms, the
// process's CPU time over the longest one: near its length, the server was busy (its work, its GC); far below
// it, the server waited for a core. A client p99 far above the other rounds' with the server's loop max and GC
// pause small was spent outside the server's event loop (the load generator, the kernel, the machine).
console.log('');
console.log(
  `| run | server (fixed ${RATE}/s) | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}: client p99 / server loop max (its CPU) / GC max, ms`).join(' | ')} |`,
);
console.log(`|---|---|${Array.from({ length: ROUNDS }, () => '---:').join('|')}|`);
for (const { label, rounds } of runs)
  for (const [name, side] of [
    ['no-op grpc-js', 'noop'],
    ['no-op node:http2', 'noopHttp2'],
    ['Portcullis', 'portcullis'],
    ['Portcullis, batchWrites: false', 'unbatched'],
    ...(flagged === undefined ? [] : [[`Portcullis, node ${FLAGS.join(' ')}`, 'flagged'] as const]),
  ] as const)
    console.log(
      `| ${label} | ${name} | ${rounds.map((r) => `${fmt(r[side].p99, 2)} / ${fmt(r[side].loopMaxMs, 1)}${Number.isFinite(r[side].heldCpuMs) ? ` (${fmt(r[side].heldCpuMs, 0)})` : ''} / ${fmt(r[side].gcMaxMs, 1)}`).join(' | ')} |`,
    );

// Where a check's CPU goes: each stage's time from the pipeline's own timers (workers: 1, closed loop), and
// what is left of the process's CPU per check beyond the no-op's: HTTP/2 and protobuf are in the no-op too.
console.log('');
const columns = runs.flatMap(({ label, rounds }) => [
  { title: label, rows: rounds.map((r) => r.portcullis), noop: rounds.map((r) => r.noop) },
  { title: `${label}, batchWrites: false`, rows: rounds.map((r) => r.unbatched), noop: rounds.map((r) => r.noop) },
]);
const sum = (s: Row) => CHECK_STAGES.reduce((total, stage) => total + (s.stages?.[stage] ?? NaN), 0);
const stageCells = (pick: (r: Row) => number) => columns.map((c) => fmt(median(c.rows.map(pick)), 1)).join(' | ');
console.log(`| stage (µs/check, closed loop, median of ${ROUNDS}) | ${columns.map((c) => c.title).join(' | ')} |`);
console.log(`|---|${columns.map(() => '---:').join('|')}|`);
for (const stage of CHECK_STAGES) console.log(`| ${stage} | ${stageCells((r) => r.stages?.[stage] ?? NaN)} |`);
console.log(`| all stages | ${stageCells(sum)} |`);
console.log(`| rest of the process (transport, Redis I/O, GC) | ${stageCells((r) => r.cpuUs - sum(r))} |`);
console.log(
  `| no-op's whole process | ${columns.map((c) => fmt(median(c.noop.map((r) => r.cpuUs)), 1)).join(' | ')} |`,
);
console.log('');
console.log(`(${fmt((performance.now() - started) / 1000)} s of phases; load average ${loadAverage()} at the end)`);

for (const server of servers) server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
await setup.dispose();
process.exit(0);
