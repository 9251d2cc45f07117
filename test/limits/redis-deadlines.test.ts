// Issue 17.8 and 17.9: a timeout refuses a check only when Redis really did not answer in time, and a
// refused check spends nothing, even when a stalled Redis runs the command later.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockOffsetMs, RedisClockOffset } from '../../src/limits/redis-clock.js';
import { createRedisStore, type RedisStore } from '../../src/limits/redis-store.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { limitRequest, rule, silentLogger, unique } from './fixtures.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;

function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the event loop is blocked, as a long policy evaluation or a GC pause blocks it
  }
}

describe('redis deadlines', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a check whose reply arrived while the event loop was blocked past the timeout still succeeds', async () => {
    const store: RedisStore = await createRedisStore(
      { url: server.url, keyPrefix: unique('lag') + ':', commandTimeoutMs: 100, onError: 'deny' },
      silentLogger,
    );
    try {
      const limited = limitRequest(rule({ limit: 100 }), 'lagging-client');
      expect((await store.check(null, [limited])).limits[0]!.allowed).toBe(true); // script loaded, connection warm
      for (let round = 0; round < 5; round++) {
        // From a setImmediate callback the next phase to run is the timers phase, so without re-checking the
        // socket the expired timeout fires before the poll phase reads the reply Redis sent during the block.
        const pending = await new Promise<ReturnType<RedisStore['check']>>((resolve) =>
          setImmediate(() => {
            const check = store.check(null, [limited]);
            busyWait(300);
            resolve(check);
          }),
        );
        const result = await pending;
        expect(result.limits[0]).toMatchObject({ allowed: true, remaining: 98 - round });
      }
    } finally {
      await store.close();
    }
  });

  describe('through the sidecar, Redis stalled (SIGSTOP) and resumed', () => {
    let sidecar: TestSidecar;
    let admin: Redis;

    beforeAll(async () => {
      admin = new Redis(server.url);
      sidecar = await startTestSidecar({
        files: { 'policies/authz.rego': ALLOW_ALL },
        config: {
          redis: { url: server.url, keyPrefix: 'stall:', commandTimeoutMs: 200, onError: 'deny' },
          rateLimits: [{ name: 'per-client', key: ['header.x-client'], limit: 50, periodSeconds: 3600 }],
        },
      });
    });
    afterAll(async () => {
      server.resume();
      admin?.disconnect();
      await sidecar?.close();
    });

    it('checks refused while Redis was stalled spend no budget when Redis later runs them', async () => {
      const headers = { 'x-client': 'stalled-client' };
      const check = async () => status(await sidecar.client.check(checkRequest({ headers })));
      for (let i = 0; i < 10; i++) expect(await check()).toBe(200);

      server.pause();
      let refused: number[];
      try {
        refused = await Promise.all(Array.from({ length: 20 }, check));
      } finally {
        server.resume();
      }
      expect(refused).toEqual(Array(20).fill(503));
      // Redis now runs the 20 queued scripts; let them land before counting.
      expect(await admin.ping()).toBe('PONG');

      const after: number[] = [];
      for (let i = 0; i < 60; i++) after.push(await check());
      expect(after.filter((s) => s === 200)).toHaveLength(40);
      expect(after.filter((s) => s === 429)).toHaveLength(20);
    });
  });
});

describe('clock offset to Redis', () => {
  it('takes Redis time minus the midpoint of the round trip', () => {
    expect(clockOffsetMs(1_000, ['2', '500000'], 1_010)).toBe(1_495);
    expect(clockOffsetMs(10_000, ['9', '995000'], 10_010)).toBe(-10);
  });

  it('measures a same-host Redis within a few milliseconds of this clock', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url);
    const clock = new RedisClockOffset(client);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      expect(await clock.measure()).toBe(true);
      expect(Math.abs(clock.offsetMs)).toBeLessThan(10);
    } finally {
      clock.close();
      client.disconnect();
      await server.dispose();
    }
  });
});
