// Whole-check benchmark: a no-op grpc-js ext_authz server (allows everything without looking) against
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
//   npm run bench:check      (SECONDS=5 RATE=2000 WORKERS=2 to change the phases)
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { loadProtos } from '../src/server/protos.js';
import { checkRequest, createTestClient } from '../test/helpers/checkClient.js';
import { freePort, startRedisServer } from '../test/helpers/redis.js';
import { framesLoad } from './check/framesLoad.js';

const SECONDS = Number(process.env.SECONDS ?? 5);
const RATE = Number(process.env.RATE ?? 2000);
const CONNECTIONS = 8;
const STREAMS = 16;
const TOKENS = 1000;
const WORKERS = Number(process.env.WORKERS ?? 2);
const PATH = '/envoy.service.auth.v3.Authorization/Check';
const CLOCK_TICKS = 100; // USER_HZ on Linux

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
const redis = await startRedisServer();

// An RS256 issuer and ~2 KB tokens: the padding is the kind of claims real tokens carry (groups, scopes).
const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
writeFileSync(
  join(dir, 'jwks.json'),
  JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }),
);
const groups = Array.from({ length: 40 }, (_, i) => `team-${i}-engineering-platform`);
async function sign(i: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: `user-${i}`,
    jti: `jti-${i}`,
    roles: ['viewer'],
    groups,
    scope: 'orders:read profile:read',
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
    .setIssuer('https://id.bench')
    .setAudience('orders-api')
    .setIssuedAt(now - 10)
    .setExpirationTime(now + 3600)
    .sign(privateKey);
}
const tokens = await Promise.all(Array.from({ length: TOKENS }, (_, i) => sign(i)));

function envoyRequest(token: string, i: number): unknown {
  return checkRequest({
    method: 'GET',
    path: `/api/orders/${i}?expand=items`,
    host: 'orders.internal.example.com',
    sourceAddress: '10.12.7.31',
    headers: {
      authorization: `Bearer ${token}`,
      'x-request-id': `6c1b8f0e-3d2a-4b7c-9e51-${String(i).padStart(12, '0')}`,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate, br',
      'accept-language': 'en-GB,en;q=0.9',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-envoy-expected-rq-timeout-ms': '15000',
      'x-envoy-internal': 'true',
      'content-length': '0',
    },
  });
}
const serialize = loadProtos().authorization['Check']!.requestSerialize;
function frame(request: unknown): Buffer {
  const message = serialize(request);
  const out = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  out.writeUInt32BE(message.length, 1);
  return out;
}
const requests = tokens.map((t, i) => envoyRequest(t, i));
const bodies = requests.map(frame);
const oneTokenFile = join(dir, 'check.bin');
writeFileSync(oneTokenFile, bodies[0]!);

const configFile = join(dir, 'portcullis.json');
const pipelineConfig = {
  redis: { url: redis.url },
  jwt: {
    providers: [
      {
        name: 'bench',
        issuer: 'https://id.bench',
        audiences: ['orders-api'],
        algorithms: ['RS256'],
        jwksFile: join(dir, 'jwks.json'),
      },
    ],
  },
  denylist: { enabled: true },
  rateLimits: [{ name: 'per-user', key: ['jwt.sub'], limit: 1_000_000_000, periodSeconds: 60 }],
  policy: { path: './policies', watch: false },
};
writeFileSync(
  configFile,
  JSON.stringify({
    ...pipelineConfig,
    grpc: { address: '127.0.0.1:0' },
    admin: { address: '127.0.0.1:0' },
    logLevel: 'silent',
  }),
);
// The same pipeline with `workers: 2`, through `portcullis serve` (node:cluster needs the CLI's primary). Logs
// on, for the workers' start-up lines; no decision log, so nothing is logged per check on either side.
const workersPort = await freePort();
const workersConfigFile = join(dir, 'portcullis-workers.json');
writeFileSync(
  workersConfigFile,
  JSON.stringify({
    ...pipelineConfig,
    workers: WORKERS,
    grpc: { address: `127.0.0.1:${workersPort}` },
    admin: { address: `127.0.0.1:${await freePort()}` },
    decisionLog: { enabled: false },
    logLevel: 'info',
  }),
);

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
}
async function startServer(
  name: string,
  args: string[],
  ready = (line: string): number | null => {
    const m = /^PORT (\d+)$/.exec(line);
    return m ? Number(m[1]) : null;
  },
): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const port = ready(line);
      if (port !== null) resolve(port);
    });
  });
  return { name, child, port };
}
/** the server's process and, for workers, its node:cluster children */
function processes(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return [pid, ...children.map(Number)];
}
// Note: a worker that exited during a phase takes its CPU time with it; none should.
function cpuSeconds(pid: number): number {
  let sum = 0;
  for (const p of processes(pid)) {
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    sum += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  }
  return sum;
}
function rssMiB(pid: number): number {
  let sum = 0;
  for (const p of processes(pid))
    sum += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  return sum;
}
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

async function h2load(
  port: number,
  extra: string[],
): Promise<{ done: number; seconds: number; latenciesMs: number[] }> {
  const log = join(dir, 'h2load.log');
  rmSync(log, { force: true });
  const args = [
    '-D',
    String(SECONDS),
    '-c',
    String(CONNECTIONS),
    '-m',
    String(STREAMS),
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '-d',
    oneTokenFile,
    '--log-file',
    log,
    ...extra,
    `http://127.0.0.1:${port}${PATH}`,
  ];
  const { stdout } = await promisify(execFile)('h2load', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(stdout)?.[1] ?? NaN);
  const seconds = Number(/finished in ([\d.]+)s/.exec(stdout)?.[1] ?? NaN);
  const latenciesMs = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[2]) / 1000)
    .sort((a, b) => a - b);
  return { done, seconds, latenciesMs };
}

interface Row {
  throughput: number;
  cpuUs: number;
  rss: number;
  p50: number;
  p99: number;
}
async function measure(server: Server, distinct: boolean): Promise<Row> {
  const pid = server.child.pid!;
  const load = (rate?: number) =>
    distinct
      ? framesLoad({
          port: server.port,
          path: PATH,
          bodies,
          sessions: CONNECTIONS,
          streams: STREAMS,
          seconds: SECONDS,
          ...(rate === undefined ? {} : { rate }),
        })
      : h2load(server.port, rate === undefined ? [] : ['--rps', String(rate / CONNECTIONS)]);
  const cpu0 = cpuSeconds(pid);
  const closed = await load();
  const cpuUs = ((cpuSeconds(pid) - cpu0) / closed.done) * 1e6;
  const rss = rssMiB(pid);
  const fixed = await load(RATE);
  return {
    throughput: closed.done / closed.seconds,
    cpuUs,
    rss,
    p50: percentile(fixed.latenciesMs, 0.5),
    p99: percentile(fixed.latenciesMs, 0.99),
  };
}

const noop = await startServer('no-op', ['bench/check/server.ts', 'noop']);
const portcullis = await startServer('portcullis', ['bench/check/server.ts', 'portcullis', configFile]);
let serving = 0;
const workers = await startServer(
  `portcullis workers: ${WORKERS}`,
  ['test/helpers/runCli.ts', 'serve', '--config', workersConfigFile],
  (line) => (line.includes('"portcullis serving"') && ++serving === WORKERS ? workersPort : null),
);
const servers = [noop, portcullis, workers];
for (const server of servers) {
  // Every request must be allowed by both, or the comparison is of different work.
  const client = createTestClient(server.port);
  const codes = new Set<number>();
  for (const r of requests.slice(0, 20)) codes.add((await client.check(r)).status?.code ?? -1);
  client.close();
  if (codes.size !== 1 || !codes.has(0))
    throw new Error(`${server.name} did not allow the bench request: ${[...codes].join(',')}`);
  await framesLoad({ port: server.port, path: PATH, bodies, sessions: CONNECTIONS, streams: STREAMS, seconds: 1 }); // warm-up: JIT, caches
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(
  `bench:check — ${SECONDS} s per phase, ${CONNECTIONS} connections × ${STREAMS} streams, fixed rate ${RATE}/s; all servers in one run, alternating; node ${process.version}`,
);
console.log('| run | server | checks/s | p50 ms @rate | p99 ms @rate | CPU µs/check | RSS MiB |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const [label, distinct] of [
  ['1 token (h2load)', false],
  [`${TOKENS} tokens (framesLoad)`, true],
] as const) {
  const a = await measure(noop, distinct);
  const b = await measure(portcullis, distinct);
  const c = await measure(workers, distinct);
  const row = (name: string, r: Row) =>
    `| ${label} | ${name} | ${fmt(r.throughput)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuUs)} | ${fmt(r.rss)} |`;
  const ratio = (name: string, r: Row) =>
    `| ${label} | ${name} | ${fmt((r.throughput / a.throughput) * 100)}% | ${fmt(r.p50 / a.p50, 2)}× | ${fmt(r.p99 / a.p99, 2)}× | ${fmt(r.cpuUs / a.cpuUs, 2)}× | ${fmt(r.rss / a.rss, 2)}× |`;
  console.log(row('no-op grpc-js', a));
  console.log(row('Portcullis', b));
  console.log(row(`Portcullis, workers: ${WORKERS}`, c));
  console.log(ratio('Portcullis / no-op', b));
  console.log(ratio(`workers: ${WORKERS} / no-op`, c));
  console.log(`| ${label} | workers: ${WORKERS} / workers: 1 | ${fmt(c.throughput / b.throughput, 2)}× | | | | |`);
}

for (const server of servers) server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
await redis.dispose();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
