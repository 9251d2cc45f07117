// The rate limit service's guarantees that need a real redis-server: exact budgets across instances under
// concurrency, one round trip per call, redis.onError when Redis is down or hung, and hot reload.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { createRlsClient, descriptor, type RlsClient } from '../helpers/rlsClient.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const RULES = (limit: number) => `
domain: api
descriptors:
  - key: tenant
    rate_limit: { unit: hour, requests_per_unit: ${limit} }
  - key: client
    rate_limit: { unit: hour, requests_per_unit: 1000 }
`;

async function commandCalls(admin: Redis, command: string): Promise<number> {
  const stats = await admin.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats);
  return match ? Number(match[1]) : 0;
}

async function until(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('rate limit service on a shared redis-server', () => {
  let redis: RedisServer;
  let admin: Redis;
  let a: TestSidecar;
  let b: TestSidecar;
  let failOpen: TestSidecar;
  let clientA: RlsClient;
  let clientB: RlsClient;
  let clientOpen: RlsClient;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    const config = (onError: 'deny' | 'allow') => ({
      redis: { url: redis.url, keyPrefix: 'rlsx:', commandTimeoutMs: 100, onError },
      rateLimitService: { config: ['ratelimit/api.yaml'] },
    });
    const files = { 'policies/authz.rego': ALLOW_ALL, 'ratelimit/api.yaml': RULES(30) };
    [a, b, failOpen] = await Promise.all([
      startTestSidecar({ files, config: config('deny') }),
      startTestSidecar({ files, config: config('deny') }),
      startTestSidecar({ files, config: config('allow') }),
    ]);
    clientA = createRlsClient(a.sidecar.grpcPort);
    clientB = createRlsClient(b.sidecar.grpcPort);
    clientOpen = createRlsClient(failOpen.sidecar.grpcPort);
  });
  afterAll(async () => {
    for (const c of [clientA, clientB, clientOpen]) c?.close();
    await Promise.all([a?.close(), b?.close(), failOpen?.close()]);
    admin?.disconnect();
    await redis?.dispose();
  });

  it('allows exactly the limit across two instances under concurrency', async () => {
    const calls = Array.from({ length: 80 }, (_, i) =>
      (i % 2 === 0 ? clientA : clientB).shouldRateLimit('api', [descriptor(['tenant', 'acme'])]),
    );
    const answers = await Promise.all(calls);
    expect(answers.filter((r) => r.overallCode === 'OK')).toHaveLength(30);
    expect(answers.filter((r) => r.overallCode === 'OVER_LIMIT')).toHaveLength(50);
  });

  it('makes one round trip per call, however many descriptors it holds', async () => {
    const before = await commandCalls(admin, 'evalsha');
    for (let i = 0; i < 10; i++) {
      await clientA.shouldRateLimit('api', [
        descriptor(['tenant', `t-${i}`]),
        descriptor(['client', `c-${i}`]),
        descriptor(['tenant', `u-${i}`]),
      ]);
    }
    expect((await commandCalls(admin, 'evalsha')) - before).toBe(10);
  });

  it('with Redis stopped answers OVER_LIMIT for every descriptor (onError deny) or OK (allow), within the timeout', async () => {
    await redis.stop();
    try {
      const started = Date.now();
      const denied = await clientA.shouldRateLimit('api', [
        descriptor(['tenant', 'down']),
        descriptor(['client', 'down']),
      ]);
      expect(denied.overallCode).toBe('OVER_LIMIT');
      expect(denied.statuses.map((s) => s.code)).toEqual(['OVER_LIMIT', 'OVER_LIMIT']);
      const allowed = await clientOpen.shouldRateLimit('api', [descriptor(['tenant', 'down'])]);
      expect(allowed.overallCode).toBe('OK');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await (await fetch(`${a.adminUrl}/metrics`)).text()).toMatch(
        /portcullis_ratelimit_service_decisions_total\{domain="api",result="error"\} [1-9]/,
      );
    } finally {
      await redis.start();
    }
    await until(
      async () => (await clientA.shouldRateLimit('api', [descriptor(['tenant', 'back'])])).overallCode === 'OK',
    );
  });

  it('with Redis hung (SIGSTOP) answers per onError once redis.commandTimeoutMs has passed', async () => {
    redis.pause();
    try {
      const started = Date.now();
      const [denied, allowed] = await Promise.all([
        clientA.shouldRateLimit('api', [descriptor(['tenant', 'hung'])]),
        clientOpen.shouldRateLimit('api', [descriptor(['tenant', 'hung'])]),
      ]);
      expect(denied.overallCode).toBe('OVER_LIMIT');
      expect(allowed.overallCode).toBe('OK');
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    } finally {
      redis.resume();
    }
    // what Redis ran late spent nothing: the full budget is there
    await until(
      async () => (await clientA.shouldRateLimit('api', [descriptor(['tenant', 'hung-after'])])).overallCode === 'OK',
    );
    const fresh = await clientA.shouldRateLimit('api', [descriptor(['tenant', 'hung'])]);
    expect(fresh.statuses[0]!.limitRemaining).toBe(29);
  });

  it('reloads a changed rule file, and keeps the last good rules when an edit is bad', async () => {
    const sidecar = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL, 'ratelimit/api.yaml': RULES(5) },
      config: { redis: { url: redis.url, keyPrefix: 'reload:' }, rateLimitService: { config: ['ratelimit/api.yaml'] } },
    });
    const client = createRlsClient(sidecar.sidecar.grpcPort);
    const limitNow = async () =>
      (await client.shouldRateLimit('api', [descriptor(['tenant', `r-${Math.random()}`])])).statuses[0]!.currentLimit
        ?.requestsPerUnit;
    try {
      expect(await limitNow()).toBe(5);
      sidecar.write('ratelimit/api.yaml', RULES(7));
      await until(async () => (await limitNow()) === 7);
      sidecar.write(
        'ratelimit/api.yaml',
        'domain: api\ndescriptors:\n  - key: tenant\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n',
      );
      await until(async () => sidecar.logs.some((l) => String(l['msg']).includes('keeping the last good rules')));
      expect(await limitNow()).toBe(7);
    } finally {
      client.close();
      await sidecar.close();
    }
  });
});
