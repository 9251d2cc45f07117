// Cluster and Sentinel specifics: how a check spreads over Cluster slots, and fail-fast plus self-recovery
// when a Cluster master or the Sentinel-managed master goes away and returns.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpRequestView } from '../../src/input/types.js';
import { createLimitsStage } from '../../src/limits/index.js';
import { buildCheckCalls } from '../../src/limits/redis-check.js';
import { createRedisStore, type RedisStore } from '../../src/limits/redis-store.js';
import { startRedisCluster, startRedisSentinel, type RedisCluster, type RedisSentinel } from '../helpers/redis.js';
import {
  limitRequest,
  nowSeconds,
  parseConfig,
  recordingDeps,
  rule,
  settlesWithin,
  silentLogger,
  unique,
} from './fixtures.js';

const request: HttpRequestView = { method: 'GET', path: '/', headers: {}, sourceAddress: '192.0.2.1' };

async function eventually(probe: () => Promise<boolean>, attempts = 400): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function scriptCalls(info: string): number {
  let calls = 0;
  for (const command of ['evalsha', 'eval']) {
    const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
    if (match) calls += Number(match[1]);
  }
  return calls;
}

describe('redis cluster', () => {
  let cluster: RedisCluster;
  let admins: Redis[];
  let store: RedisStore;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    // the outage test stops a node under these clients; their reconnect errors are expected
    admins = cluster.nodes.map((n) => new Redis(n.url).on('error', () => undefined));
    store = await createRedisStore(
      { cluster: cluster.urls, keyPrefix: 'portcullis:', commandTimeoutMs: 1000, onError: 'deny' },
      silentLogger,
    );
  });
  afterAll(async () => {
    await store.close();
    for (const admin of admins) admin.disconnect();
    await cluster.stop();
  });

  it('sends one script call per slot a check touches, and one only when every key shares a slot', async () => {
    const perMinute = rule({ limit: 100, periodSeconds: 60 });
    const perHour = rule({ limit: 1000 });
    const facts = { jti: unique('jti'), subject: unique('sub'), issuedAt: nowSeconds() };
    const limits = [limitRequest(perMinute, 'alice'), limitRequest(perHour, 'alice')];
    const expectedCalls = buildCheckCalls('portcullis:', facts, limits, true, 0).length;
    await Promise.all(admins.map((a) => a.config('RESETSTAT')));
    for (let i = 0; i < 10; i++) await store.check(facts, limits);
    const withDenylist = (await Promise.all(admins.map((a) => a.info('commandstats')))).map(scriptCalls);
    expect(withDenylist.reduce((a, b) => a + b, 0)).toBe(10 * expectedCalls);

    await Promise.all(admins.map((a) => a.config('RESETSTAT')));
    for (let i = 0; i < 10; i++) await store.check(null, limits);
    const limitsOnly = (await Promise.all(admins.map((a) => a.info('commandstats')))).map(scriptCalls);
    expect(limitsOnly.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('enforces one exact budget across two sidecars whose checks touch several slots', async () => {
    const other = await createRedisStore(
      { cluster: cluster.urls, keyPrefix: 'portcullis:', commandTimeoutMs: 1000, onError: 'deny' },
      silentLogger,
    );
    try {
      const perUser = rule({ limit: 15 });
      const value = unique('user');
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 === 0 ? store : other).check({ jti: unique('jti'), subject: value, issuedAt: nowSeconds() }, [
            limitRequest(perUser, value),
          ]),
        ),
      );
      expect(results.filter((r) => r.limits[0]!.allowed)).toHaveLength(15);
    } finally {
      await other.close();
    }
  });

  it('answers within the timeout when a master stops, and recovers by itself once it is back', async () => {
    const config = parseConfig({
      redis: { cluster: cluster.urls, commandTimeoutMs: 300, onError: 'deny' },
      rateLimits: [{ name: 'per-user', key: ['jwt.sub'], limit: 1000, periodSeconds: 60 }],
    });
    const deps = recordingDeps();
    const shapeStore = await createRedisStore(config.redis!, silentLogger);
    const stage = createLimitsStage(config, shapeStore, deps);
    const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const evaluateAll = () =>
      Promise.all(
        users.map((sub) =>
          stage.evaluate(request, { facts: { jti: null, subject: null, issuedAt: null }, claims: { sub } }),
        ),
      );
    try {
      expect((await evaluateAll()).every((o) => o.kind === 'pass')).toBe(true);
      await cluster.nodes[0]!.stop();
      const during = await settlesWithin(evaluateAll(), 2000);
      expect(during).not.toBe('still waiting');
      // keys on the stopped master cannot be answered; nothing waits for it
      expect((during as Awaited<ReturnType<typeof evaluateAll>>).some((o) => o.kind === 'unavailable')).toBe(true);
      expect(deps.storeErrors).toBeGreaterThan(0);
      await cluster.nodes[0]!.start();
      expect(await eventually(async () => (await evaluateAll()).every((o) => o.kind === 'pass'))).toBe(true);
    } finally {
      await shapeStore.close();
    }
  });
});

describe('redis sentinel with a replica', () => {
  let sentinel: RedisSentinel;
  beforeAll(async () => {
    sentinel = await startRedisSentinel({ replica: true });
  });
  afterAll(async () => sentinel.stop());

  it('follows a failover: fails fast while the master is gone, then uses the promoted replica', async () => {
    const config = parseConfig({
      redis: {
        sentinel: { sentinels: sentinel.sentinels, name: sentinel.name },
        commandTimeoutMs: 300,
        onError: 'deny',
      },
      rateLimits: [{ name: 'per-ip', key: ['source.address'], limit: 100, periodSeconds: 60 }],
    });
    const store = await createRedisStore(config.redis!, silentLogger);
    const stage = createLimitsStage(config, store, recordingDeps());
    try {
      expect((await stage.evaluate(request, null)).kind).toBe('pass');
      await sentinel.master.stop();
      expect(await settlesWithin(stage.evaluate(request, null), 2000)).toMatchObject({ kind: 'unavailable' });
      expect(await eventually(async () => (await sentinel.currentMasterPort()) === sentinel.replica!.port)).toBe(true);
      expect(await eventually(async () => (await stage.evaluate(request, null)).kind === 'pass')).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('redis sentinel', () => {
  let sentinel: RedisSentinel;
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  });
  afterAll(async () => sentinel.stop());

  it('finds the master through the sentinel, fails fast while it is down, and recovers when it returns', async () => {
    const config = parseConfig({
      redis: {
        sentinel: { sentinels: sentinel.sentinels, name: sentinel.name },
        commandTimeoutMs: 300,
        onError: 'deny',
      },
      rateLimits: [{ name: 'per-ip', key: ['source.address'], limit: 5, periodSeconds: 60 }],
    });
    const store = await createRedisStore(config.redis!, silentLogger);
    const stage = createLimitsStage(config, store, recordingDeps());
    try {
      expect(await stage.evaluate(request, null)).toMatchObject({
        kind: 'pass',
        headers: { ratelimit: '"per-ip";r=4;t=12' },
      });
      await sentinel.master.stop();
      expect(await settlesWithin(stage.evaluate(request, null), 2000)).toMatchObject({ kind: 'unavailable' });
      await sentinel.master.start();
      expect(await eventually(async () => (await stage.evaluate(request, null)).kind === 'pass')).toBe(true);
    } finally {
      await store.close();
    }
  });
});
