// What only the in-process store has: bounded memory and expiry on its own clock.
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/limits/memory-store.js';
import { limitRequest, rule } from './fixtures.js';

function fakeClock(startSeconds: number) {
  let nowUs = startSeconds * 1_000_000;
  return { nowUs: () => nowUs, advance: (seconds: number) => void (nowUs += seconds * 1_000_000) };
}

describe('in-process store', () => {
  it('keeps at most maxBuckets buckets however many keys requests bring', async () => {
    const store = new MemoryStore({ maxBuckets: 50 });
    const r = rule({ limit: 5 });
    for (let i = 0; i < 1000; i++) await store.check(null, [limitRequest(r, `key-${i}`)]);
    expect(store.bucketCount).toBe(50);
  });

  it('forgets a bucket once it would be full again, so idle keys cost no memory', async () => {
    const clock = fakeClock(1_700_000_000);
    const store = new MemoryStore({ nowUs: clock.nowUs });
    const r = rule({ limit: 10, periodSeconds: 60 });
    await store.check(null, [limitRequest(r, 'a'), limitRequest(r, 'b')]);
    expect(store.bucketCount).toBe(2);
    clock.advance(7);
    expect(store.bucketCount).toBe(0);
  });

  it('refills on its clock at limit/period', async () => {
    const clock = fakeClock(1_700_000_000);
    const store = new MemoryStore({ nowUs: clock.nowUs });
    const request = limitRequest(rule({ limit: 6, periodSeconds: 60 }));
    for (let i = 0; i < 6; i++) await store.check(null, [request]);
    expect((await store.check(null, [request])).limits[0]!.retryAfterSeconds).toBe(10);
    clock.advance(9);
    expect((await store.check(null, [request])).limits[0]!.allowed).toBe(false);
    clock.advance(1);
    expect((await store.check(null, [request])).limits[0]!.allowed).toBe(true);
  });

  it('forgets a revoked jti when the token expires', async () => {
    const clock = fakeClock(1_700_000_000);
    const store = new MemoryStore({ nowUs: clock.nowUs });
    await store.revokeTokenId('j', 1_700_000_030);
    expect((await store.check({ jti: 'j', subject: null, issuedAt: null }, [])).revoked).toBe('jti');
    expect(store.revokedTokenIdCount).toBe(1);
    clock.advance(31);
    expect(store.revokedTokenIdCount).toBe(0);
  });
});
