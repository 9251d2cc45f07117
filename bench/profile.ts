// Where a check's CPU goes: the full pipeline of bench:check (RS256 JWT, denylist + rate limit on a real Redis,
// the RBAC policy) under h2load, profiled with the V8 sampling profiler for the load phase only (start-up and
// warm-up excluded), then summarized as self time per module and per function in µs per check, next to the
// process's CPU µs per check (/proc) and the pipeline's stage timers. The profiler's own cost inflates the CPU
// figure a little; compare profiles with profiles.
//   npm run bench:profile   (SECONDS=10 TOP=30; DISTINCT=1: 1,000 tokens; BATCH_WRITES=false; KEEP=FILE keeps the
//                            .cpuprofile; HEAP=FILE writes a sampling heap profile (allocations) instead,
//                            SURVIVORS=1 with only what outlived a young-generation collection;
//                            SERVER_NODE_OPTIONS="--max-semi-space-size=32" for the server's node; RATE=2000: an
//                            open loop at that rate, as bench:check's fixed-rate phase, instead of the closed loop)
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_STAGES } from '../src/server/stageTimes.js';
import { profileTables, type CpuProfile } from './check/cpuProfile.js';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import { cpuSeconds, distinctLoad, h2load, stageMicros, stageTotals, startServer } from './check/servers.js';

const SECONDS = Number(process.env.SECONDS ?? 10);
const TOP = Number(process.env.TOP ?? 30);
const DISTINCT = process.env.DISTINCT === '1';
/** checks/s of an open loop (as bench:check's fixed-rate phase); absent: the closed loop */
const RATE = process.env.RATE === undefined ? undefined : Number(process.env.RATE);

const setup = await prepareBench(DISTINCT ? 1000 : 1);
const configFile = setup.writeConfig('portcullis.json', {
  ...(process.env.BATCH_WRITES === 'false'
    ? { redis: { ...(setup.pipelineConfig['redis'] as object), batchWrites: false } }
    : {}),
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '127.0.0.1:0' },
  logLevel: 'silent',
});
const server = await startServer(
  'portcullis',
  ['bench/check/server.ts', 'portcullis', configFile],
  undefined,
  (process.env.SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
);
const shape = { seconds: SECONDS, connections: 8, streams: 16, path: CHECK_PATH, dir: setup.dir };
const load = (seconds: number, rate?: number) =>
  DISTINCT
    ? distinctLoad(server.port, setup.bodies, { ...shape, seconds }, rate)
    : h2load(server.port, setup.oneTokenFile, { ...shape, seconds }, rate);
await load(2); // warm-up: JIT, caches

const HEAP = process.env.HEAP;
const profileFile = join(setup.dir, 'check.cpuprofile');
const heapStart = process.env.SURVIVORS === '1' ? 'heap-start-survivors' : 'heap-start';
await server.ask(HEAP === undefined ? 'profile-start' : heapStart, 'PROFILING');
const stages0 = await stageTotals(server);
const cpu0 = cpuSeconds(server.child.pid!);
const result = await load(SECONDS, RATE);
const cpuUs = ((cpuSeconds(server.child.pid!) - cpu0) / result.done) * 1e6;
const stages = stageMicros(stages0, await stageTotals(server));
await server.ask(`${HEAP === undefined ? 'profile-stop' : 'heap-stop'} ${profileFile}`, 'PROFILED');
if (process.env.KEEP !== undefined) copyFileSync(profileFile, process.env.KEEP);
if (HEAP !== undefined) copyFileSync(profileFile, HEAP);

const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
console.log(
  `bench:profile — ${DISTINCT ? '1,000 tokens (framesLoad)' : '1 token (h2load)'}, ${SECONDS} s ${RATE === undefined ? 'closed loop, 8 × 16 streams' : `at ${RATE}/s, 8 connections`}; load average ${load1}; node ${process.version}`,
);
console.log(
  `${result.done} checks, ${(result.done / result.seconds).toFixed(0)} checks/s, process CPU ${cpuUs.toFixed(1)} µs/check (profiler on)`,
);
const staged = CHECK_STAGES.reduce((sum, stage) => sum + stages[stage], 0);
console.log(
  `stage timers (µs/check): ${CHECK_STAGES.map((s) => `${s} ${stages[s].toFixed(1)}`).join(', ')}; sum ${staged.toFixed(1)}`,
);
console.log('');
if (HEAP === undefined)
  console.log(profileTables(JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile, result.done, TOP));

server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
await setup.dispose();
process.exit(0);
