// One behavioural suite, run on every store: the in-process one and Redis standalone, Cluster and Sentinel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRevocationError } from '../../src/limits/errors.js';
import { MemoryStore } from '../../src/limits/memory-store.js';
import { createRedisStore } from '../../src/limits/redis-store.js';
import type { DecisionStore } from '../../src/limits/types.js';
import { startRedisCluster, startRedisSentinel, startRedisServer } from '../helpers/redis.js';
import { limitRequest, nowSeconds, rule, silentLogger, unique } from './fixtures.js';

interface Shape {
  name: string;
  /** Cluster runs one script per slot, in parallel: each slot's keys are atomic, not the whole check, and
   * tokens spent for a check refused elsewhere are given back just after the answer. */
  atomicAcrossSlots: boolean;
  open(): Promise<{ store: DecisionStore; stop(): Promise<void> }>;
}

const redisDefaults = { keyPrefix: 'portcullis:', commandTimeoutMs: 1000, onError: 'deny' as const };

const shapes: Shape[] = [
  {
    name: 'in-process store',
    atomicAcrossSlots: true,
    async open() {
      const store = new MemoryStore();
      return { store, stop: () => store.close() };
    },
  },
  {
    name: 'redis standalone',
    atomicAcrossSlots: true,
    async open() {
      const server = await startRedisServer();
      const store = await createRedisStore({ ...redisDefaults, url: server.url }, silentLogger);
      return { store, stop: async () => (await store.close(), await server.dispose()) };
    },
  },
  {
    name: 'redis cluster (3 masters)',
    atomicAcrossSlots: false,
    async open() {
      const cluster = await startRedisCluster();
      const store = await createRedisStore({ ...redisDefaults, cluster: cluster.urls }, silentLogger);
      return { store, stop: async () => (await store.close(), await cluster.stop()) };
    },
  },
  {
    name: 'redis sentinel',
    atomicAcrossSlots: true,
    async open() {
      const sentinel = await startRedisSentinel();
      const store = await createRedisStore(
        { ...redisDefaults, sentinel: { sentinels: sentinel.sentinels, name: sentinel.name } },
        silentLogger,
      );
      return { store, stop: async () => (await store.close(), await sentinel.stop()) };
    },
  },
];

describe.each(shapes)('$name', (shape) => {
  let store: DecisionStore;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ store, stop } = await shape.open());
  });
  afterAll(async () => stop());

  it('answers ping when reachable', async () => {
    expect(await store.ping()).toBe(true);
  });

  it('allows exactly `limit` requests in a burst, counting remaining down, then refuses with retry-after', async () => {
    const r = rule({ limit: 3, periodSeconds: 60 });
    const request = limitRequest(r);
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await store.check(null, [request]);
      expect(result.limits[0]!.allowed).toBe(true);
      remaining.push(result.limits[0]!.remaining);
    }
    expect(remaining).toEqual([2, 1, 0]);
    const refused = (await store.check(null, [request])).limits[0]!;
    expect(refused).toMatchObject({ rule: r.name, allowed: false, remaining: 0, limit: 3, periodSeconds: 60 });
    // one token comes back every 20 s; the whole budget in about 60 s
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(19);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(20);
    expect(refused.resetSeconds).toBeGreaterThanOrEqual(59);
    expect(refused.resetSeconds).toBeLessThanOrEqual(60);
  });

  it('allows exactly L of N concurrent requests against limit L', async () => {
    const request = limitRequest(rule({ limit: 25 }));
    const results = await Promise.all(Array.from({ length: 80 }, () => store.check(null, [request])));
    expect(results.filter((r) => r.limits[0]!.allowed)).toHaveLength(25);
  });

  it('keeps a separate budget per key value', async () => {
    const r = rule({ limit: 1 });
    expect((await store.check(null, [limitRequest(r, 'alice')])).limits[0]!.allowed).toBe(true);
    expect((await store.check(null, [limitRequest(r, 'alice')])).limits[0]!.allowed).toBe(false);
    expect((await store.check(null, [limitRequest(r, 'bob')])).limits[0]!.allowed).toBe(true);
  });

  it('keeps key values apart that differ only in `:`, `{` or `}`', async () => {
    const r = rule({ limit: 1 });
    expect((await store.check(null, [limitRequest(r, 'a:{b}')])).limits[0]!.allowed).toBe(true);
    for (const lookalike of ['a:b', 'a{b}', 'a:%7Bb%7D', '{a:b}']) {
      expect((await store.check(null, [limitRequest(r, lookalike)])).limits[0]!.allowed).toBe(true);
    }
  });

  it('spends no budget of any rule when one matching rule refuses', async () => {
    const generous = rule({ limit: 10 });
    const strict = rule({ limit: 1 });
    // the same key value: in Cluster these share a hash tag, so one atomic script covers both
    const value = unique('user');
    await store.check(null, [limitRequest(generous, value), limitRequest(strict, value)]);
    for (let i = 0; i < 3; i++) {
      const result = await store.check(null, [limitRequest(generous, value), limitRequest(strict, value)]);
      expect(result.limits.map((l) => l.allowed)).toEqual([true, false]);
    }
    const alone = await store.check(null, [limitRequest(generous, value)]);
    expect(alone.limits[0]!.remaining).toBe(8);
  });

  it('refills continuously: a spent budget comes back after its period', async () => {
    const request = limitRequest(rule({ limit: 4, periodSeconds: 1 }));
    // sent together, so no refill (one token per 250 ms) falls between them even on a loaded machine
    const burst = await Promise.all(Array.from({ length: 6 }, () => store.check(null, [request])));
    expect(burst.filter((r) => r.limits[0]!.allowed)).toHaveLength(4);
    await new Promise((r) => setTimeout(r, 1100));
    const refilled = await store.check(null, [request]);
    expect(refilled.limits[0]!.allowed).toBe(true);
    expect(refilled.limits[0]!.remaining).toBe(3);
  });

  it('refuses a revoked jti and only that jti', async () => {
    const jti = unique('jti');
    await store.revokeTokenId(jti, nowSeconds() + 600);
    expect(await store.check({ jti, subject: 'alice', issuedAt: nowSeconds() }, [])).toEqual({
      revoked: 'jti',
      limits: [],
    });
    expect(
      (await store.check({ jti: unique('jti'), subject: 'alice', issuedAt: nowSeconds() }, [])).revoked,
    ).toBeNull();
  });

  /** Cluster gives back tokens spent in other slots just after answering; other shapes never spend them. */
  async function refundsLanded(): Promise<void> {
    if (!shape.atomicAcrossSlots) await new Promise((r) => setTimeout(r, 300));
  }

  it('does not spend rate-limit budget on a revoked token', async () => {
    const jti = unique('jti');
    const r = rule({ limit: 1 });
    await store.revokeTokenId(jti, nowSeconds() + 600);
    const revoked = await store.check({ jti, subject: unique('sub'), issuedAt: null }, [limitRequest(r, jti)]);
    expect(revoked).toEqual({ revoked: 'jti', limits: [] });
    await refundsLanded();
    expect((await store.check(null, [limitRequest(r, jti)])).limits[0]!.allowed).toBe(true);
  });

  it('does not spend the budget of a rule keyed by another value when a request is refused', async () => {
    const perUser = rule({ limit: 5 });
    const perIp = rule({ limit: 1, key: ['source.address'] });
    const user = unique('user');
    const ip = unique('ip');
    const both = [limitRequest(perUser, user), limitRequest(perIp, ip)];
    expect((await store.check(null, both)).limits.map((l) => l.allowed)).toEqual([true, true]);
    for (let i = 0; i < 3; i++)
      expect((await store.check(null, both)).limits.map((l) => l.allowed)).toEqual([true, false]);
    await refundsLanded();
    expect((await store.check(null, [limitRequest(perUser, user)])).limits[0]!.remaining).toBe(3);
  });

  it('forgets nothing it need not: revoking an already expired token stores nothing to refuse', async () => {
    const jti = unique('jti');
    await store.revokeTokenId(jti, nowSeconds() - 10);
    expect((await store.check({ jti, subject: null, issuedAt: null }, [])).revoked).toBeNull();
  });

  it('refuses tokens of a revoked subject issued at or before the cut-off, and accepts later ones', async () => {
    const subject = unique('sub');
    const cutoff = nowSeconds();
    await store.revokeSubject(subject, cutoff);
    const at = (issuedAt: number | null) => store.check({ jti: null, subject, issuedAt }, []);
    expect((await at(cutoff - 100)).revoked).toBe('subject');
    expect((await at(cutoff)).revoked).toBe('subject');
    expect((await at(cutoff + 1)).revoked).toBeNull();
    // without iat a token cannot show it was issued after the cut-off
    expect((await at(null)).revoked).toBe('subject');
  });

  it('keeps the latest subject cut-off when an older revocation arrives later', async () => {
    const subject = unique('sub');
    const cutoff = nowSeconds();
    await store.revokeSubject(subject, cutoff);
    await store.revokeSubject(subject, cutoff - 1000);
    expect((await store.check({ jti: null, subject, issuedAt: cutoff - 10 }, [])).revoked).toBe('subject');
  });

  it('revokes a subject containing `{`, `}` and `:` without touching look-alike subjects', async () => {
    const base = unique('sub');
    const subject = `${base}:{tenant}`;
    await store.revokeSubject(subject, nowSeconds());
    const check = (s: string) => store.check({ jti: null, subject: s, issuedAt: nowSeconds() - 5 }, []);
    expect((await check(subject)).revoked).toBe('subject');
    for (const lookalike of [`${base}:%7Btenant%7D`, `${base}:tenant`, `${base}:{tenant`, base]) {
      expect((await check(lookalike)).revoked).toBeNull();
    }
  });

  it('rejects revocations with an empty id or a non-integer time', async () => {
    await expect(store.revokeTokenId('', nowSeconds() + 10)).rejects.toBeInstanceOf(InvalidRevocationError);
    await expect(store.revokeTokenId('x', 1.5)).rejects.toMatchObject({ code: 'INVALID_REVOCATION' });
    await expect(store.revokeSubject('', nowSeconds())).rejects.toBeInstanceOf(InvalidRevocationError);
    await expect(store.revokeSubject('alice', Number.NaN)).rejects.toBeInstanceOf(InvalidRevocationError);
  });

  it('handles a check matching more rules than the fixed-arity script commands cover', async () => {
    const rules = Array.from({ length: 20 }, (_, i) => rule({ limit: i === 19 ? 1 : 5 }));
    const value = unique('user');
    const first = await store.check(
      { jti: unique('jti'), subject: unique('sub'), issuedAt: nowSeconds() },
      rules.map((r) => limitRequest(r, value)),
    );
    expect(first.limits.map((l) => l.remaining)).toEqual([...Array.from({ length: 19 }, () => 4), 0]);
    const second = await store.check(
      null,
      rules.map((r) => limitRequest(r, value)),
    );
    expect(second.limits.filter((l) => !l.allowed).map((l) => l.rule)).toEqual([rules[19]!.name]);
  });

  it('takes `cost` tokens per request and refuses a cost the bucket cannot cover', async () => {
    const request = { ...limitRequest(rule({ limit: 10, periodSeconds: 60 })), cost: 4 };
    const remaining = [];
    for (let i = 0; i < 3; i++) remaining.push((await store.check(null, [request])).limits[0]!);
    expect(remaining.map((r) => [r.allowed, r.remaining])).toEqual([
      [true, 6],
      [true, 2],
      [false, 2],
    ]);
  });

  it('refuses every request under a limit of 0, spending nothing elsewhere', async () => {
    const value = unique('zero');
    const open = limitRequest(rule({ limit: 5 }), value);
    const closed = limitRequest(rule({ limit: 0 }), value);
    const result = await store.check(null, [open, closed]);
    expect(result.limits.map((l) => l.allowed)).toEqual([true, false]);
    expect((await store.check(null, [open])).limits[0]!.remaining).toBe(4);
  });

  it('never lets a shadow rule refuse, nor block the other rules', async () => {
    const value = unique('shadow');
    const shadow = limitRequest(rule({ limit: 1, shadow: true }), value);
    const enforced = limitRequest(rule({ limit: 5 }), value);
    await store.check(null, [shadow, enforced]);
    const second = await store.check(null, [shadow, enforced]);
    expect(second.limits.map((l) => [l.allowed, l.shadow])).toEqual([
      [false, true],
      [true, false],
    ]);
    expect(second.limits[1]!.remaining).toBe(3);
  });

  it('applies an override, and a penalty once the rule refuses the key', async () => {
    const value = unique('vip');
    const r = rule({ limit: 2, penalty: { seconds: 600, limitFactor: 0.5 } });
    await store.setOverride({ rule: r.name, key: [value], limit: 4 });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await store.check(null, [limitRequest(r, value)])).limits[0]!);
    expect(answers.map((a) => [a.allowed, a.limit, a.penalty])).toEqual([
      [true, 4, null],
      [true, 4, null],
      [true, 4, null],
      [true, 4, null],
      [false, 4, 'started'],
    ]);
    expect((await store.check(null, [limitRequest(r, value)])).limits[0]).toMatchObject({
      allowed: false,
      limit: 2,
      penalty: 'active',
    });
    expect(await store.listOverrides()).toContainEqual({ rule: r.name, key: [value], limit: 4 });
    expect(await store.deleteOverride(r.name, [value])).toBe(true);
  });

  it('blocks a key after more failed authentications than the limit', async () => {
    const key = unique('spray');
    const limit = { limit: 2, periodSeconds: 60, blockSeconds: 30 };
    expect(await store.authBlockSeconds(key)).toBe(0);
    const started = [];
    for (let i = 0; i < 3; i++) started.push(await store.recordAuthFailure(key, limit));
    expect(started).toEqual([false, false, true]);
    expect(await store.authBlockSeconds(key)).toBeGreaterThanOrEqual(29);
  });

  it('answers a check with neither token nor limits without touching anything', async () => {
    expect(await store.check(null, [])).toEqual({ revoked: null, limits: [] });
  });
});
