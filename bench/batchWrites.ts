// redis.batchWrites on and off, side by side: two sidecars with the full pipeline of bench:check on one Redis,
// measured in alternating rounds (on, off, on, off, ...) so a shared machine loads both alike. Per round: checks/s
// in a closed loop and the process's CPU per check, split into user and kernel time (/proc/PID/stat): batching
// saves kernel time (one writev for many checks instead of one write each).
//   npm run bench:batch-writes        (ROUNDS=4 SECONDS=4; DISTINCT=1 for 1,000 tokens from framesLoad)
import { readFileSync } from 'node:fs';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import { distinctLoad, h2load, startServer } from './check/servers.js';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SECONDS = Number(process.env.SECONDS ?? 4);
const DISTINCT = process.env.DISTINCT === '1';
const CLOCK_TICKS = 100; // USER_HZ on Linux

const setup = await prepareBench(DISTINCT ? 1000 : 1);
const listeners = { grpc: { address: '127.0.0.1:0' }, admin: { address: '127.0.0.1:0' }, logLevel: 'silent' };
const variants = [
  { name: 'batchWrites: true', config: setup.writeConfig('on.json', listeners) },
  {
    name: 'batchWrites: false',
    config: setup.writeConfig('off.json', {
      ...listeners,
      redis: { ...(setup.pipelineConfig['redis'] as object), batchWrites: false },
    }),
  },
];
const servers = await Promise.all(
  variants.map((v) => startServer(v.name, ['bench/check/server.ts', 'portcullis', v.config])),
);
const shape = { seconds: SECONDS, connections: 8, streams: 16, path: CHECK_PATH, dir: setup.dir };
const load = (port: number, seconds: number) =>
  DISTINCT
    ? distinctLoad(port, setup.bodies, { ...shape, seconds })
    : h2load(port, setup.oneTokenFile, { ...shape, seconds });

/** user and kernel CPU seconds of a process */
function cpu(pid: number): { user: number; kernel: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS, kernel: Number(fields[12]) / CLOCK_TICKS };
}

for (const server of servers) await load(server.port, 2); // warm-up
const rounds = servers.map(() => [] as Array<{ throughput: number; user: number; kernel: number }>);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, server] of servers.entries()) {
    const before = cpu(server.child.pid!);
    const result = await load(server.port, SECONDS);
    const after = cpu(server.child.pid!);
    rounds[i]!.push({
      throughput: result.done / result.seconds,
      user: ((after.user - before.user) / result.done) * 1e6,
      kernel: ((after.kernel - before.kernel) / result.done) * 1e6,
    });
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
console.log(
  `bench:batch-writes — ${DISTINCT ? '1,000 tokens (framesLoad)' : '1 token (h2load)'}, ${ROUNDS} alternating rounds × ${SECONDS} s, 8 × 16 streams; load average ${load1}`,
);
console.log('| server | checks/s | CPU µs/check | user | kernel | per round (CPU µs/check) |');
console.log('|---|---:|---:|---:|---:|---|');
for (const [i, variant] of variants.entries()) {
  const r = rounds[i]!;
  const total = r.map((x) => x.user + x.kernel);
  console.log(
    `| ${variant.name} | ${mean(r.map((x) => x.throughput)).toFixed(0)} | ${mean(total).toFixed(0)} | ${mean(r.map((x) => x.user)).toFixed(0)} | ${mean(r.map((x) => x.kernel)).toFixed(0)} | ${total.map((x) => x.toFixed(0)).join(' ')} |`,
  );
}

for (const server of servers) server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
await setup.dispose();
process.exit(0);
