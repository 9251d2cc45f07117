// The limits stage on the in-process store: outcomes, headers, metrics and the denylist switch.
import { describe, expect, it } from 'vitest';
import type { HttpRequestView } from '../../src/input/types.js';
import { createLimitsStage, createStore } from '../../src/limits/index.js';
import { MemoryStore } from '../../src/limits/memory-store.js';
import type { DecisionStore, LimitRequest, StoreCheckResult, TokenFacts } from '../../src/limits/types.js';
import { nowSeconds, parseConfig, recordingDeps } from './fixtures.js';

const request: HttpRequestView = { method: 'POST', path: '/api/orders', headers: {}, sourceAddress: '192.0.2.1' };

function identity(sub: string, overrides: Partial<TokenFacts> = {}) {
  return { facts: { jti: `jti-${sub}`, subject: sub, issuedAt: nowSeconds() - 10, ...overrides }, claims: { sub } };
}

/** A real in-process store that also records how often and with what it was called. */
class CountingStore extends MemoryStore {
  calls: Array<{ token: TokenFacts | null; limits: LimitRequest[] }> = [];
  override async check(token: TokenFacts | null, limits: LimitRequest[]): Promise<StoreCheckResult> {
    this.calls.push({ token, limits });
    return super.check(token, limits);
  }
}

const perUser = { name: 'per-user', key: ['jwt.sub'], limit: 2, periodSeconds: 60 };

describe('limits stage', () => {
  it('passes with ratelimit-policy and ratelimit headers while under the limit', async () => {
    const config = parseConfig({ rateLimits: [perUser] });
    const stage = createLimitsStage(config, new MemoryStore(), recordingDeps());
    expect(await stage.evaluate(request, identity('alice'))).toEqual({
      kind: 'pass',
      headers: { 'ratelimit-policy': '"per-user";q=2;w=60', ratelimit: '"per-user";r=1;t=30' },
    });
  });

  it('answers limited with retry-after and the refusing rule once over the limit, counting decisions', async () => {
    const config = parseConfig({ rateLimits: [perUser] });
    const deps = recordingDeps();
    const stage = createLimitsStage(config, new MemoryStore(), deps);
    await stage.evaluate(request, identity('alice'));
    await stage.evaluate(request, identity('alice'));
    const outcome = await stage.evaluate(request, identity('alice'));
    expect(outcome).toEqual({
      kind: 'limited',
      rule: 'per-user',
      headers: { 'retry-after': '30', 'ratelimit-policy': '"per-user";q=2;w=60', ratelimit: '"per-user";r=0;t=60' },
    });
    expect(deps.decisions.map((d) => d.result)).toEqual(['allowed', 'allowed', 'limited']);
    expect(deps.decisions.every((d) => d.rule === 'per-user')).toBe(true);
  });

  it('answers revoked for a revoked jti and for a revoked subject', async () => {
    const store = new MemoryStore();
    const stage = createLimitsStage(parseConfig({}), store, recordingDeps());
    await store.revokeTokenId('jti-alice', nowSeconds() + 60);
    await store.revokeSubject('bob', nowSeconds());
    expect(await stage.evaluate(request, identity('alice'))).toEqual({ kind: 'revoked', by: 'jti' });
    expect(await stage.evaluate(request, identity('bob'))).toEqual({ kind: 'revoked', by: 'subject' });
    expect(await stage.evaluate(request, identity('carol'))).toEqual({ kind: 'pass', headers: {} });
  });

  it('skips the denylist when denylist.enabled is false', async () => {
    const store = new MemoryStore();
    await store.revokeTokenId('jti-alice', nowSeconds() + 60);
    const stage = createLimitsStage(parseConfig({ denylist: { enabled: false } }), store, recordingDeps());
    expect(await stage.evaluate(request, identity('alice'))).toEqual({ kind: 'pass', headers: {} });
  });

  it('does not call the store when no rule matches and there is nothing to look up', async () => {
    const store = new CountingStore();
    const config = parseConfig({ rateLimits: [{ ...perUser, when: { methods: ['DELETE'] } }] });
    const stage = createLimitsStage(config, store, recordingDeps());
    expect(await stage.evaluate(request, null)).toEqual({ kind: 'pass', headers: {} });
    expect(store.calls).toHaveLength(0);
  });

  it('makes one store call per check holding the token and every matching rule', async () => {
    const store = new CountingStore();
    const perIp = { name: 'per-ip', key: ['source.address'], limit: 10, periodSeconds: 1 };
    const stage = createLimitsStage(parseConfig({ rateLimits: [perUser, perIp] }), store, recordingDeps());
    const outcome = await stage.evaluate(request, identity('alice'));
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]!.token?.jti).toBe('jti-alice');
    expect(store.calls[0]!.limits.map((l) => [l.rule.name, l.keyValue])).toEqual([
      ['per-user', 'alice'],
      ['per-ip', '192.0.2.1'],
    ]);
    expect(outcome).toMatchObject({ kind: 'pass', headers: { ratelimit: '"per-user";r=1;t=30, "per-ip";r=9;t=1' } });
  });

  it('limits anonymous requests by rules whose key does not need a token', async () => {
    const perIp = { name: 'per-ip', key: ['source.address'], limit: 1, periodSeconds: 60 };
    const stage = createLimitsStage(parseConfig({ rateLimits: [perUser, perIp] }), new MemoryStore(), recordingDeps());
    expect((await stage.evaluate(request, null)).kind).toBe('pass');
    expect(await stage.evaluate(request, null)).toMatchObject({ kind: 'limited', rule: 'per-ip' });
  });
});

describe('createStore without a redis section', () => {
  it('makes the in-process store and logs that limits are per-instance', async () => {
    const deps = recordingDeps();
    const store: DecisionStore = await createStore(parseConfig({}), deps);
    expect(store.kind).toBe('memory');
    expect(deps.lines.join('')).toContain('per-instance');
    await store.close();
  });

  it('answers a store that throws, at once or later, as the store failing (fail closed)', async () => {
    const config = parseConfig({ rateLimits: [perUser] });
    class ThrowingStore extends MemoryStore {
      override check(): Promise<StoreCheckResult> {
        throw new Error('thrown before any promise');
      }
    }
    class RejectingStore extends MemoryStore {
      override check(): Promise<StoreCheckResult> {
        return Promise.reject(new Error('rejected'));
      }
    }
    for (const store of [new ThrowingStore(), new RejectingStore()]) {
      const deps = recordingDeps();
      const stage = createLimitsStage(config, store, deps);
      const outcome = await stage.evaluate(request, identity('alice'));
      expect(outcome).toEqual({ kind: 'unavailable', description: 'rate-limit and denylist store unavailable' });
      expect(deps.storeErrors).toBe(1);
    }
  });
});
