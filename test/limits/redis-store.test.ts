// What only the Redis store has: the documented keys, one view shared by many sidecars, one round trip per
// check, and behaviour when Redis stops, hangs and returns.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLimitsStage, createStore, RedisAddressError } from '../../src/limits/index.js';
import { createRedisStore, type RedisStore } from '../../src/limits/redis-store.js';
import { checkScript } from '../../src/limits/scripts/check.js';
import type { HttpRequestView } from '../../src/input/types.js';
import type { RedisConfig } from '../../src/config/schema.js';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
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

const request: HttpRequestView = { method: 'GET', path: '/api', headers: {}, sourceAddress: '192.0.2.9' };

function redisConfig(url: string, overrides: Partial<RedisConfig> = {}): RedisConfig {
  return { url, keyPrefix: 'portcullis:', commandTimeoutMs: 50, onError: 'deny', ...overrides };
}

async function untilReachable(store: RedisStore): Promise<void> {
  for (let attempt = 0; attempt < 200 && !(await store.ping()); attempt++) await new Promise((r) => setTimeout(r, 50));
}

describe('redis store on a shared standalone server', () => {
  let server: RedisServer;
  let admin: Redis;
  const stores: RedisStore[] = [];
  const open = async (overrides: Partial<RedisConfig> = {}) => {
    const store = await createRedisStore(
      redisConfig(server.url, { commandTimeoutMs: 1000, ...overrides }),
      silentLogger,
    );
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    admin.disconnect();
    await server.dispose();
  });

  it('is what createStore makes for a redis section, logging that limits are shared', async () => {
    const deps = recordingDeps();
    const store = await createStore(parseConfig({ redis: { url: server.url } }), deps);
    try {
      expect(store.kind).toBe('redis');
      expect(await store.ping()).toBe(true);
      expect(deps.lines.join('')).toContain('shared through redis');
    } finally {
      await store.close();
    }
  });

  it('writes the denylist keys the README documents, with the token ones expiring at exp', async () => {
    const store = await open();
    const exp = nowSeconds() + 300;
    await store.revokeTokenId('abc-123', exp);
    await store.revokeSubject('alice', 1_700_000_000);
    expect(await admin.get('portcullis:deny:jti:abc-123')).toBe('1');
    expect(await admin.expiretime('portcullis:deny:jti:abc-123')).toBe(exp);
    expect(await admin.get('portcullis:deny:sub:alice')).toBe('1700000000');
  });

  it('honours denylist entries other systems write with plain SET', async () => {
    const store = await open();
    await admin.set('portcullis:deny:jti:from-idp', '1', 'EX', 60);
    await admin.set('portcullis:deny:sub:logged-out-user', String(nowSeconds()));
    expect((await store.check({ jti: 'from-idp', subject: null, issuedAt: null }, [])).revoked).toBe('jti');
    const facts = { jti: null, subject: 'logged-out-user', issuedAt: nowSeconds() - 60 };
    expect((await store.check(facts, [])).revoked).toBe('subject');
  });

  it('enforces one global budget across two sidecars (two clients) under concurrency', async () => {
    const [a, b] = [await open(), await open()];
    const limit = limitRequest(rule({ limit: 20 }));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).check(null, [limit])),
    );
    expect(results.filter((r) => r.limits[0]!.allowed)).toHaveLength(20);
  });

  it('shows a revocation made through one sidecar to every other at once', async () => {
    const [a, b, c] = [await open(), await open(), await open()];
    const facts = { jti: unique('jti'), subject: unique('sub'), issuedAt: nowSeconds() - 5 };
    expect((await b.check(facts, [])).revoked).toBeNull();
    await a.revokeTokenId(facts.jti, nowSeconds() + 60);
    expect((await b.check(facts, [])).revoked).toBe('jti');
    expect((await c.check(facts, [])).revoked).toBe('jti');
  });

  it('uses one round trip (one EVALSHA/EVAL) per check for the denylist and every matching rule', async () => {
    const store = await open();
    const monitorOwner = new Redis(server.url);
    const monitor = await monitorOwner.monitor();
    const fromClients: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') fromClients.push(String(args[0]).toLowerCase());
    });
    const rules = [rule({ limit: 100 }), rule({ limit: 100 }), rule({ limit: 100, key: ['source.address'] })];
    const facts = { jti: unique('jti'), subject: 'alice', issuedAt: nowSeconds() };
    for (let i = 0; i < 25; i++) {
      await store.check(facts, [
        limitRequest(rules[0]!, 'alice'),
        limitRequest(rules[1]!, 'alice'),
        limitRequest(rules[2]!, '192.0.2.9'),
      ]);
    }
    await admin.ping();
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    monitorOwner.disconnect();
    const checks = fromClients.filter((c) => c !== 'ping');
    expect(checks).toHaveLength(25);
    expect(new Set(checks)).toEqual(new Set(checks.includes('eval') ? ['eval', 'evalsha'] : ['evalsha']));
  });

  it('loads the check script again after SCRIPT FLUSH, within the check that met NOSCRIPT', async () => {
    const store = await open();
    const limited = limitRequest(rule({ limit: 2 }), unique('flush'));
    expect((await store.check(null, [limited])).limits[0]).toMatchObject({ allowed: true, remaining: 1 });
    await admin.script('FLUSH');
    // the connection has run the script before, so this check sends EVALSHA, meets NOSCRIPT and sends EVAL
    expect((await store.check(null, [limited])).limits[0]).toMatchObject({ allowed: true, remaining: 0 });
    expect((await store.check(null, [limited])).limits[0]).toMatchObject({ allowed: false });
    expect(await admin.script('EXISTS', createHash('sha1').update(checkScript).digest('hex'))).toEqual([1]);
  });

  // redis.batchWrites: the calls of concurrent checks leave in one socket write, each still its own EVALSHA
  // (the test above counts those). Observed on the store's real socket: Node writes a corked batch with one writev.
  it.each([
    [true, (writes: number) => expect(writes).toBe(1)],
    [false, (writes: number) => expect(writes).toBeGreaterThanOrEqual(20)],
  ])('batchWrites %s: 20 concurrent checks in how many socket writes', async (batchWrites, expectWrites) => {
    const store = await createRedisStore(
      { url: server.url, keyPrefix: unique('batch') + ':', commandTimeoutMs: 1000, onError: 'deny', batchWrites },
      silentLogger,
    );
    try {
      const limited = limitRequest(rule({ limit: 100 }), 'batched');
      await store.check(null, [limited]); // the script is loaded
      const socket = (store as unknown as { client: Redis }).client.stream as unknown as {
        _write: (...args: unknown[]) => void;
        _writev: (...args: unknown[]) => void;
      };
      let writes = 0;
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method].bind(socket);
        socket[method] = (...args: unknown[]) => {
          writes++;
          original(...args);
        };
      }
      const results = await Promise.all(Array.from({ length: 20 }, () => store.check(null, [limited])));
      expect(results.map((r) => r.limits[0]!.allowed)).toEqual(Array(20).fill(true));
      expect(results.map((r) => r.limits[0]!.remaining).sort((a, b) => b - a)).toEqual(
        Array.from({ length: 20 }, (_, i) => 98 - i),
      );
      expectWrites(writes);
    } finally {
      await store.close();
    }
  });
});

describe('redis store when redis stops, hangs and returns', () => {
  let server: RedisServer;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    server.resume();
    await server.start().catch(() => undefined);
    while (cleanup.length > 0) await cleanup.pop()!();
  });
  afterAll(async () => server.dispose());

  async function stageOn(onError: 'deny' | 'allow') {
    const config = parseConfig({
      redis: { url: server.url, commandTimeoutMs: 250, onError },
      rateLimits: [{ name: 'per-ip', key: ['source.address'], limit: 1000, periodSeconds: 60 }],
    });
    const store = await createRedisStore(config.redis!, silentLogger);
    cleanup.push(() => store.close());
    const deps = recordingDeps();
    return { store, deps, stage: createLimitsStage(config, store, deps) };
  }

  it('onError deny: answers unavailable at once while redis is down, and recovers by itself when it returns', async () => {
    const { store, deps, stage } = await stageOn('deny');
    expect((await stage.evaluate(request, null)).kind).toBe('pass');
    await server.stop();
    expect(await settlesWithin(stage.evaluate(request, null), 1000)).toEqual({
      kind: 'unavailable',
      description: 'rate-limit and denylist store unavailable',
    });
    expect(await store.ping()).toBe(false);
    expect(deps.storeErrors).toBe(1);
    await server.start();
    await untilReachable(store);
    // a fresh server has no scripts loaded: the same store reloads its script and counts from scratch
    expect(await stage.evaluate(request, null)).toMatchObject({
      kind: 'pass',
      headers: { ratelimit: '"per-ip";r=999;t=1' },
    });
  });

  it('onError allow: lets the check go on without limit headers while redis is down, counting the error', async () => {
    const { deps, stage } = await stageOn('allow');
    await server.stop();
    expect(await settlesWithin(stage.evaluate(request, null), 1000)).toEqual({ kind: 'pass', headers: {} });
    const facts = { jti: 'j', subject: 's', issuedAt: nowSeconds() };
    expect(await settlesWithin(stage.evaluate(request, { facts, claims: { sub: 's' } }), 1000)).toEqual({
      kind: 'pass',
      headers: {},
    });
    expect(deps.storeErrors).toBe(2);
  });

  it('answers within redis.commandTimeoutMs when redis hangs with the connection open, and recovers after', async () => {
    const { store, deps, stage } = await stageOn('deny');
    expect((await stage.evaluate(request, null)).kind).toBe('pass');
    server.pause();
    expect(await settlesWithin(stage.evaluate(request, null), 1000)).toMatchObject({ kind: 'unavailable' });
    expect(deps.storeErrors).toBe(1);
    server.resume();
    await untilReachable(store);
    expect((await stage.evaluate(request, null)).kind).toBe('pass');
  });

  it('starts while redis is down without hanging, then works once redis comes up', async () => {
    await server.stop();
    const { store, stage } = await stageOn('deny');
    expect((await stage.evaluate(request, null)).kind).toBe('unavailable');
    await server.start();
    await untilReachable(store);
    expect((await stage.evaluate(request, null)).kind).toBe('pass');
  });
});

describe('redis addresses', () => {
  it('refuses an unusable redis URL at start-up naming the config key', async () => {
    await expect(createRedisStore(redisConfig('redis://:6379'), silentLogger)).rejects.toBeInstanceOf(
      RedisAddressError,
    );
    await expect(
      createRedisStore(
        { ...redisConfig('redis://x'), url: undefined, cluster: ['redis://127.0.0.1:7000', 'redis://h:1/zero'] },
        silentLogger,
      ),
    ).rejects.toThrow(/^redis\.cluster\[1\]: "redis:\/\/h:1\/zero"/);
  });
});
