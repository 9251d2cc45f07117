// Whole-check benchmark: a no-op grpc-js ext_authz server (allows everything without looking; the baseline of
// the ratios), the same no-op on the sidecar's own node:http2 transport (what the transport alone buys), and
// Portcullis with the full pipeline — RS256 JWT (verified-token cache), denylist + one rate limit on a real
// redis-server started here, the default RBAC decision-object policy with its data.json — each in its own
// process, measured in the same run and alternating (no-op, Portcullis, no-op, Portcullis), so a machine
// shared with other work loads both sides alike. Per phase: throughput (closed loop, 8 connections × 16
// streams), p50/p99 at a fixed rate below saturation, CPU µs per check (the server process's utime+stime from
// /proc/PID/stat over the checks it answered) and RSS (/proc/PID/status).
// The request is what Envoy sends: a dozen headers, source and destination addresses, a ~2 KB JWT.
// The same pipeline with `workers: 2` (node:cluster; CPU and RSS summed over the primary and its workers).
// Run 1: one token, gRPC frames from h2load. Run 2: 1,000 distinct tokens from bench/check/framesLoad.ts
// (h2load sends one body file), so the verified-token cache and the per-user buckets are not always hot.
// After the table: where the closed loop's CPU went (the server, the redis-server, the load generator: they share
// the machine's cores, so a server that is not busy all the time was waiting for a core or for Redis), then the
// pipeline's own stage timers (µs per check per stage) of the closed-loop phases.
//   npm run bench:check      (SECONDS=5 RATE=2000 WORKERS=2 to change the phases)
import { readFileSync } from 'node:fs';
import { CHECK_STAGES, type CheckStage } from '../src/server/stageTimes.js';
import { createTestClient } from '../test/helpers/checkClient.js';
import { freePort } from '../test/helpers/redis.js';
import { framesLoad } from './check/framesLoad.js';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import {
  cpuSeconds,
  distinctLoad,
  loadGeneratorCpuSeconds,
  h2load,
  rssMiB,
  stageMicros,
  stageTotals,
  startServer,
  type Server,
} from './check/servers.js';

const SECONDS = Number(process.env.SECONDS ?? 5);
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
  /** the pipeline's stage timers over the closed loop (bench/check/server.ts portcullis only) */
  stages?: Record<CheckStage, number>;
}
async function measure(server: Server, distinct: boolean, stages: boolean): Promise<Row> {
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
  const fixed = await load(RATE);
  return {
    throughput: closed.done / closed.seconds,
    cpuUs,
    busy: (cpuUs * closed.done) / 1e6 / closed.seconds,
    redisUs,
    loadUs,
    rss,
    p50: percentile(fixed.latenciesMs, 0.5),
    p99: percentile(fixed.latenciesMs, 0.99),
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
const servers = [noop, noopHttp2, portcullis, unbatched, workers];
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
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `bench:check — ${SECONDS} s per phase, ${CONNECTIONS} connections × ${STREAMS} streams, fixed rate ${RATE}/s; all servers in one run, alternating; node ${process.version}; load average ${loadAverage()}`,
);
console.log('| run | server | checks/s | p50 ms @rate | p99 ms @rate | CPU µs/check | RSS MiB |');
console.log('|---|---|---:|---:|---:|---:|---:|');
const staged: Array<{ label: string; noop: Row; portcullis: Row; unbatched: Row }> = [];
const shares: Array<{ label: string; name: string; row: Row }> = [];
for (const [label, distinct] of [
  ['1 token (h2load)', false],
  [`${TOKENS} tokens (framesLoad)`, true],
] as const) {
  const a = await measure(noop, distinct, false);
  const h = await measure(noopHttp2, distinct, false);
  const b = await measure(portcullis, distinct, true);
  const u = await measure(unbatched, distinct, true);
  const c = await measure(workers, distinct, false);
  staged.push({ label, noop: a, portcullis: b, unbatched: u });
  shares.push(
    { label, name: 'no-op grpc-js', row: a },
    { label, name: 'no-op node:http2', row: h },
    { label, name: 'Portcullis', row: b },
    { label, name: `Portcullis, workers: ${WORKERS}`, row: c },
  );
  const row = (name: string, r: Row) =>
    `| ${label} | ${name} | ${fmt(r.throughput)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuUs)} | ${fmt(r.rss)} |`;
  const ratio = (name: string, r: Row) =>
    `| ${label} | ${name} | ${fmt((r.throughput / a.throughput) * 100)}% | ${fmt(r.p50 / a.p50, 2)}× | ${fmt(r.p99 / a.p99, 2)}× | ${fmt(r.cpuUs / a.cpuUs, 2)}× | ${fmt(r.rss / a.rss, 2)}× |`;
  console.log(row('no-op grpc-js', a));
  console.log(row('no-op node:http2', h));
  console.log(row('Portcullis', b));
  console.log(row('Portcullis, redis.batchWrites: false', u));
  console.log(row(`Portcullis, workers: ${WORKERS}`, c));
  console.log(ratio('no-op node:http2 / no-op', h));
  console.log(ratio('Portcullis / no-op', b));
  console.log(ratio('batchWrites: false / no-op', u));
  console.log(ratio(`workers: ${WORKERS} / no-op`, c));
  console.log(`| ${label} | workers: ${WORKERS} / workers: 1 | ${fmt(c.throughput / b.throughput, 2)}× | | | | |`);
}

// Where the machine's CPU went in the closed loop: the server is one of three processes on the same cores.
console.log('');
console.log(
  '| run | server | server busy (cores) | server µs/check | redis-server µs/check | load generator µs/check | all µs/check |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const { label, name, row: r } of shares)
  console.log(
    `| ${label} | ${name} | ${fmt(r.busy, 2)} | ${fmt(r.cpuUs)} | ${fmt(r.redisUs)} | ${fmt(r.loadUs)} | ${fmt(r.cpuUs + r.redisUs + r.loadUs)} |`,
  );

// Where a check's CPU goes: each stage's time from the pipeline's own timers (workers: 1, closed loop), and
// what is left of the process's CPU per check beyond the no-op's: HTTP/2 and protobuf are in the no-op too.
console.log('');
const columns = staged.flatMap((s) => [
  { title: s.label, row: s.portcullis },
  { title: `${s.label}, batchWrites: false`, row: s.unbatched },
]);
console.log(`| stage (µs/check, closed loop) | ${columns.map((c) => c.title).join(' | ')} |`);
console.log(`|---|${columns.map(() => '---:').join('|')}|`);
for (const stage of CHECK_STAGES)
  console.log(`| ${stage} | ${columns.map((c) => fmt(c.row.stages?.[stage] ?? NaN, 1)).join(' | ')} |`);
const sum = (s: Row) => CHECK_STAGES.reduce((total, stage) => total + (s.stages?.[stage] ?? NaN), 0);
console.log(`| all stages | ${columns.map((c) => fmt(sum(c.row), 1)).join(' | ')} |`);
console.log(
  `| rest of the process (transport, Redis I/O, GC) | ${columns.map((c) => fmt(c.row.cpuUs - sum(c.row), 1)).join(' | ')} |`,
);
console.log(
  `| no-op's whole process | ${staged.flatMap((s) => [fmt(s.noop.cpuUs, 1), fmt(s.noop.cpuUs, 1)]).join(' | ')} |`,
);

for (const server of servers) server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
await setup.dispose();
process.exit(0);
