// Limits benchmark: Redis round trips per check (must be 1 outside Cluster) and checks/s of the limits stage
// with the denylist and two rate-limit rules on, against the in-process store, a standalone redis-server and
// a 3-master Cluster, all started here on free ports; then how long a check takes to answer while Redis is
// stopped or hung (redis.commandTimeoutMs 50); and the rate limit service (ShouldRateLimit, 3 descriptors per
// call) against Redis. Prints figures; asserts nothing.
//   npm run bench:limits            (CHECKS=20000 CONCURRENCY=64 to change the load)
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { configSchema, type Config } from '../src/config/schema.js';
import type { HttpRequestView } from '../src/input/types.js';
import { createLimitsStage, createStore } from '../src/limits/index.js';
import { createRateLimitService } from '../src/limits/service.js';
import { buildRules } from '../src/limits/service-rules.js';
import type { LimitsDeps, LimitsStage } from '../src/limits/types.js';
import { startRedisCluster, startRedisServer } from '../test/helpers/redis.js';

const CHECKS = Number(process.env.CHECKS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const USERS = 5_000;

const deps: LimitsDeps = { logger: pino({ level: 'silent' }), countRateLimit() {}, countStoreError() {} };

function configFor(redis: Record<string, unknown> | undefined): Config {
  return configSchema.parse({
    ...(redis ? { redis: { commandTimeoutMs: 1000, ...redis } } : {}),
    rateLimits: [
      { name: 'per-user', key: ['jwt.sub'], limit: 1_000_000, periodSeconds: 60 },
      { name: 'per-ip', key: ['source.address'], limit: 1_000_000, periodSeconds: 60 },
    ],
  });
}

function checkArgs(
  i: number,
): [HttpRequestView, { facts: { jti: string; subject: string; issuedAt: number }; claims: Record<string, unknown> }] {
  const sub = `user-${i % USERS}`;
  return [
    { method: 'GET', path: '/api/orders', headers: {}, sourceAddress: `10.0.${(i >> 8) & 255}.${i & 255}` },
    { facts: { jti: `jti-${i}`, subject: sub, issuedAt: Math.floor(Date.now() / 1000) - 5 }, claims: { sub } },
  ];
}

async function load(
  stage: LimitsStage,
  checks: number,
): Promise<{ perSecond: number; p50: number; p99: number; kinds: Map<string, number> }> {
  const latencies: number[] = [];
  const kinds = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < checks) {
        const i = next++;
        const t0 = performance.now();
        const outcome = await stage.evaluate(...checkArgs(i));
        latencies.push(performance.now() - t0);
        kinds.set(outcome.kind, (kinds.get(outcome.kind) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
  return { perSecond: checks / seconds, p50: at(0.5), p99: at(0.99), kinds };
}

function commandCalls(info: string, command: string): number {
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/** Script calls the clients sent, from INFO commandstats (commands inside the script are counted apart). */
async function scriptCalls(admins: Redis[]): Promise<number> {
  let calls = 0;
  for (const admin of admins) {
    const info = await admin.info('commandstats');
    calls += commandCalls(info, 'evalsha') + commandCalls(info, 'eval');
  }
  return calls;
}

/** Commands clients sent (not from inside scripts), seen through MONITOR over a sample of checks. */
async function monitoredClientCommands(url: string, stage: LimitsStage, sample: number): Promise<number> {
  const owner = new Redis(url);
  const monitor = await owner.monitor();
  let commands = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua' && String(args[0]).toLowerCase() !== 'ping') commands++;
  });
  for (let i = 0; i < sample; i++) await stage.evaluate(...checkArgs(i));
  await owner.ping();
  await new Promise((r) => setTimeout(r, 200));
  monitor.disconnect();
  owner.disconnect();
  return commands;
}

function report(label: string, figures: Awaited<ReturnType<typeof load>>, roundTrips?: string): void {
  const outcomes = [...figures.kinds].map(([k, n]) => `${k}=${n}`).join(' ');
  console.log(
    `${label.padEnd(22)} ${figures.perSecond.toFixed(0).padStart(7)} checks/s  p50 ${figures.p50.toFixed(2)} ms  p99 ${figures.p99.toFixed(2)} ms` +
      `  [${outcomes}]${roundTrips ? `  ${roundTrips}` : ''}`,
  );
}

console.log(
  `limits stage: denylist on (jti + subject), 2 rate-limit rules per check, ${CHECKS} checks, ${CONCURRENCY} in flight, node ${process.version}`,
);

{
  const config = configFor(undefined);
  const store = await createStore(config, deps);
  const stage = createLimitsStage(config, store, deps);
  await load(stage, 2000);
  report('in-process store', await load(stage, CHECKS));
  await store.close();
}

{
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const config = configFor({ url: server.url });
  const store = await createStore(config, deps);
  const stage = createLimitsStage(config, store, deps);
  const sampled = await monitoredClientCommands(server.url, stage, 200);
  await load(stage, 2000);
  await admin.config('RESETSTAT');
  const figures = await load(stage, CHECKS);
  const calls = await scriptCalls([admin]);
  report(
    'redis standalone',
    figures,
    `round trips/check: ${(calls / CHECKS).toFixed(3)} (commandstats), ${(sampled / 200).toFixed(3)} (MONITOR)`,
  );
  await store.close();
  admin.disconnect();
  await server.dispose();
}

{
  // The rate limit service (ShouldRateLimit) against a standalone redis-server: 3 descriptors per call
  // (a per-address limit, a nested route + address limit, an unlimited one), one store round trip per call.
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const config = configFor({ url: server.url });
  const store = await createStore(config, deps);
  const rules = buildRules([
    {
      file: 'bench.yaml',
      text: `domain: edge
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 1000000 }
  - key: route
    value: orders
    descriptors:
      - key: remote_address
        rate_limit: { unit: second, requests_per_unit: 1000000 }
  - key: ldap
    rate_limit: { unlimited: true }
`,
    },
  ]);
  const service = createRateLimitService({ rules: () => rules, headers: 'ietf', failOpen: false }, store, {
    logger: deps.logger,
    countDecision() {},
    countStoreError() {},
  });
  const call = (i: number) => {
    const address = `10.1.${(i >> 8) & 255}.${i & 255}`;
    return service({
      domain: 'edge',
      descriptors: [
        { entries: [{ key: 'remote_address', value: address }] },
        {
          entries: [
            { key: 'route', value: 'orders' },
            { key: 'remote_address', value: address },
          ],
        },
        { entries: [{ key: 'ldap', value: 'x' }] },
      ],
    });
  };
  const run = async (calls: number) => {
    const latencies: number[] = [];
    const kinds = new Map<string, number>();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < calls) {
          const i = next++;
          const t0 = performance.now();
          const answer = await call(i);
          latencies.push(performance.now() - t0);
          kinds.set(answer.overallCode, (kinds.get(answer.overallCode) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
    return { perSecond: calls / seconds, p50: at(0.5), p99: at(0.99), kinds };
  };
  await run(2000);
  await admin.config('RESETSTAT');
  const figures = await run(CHECKS);
  const calls = await scriptCalls([admin]);
  console.log(
    `${'rate limit service'.padEnd(22)} ${figures.perSecond.toFixed(0).padStart(7)} calls/s   p50 ${figures.p50.toFixed(2)} ms  p99 ${figures.p99.toFixed(2)} ms` +
      `  [${[...figures.kinds].map(([k, n]) => `${k}=${n}`).join(' ')}]  round trips/call: ${(calls / CHECKS).toFixed(3)} (commandstats; 3 descriptors)`,
  );
  await store.close();
  admin.disconnect();
  await server.dispose();
}

{
  const cluster = await startRedisCluster();
  const admins = cluster.nodes.map((n) => new Redis(n.url));
  const config = configFor({ cluster: cluster.urls });
  const store = await createStore(config, deps);
  const stage = createLimitsStage(config, store, deps);
  await load(stage, 2000);
  await Promise.all(admins.map((a) => a.config('RESETSTAT')));
  const figures = await load(stage, CHECKS);
  const calls = await scriptCalls(admins);
  report(
    'redis cluster (3)',
    figures,
    `script calls/check: ${(calls / CHECKS).toFixed(3)} (one per slot touched, sent in parallel: 1 network round trip)`,
  );
  await store.close();
  for (const a of admins) a.disconnect();
  await cluster.stop();
}

{
  // Fail-fast figures: latency of a check while Redis is down (connection refused) and hung (SIGSTOP).
  const server = await startRedisServer();
  const config = configFor({ url: server.url, commandTimeoutMs: 50, onError: 'deny' });
  const store = await createStore(config, deps);
  const stage = createLimitsStage(config, store, deps);
  const sample = async (label: string) => {
    const latencies: number[] = [];
    const kinds = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      kinds.add((await stage.evaluate(...checkArgs(i))).kind);
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(36)} p50 ${latencies[100]!.toFixed(2)} ms  max ${latencies[199]!.toFixed(2)} ms  outcomes: ${[...kinds].join(',')}`,
    );
  };
  await sample('redis up (commandTimeoutMs 50)');
  server.pause();
  await sample('redis hung (SIGSTOP), onError deny');
  server.resume();
  await server.stop();
  await sample('redis stopped, onError deny');
  await store.close();
  await server.dispose();
}
