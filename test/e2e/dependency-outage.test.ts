// A dependency outage never takes the pod out: with a real redis-server killed and restarted under steady
// check load, /readyz stays 200 throughout and names the store as degraded, checks keep answering per
// redis.onError within a bounded time, nothing crashes, and service resumes by itself when Redis returns.
// The same for an IdP whose JWKS endpoint is down.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const COMMAND_TIMEOUT_MS = 300;
const httpStatus = (res: CheckResponse): number => res.deniedResponse?.status?.code ?? 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  sentAt: number;
  ms: number;
  status: number | 'error';
}

/** Checks sent back to back by `concurrency` loops until stopped; every answer (or gRPC error) is kept. */
function steadyLoad(t: TestSidecar, concurrency: number): { answers: Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      const sentAt = Date.now();
      try {
        const res = await t.client.check(checkRequest({ path: '/api/orders' }));
        answers.push({ sentAt, ms: Date.now() - sentAt, status: httpStatus(res) });
      } catch {
        answers.push({ sentAt, ms: Date.now() - sentAt, status: 'error' });
      }
      await sleep(5);
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** /readyz polled every 50 ms until stopped. */
function pollReadiness(adminUrl: string): { statuses: number[]; stop(): Promise<void> } {
  const statuses: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      statuses.push((await fetch(`${adminUrl}/readyz`)).status);
      await sleep(50);
    }
  })();
  return {
    statuses,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function readyBody(adminUrl: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${adminUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function metric(adminUrl: string, pattern: RegExp): Promise<number | null> {
  const match = pattern.exec(await (await fetch(`${adminUrl}/metrics`)).text());
  return match === null ? null : Number(match[1]);
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('a Redis outage under steady load (onError: deny)', () => {
  let redis: RedisServer;
  let t: TestSidecar;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        redis: { url: redis.url, keyPrefix: 'outage:', commandTimeoutMs: COMMAND_TIMEOUT_MS, onError: 'deny' },
        // Every check goes through the store: one budget per method, far above what the test sends.
        rateLimits: [{ name: 'all', key: ['request.method'], limit: 1_000_000, periodSeconds: 60 }],
      },
      options: { storePingIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.dispose();
  });

  it(
    'stays ready, answers 503 within 3× commandTimeoutMs while Redis is down, and resumes when it returns',
    { timeout: 60_000 },
    async () => {
      const load = steadyLoad(t, 4);
      const ready = pollReadiness(t.adminUrl);
      try {
        await eventually('first allowed checks', async () =>
          load.answers.filter((a) => a.status === 200).length >= 20 ? true : undefined,
        );
        expect(await metric(t.adminUrl, /^portcullis_store_up (\d+)/m)).toBe(1);

        const killedAt = Date.now();
        await redis.stop();
        // The body names the store as degraded, the gauge says 0, and /readyz is still 200.
        const degraded = await eventually('/readyz to report the store down', async () => {
          const { status, body } = await readyBody(t.adminUrl);
          expect(status).toBe(200);
          return body['store'].up === false ? body : undefined;
        });
        expect(degraded['ready']).toBe(true);
        expect(degraded['degraded'].join('\n')).toMatch(/^store: redis unreachable .*redis\.onError \(deny\)/m);
        expect(await metric(t.adminUrl, /^portcullis_store_up (\d+)/m)).toBe(0);
        await eventually('denied checks during the outage', async () =>
          load.answers.filter((a) => a.sentAt > killedAt && a.status === 503).length >= 20 ? true : undefined,
        );

        // Long enough for the client to reach its slowest reconnect interval.
        await sleep(Math.max(0, killedAt + 4_000 - Date.now()));
        await redis.start();
        const returnedAt = Date.now();
        const resumed = await eventually(
          'an allowed check after Redis returned',
          async () => load.answers.find((a) => a.sentAt >= returnedAt && a.status === 200),
          15_000,
        );
        const resumedAfterMs = resumed.sentAt + resumed.ms - returnedAt;
        await eventually('/readyz to report the store up', async () =>
          (await readyBody(t.adminUrl)).body['store'].up ? true : undefined,
        );
        expect(await metric(t.adminUrl, /^portcullis_store_up (\d+)/m)).toBe(1);
        await sleep(300);

        await load.stop();
        await ready.stop();
        const outage = load.answers.filter((a) => a.sentAt > killedAt && a.sentAt < returnedAt);
        // Per onError: deny, every check sent while Redis was gone was answered, and only with 200 (sent just
        // before the kill was noticed) or 503; none waited past three command timeouts.
        expect(outage.length).toBeGreaterThan(20);
        expect(new Set(outage.map((a) => a.status))).toEqual(
          new Set([503, ...(outage.some((a) => a.status === 200) ? [200] : [])]),
        );
        expect(Math.max(...outage.map((a) => a.ms))).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
        expect(load.answers.filter((a) => a.status === 'error')).toEqual([]);
        // Readiness never dropped.
        expect(ready.statuses.length).toBeGreaterThan(10);
        expect(ready.statuses.filter((s) => s !== 200)).toEqual([]);
        // Resumed without a restart. The reconnect interval is 500 ms, so this is well under a second on an
        // idle machine; the bound is loose because the test machine is shared.
        expect(resumedAfterMs).toBeLessThan(3_000);
        expect(load.answers.filter((a) => a.sentAt > resumed.sentAt + 500).every((a) => a.status === 200)).toBe(true);
        expect(t.logs.filter((l) => l['msg'] === 'check pipeline threw')).toEqual([]);
        expect((await t.client.healthCheck('')).status).toBe(1);
      } finally {
        await load.stop();
        await ready.stop();
        await redis.start();
      }
    },
  );
});

describe('a Redis that is not there yet when the sidecar starts', () => {
  let redis: RedisServer | undefined;
  let t: TestSidecar | undefined;
  afterAll(async () => {
    await t?.close();
    await redis?.dispose();
  });

  it('starts, is ready at once, answers per onError, and serves once Redis appears', { timeout: 60_000 }, async () => {
    const port = await freePort();
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        redis: {
          url: `redis://127.0.0.1:${port}`,
          keyPrefix: 'late:',
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          onError: 'deny',
        },
        rateLimits: [{ name: 'all', key: ['request.method'], limit: 1_000_000, periodSeconds: 60 }],
      },
      options: { storePingIntervalMs: 100 },
    });
    const { status, body } = await readyBody(t.adminUrl);
    // A pod whose startup probe waited for Redis would never start while Redis is missing.
    expect(status).toBe(200);
    expect(body['store']).toMatchObject({ kind: 'redis', up: false });
    expect(httpStatus(await t.client.check(checkRequest({ path: '/api/orders' })))).toBe(503);

    redis = await startRedisServer({ port });
    await eventually('an allowed check once Redis is up', async () =>
      httpStatus(await t!.client.check(checkRequest({ path: '/api/orders' }))) === 200 ? true : undefined,
    );
    await eventually('/readyz to report the store up', async () =>
      (await readyBody(t!.adminUrl)).body['store'].up ? true : undefined,
    );
  });
});

describe('a hung Redis under steady load (SIGSTOP: connections open, no answers)', () => {
  let redis: RedisServer;
  let t: TestSidecar;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        redis: { url: redis.url, keyPrefix: 'hung:', commandTimeoutMs: COMMAND_TIMEOUT_MS, onError: 'deny' },
        rateLimits: [{ name: 'all', key: ['request.method'], limit: 1_000_000, periodSeconds: 60 }],
      },
      options: { storePingIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    redis?.resume();
    await t?.close();
    await redis?.dispose();
  });

  it(
    'answers every check per onError within 3× commandTimeoutMs, stays ready, and resumes when Redis does',
    { timeout: 60_000 },
    async () => {
      const load = steadyLoad(t, 4);
      const ready = pollReadiness(t.adminUrl);
      try {
        await eventually('first allowed checks', async () =>
          load.answers.filter((a) => a.status === 200).length >= 20 ? true : undefined,
        );
        const pausedAt = Date.now();
        redis.pause();
        await eventually('/readyz to report the store down', async () =>
          (await readyBody(t.adminUrl)).body['store'].up === false ? true : undefined,
        );
        await eventually('denied checks while Redis hangs', async () =>
          load.answers.filter((a) => a.sentAt > pausedAt && a.status === 503).length >= 10 ? true : undefined,
        );
        redis.resume();
        const resumedAt = Date.now();
        const served = await eventually('an allowed check after Redis resumed', async () =>
          load.answers.find((a) => a.sentAt >= resumedAt && a.status === 200),
        );
        await load.stop();
        await ready.stop();

        const hung = load.answers.filter((a) => a.sentAt > pausedAt && a.sentAt < resumedAt);
        expect(hung.filter((a) => a.status === 'error')).toEqual([]);
        // Each of these waited for the command timeout, and none for much longer.
        expect(Math.max(...hung.map((a) => a.ms))).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
        expect(ready.statuses.filter((s) => s !== 200)).toEqual([]);
        expect(served.sentAt - resumedAt).toBeLessThan(3_000);
      } finally {
        redis.resume();
        await load.stop();
        await ready.stop();
      }
    },
  );
});

describe('an IdP whose JWKS endpoint is down', () => {
  let issuer: TestIssuer;
  let jwksServer: Server;
  let up = false;
  let t: TestSidecar;

  beforeAll(async () => {
    issuer = await createTestIssuer('https://flaky-idp.test');
    jwksServer = createServer((_req, res) => {
      if (!up) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        jwt: {
          providers: [
            { name: 'flaky', issuer: issuer.issuer, audiences: [issuer.audience], algorithms: ['ES256'], jwksUri },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    jwksServer?.close();
  });

  it('stays ready and names the provider in /readyz and the refresh gauge until its keys load', async () => {
    const { status, body } = await readyBody(t.adminUrl);
    expect(status).toBe(200);
    expect(body['jwks']['flaky']).toMatchObject({ origin: 'remote', keys: 0, ageSeconds: null, up: false });
    expect(body['degraded'].join('\n')).toMatch(/^jwks flaky: no keys loaded/m);
    expect(await metric(t.adminUrl, /^portcullis_jwks_last_refresh_timestamp_seconds\{provider="flaky"\} (\S+)/m)).toBe(
      0,
    );
    const request = checkRequest({ headers: { authorization: `Bearer ${await issuer.sign({ sub: 'ann' })}` } });
    expect(httpStatus(await t.client.check(request))).toBe(503);

    up = true;
    // A check for the provider refetches its keys (at most once a second while none are loaded).
    await eventually('a verified check once the IdP answers', async () =>
      httpStatus(await t.client.check(request)) === 200 ? true : undefined,
    );
    const after = await readyBody(t.adminUrl);
    expect(after.body['jwks']['flaky']).toMatchObject({ keys: 1, consecutiveFailures: 0, up: true });
    expect(after.body['degraded']).toEqual([]);
    const refreshed = await metric(
      t.adminUrl,
      /^portcullis_jwks_last_refresh_timestamp_seconds\{provider="flaky"\} (\S+)/m,
    );
    expect(refreshed).toBeGreaterThan(Date.now() / 1000 - 60);
  });
});
