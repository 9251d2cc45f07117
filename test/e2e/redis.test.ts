// Two sidecars on one real redis-server share rate-limit budgets and revocations; when Redis stops,
// redis.onError decides (deny: 503 UNAVAILABLE; allow: checks go on); /readyz stays 200 either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, makeTempDir, type TestSidecar } from '../helpers/sidecar.js';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;

describe('sidecars sharing one Redis', () => {
  let redis: RedisServer;
  let issuer: TestIssuer;
  let a: TestSidecar;
  let b: TestSidecar;
  let failOpen: TestSidecar;

  beforeAll(async () => {
    redis = await startRedisServer();
    issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    const config = (onError: 'deny' | 'allow') => ({
      admin: { token: 'adm' },
      redis: { url: redis.url, keyPrefix: 'e2e:', commandTimeoutMs: 200, onError },
      jwt: { providers: [issuer.provider(jwksFile)] },
      rateLimits: [{ name: 'shared', key: ['jwt.sub'], limit: 3, periodSeconds: 60 }],
    });
    [a, b, failOpen] = await Promise.all([
      startTestSidecar({ files: { 'policies/authz.rego': ALLOW_ALL }, config: config('deny') }),
      startTestSidecar({ files: { 'policies/authz.rego': ALLOW_ALL }, config: config('deny') }),
      startTestSidecar({ files: { 'policies/authz.rego': ALLOW_ALL }, config: config('allow') }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), failOpen?.close()]);
    await redis?.dispose();
  });

  const auth = async (sub: string, jti = `${sub}-jti`) => ({
    authorization: `Bearer ${await issuer.sign({ sub, jti })}`,
  });

  it('logs that the Redis store runs', () => {
    expect(a.logs.find((l) => l['msg'] === 'redis store')).toMatchObject({ store: 'redis', shape: 'standalone' });
  });

  it('counts one rate-limit budget across both sidecars', async () => {
    const headers = await auth('shared-user');
    const answers = [];
    for (const sidecar of [a, b, a, b]) answers.push(status(await sidecar.client.check(checkRequest({ headers }))));
    expect(answers).toEqual([200, 200, 200, 429]);
  });

  it('applies a revocation written through one sidecar on the other', async () => {
    const headers = await auth('rev-user', 'rev-jti');
    expect(status(await b.client.check(checkRequest({ headers })))).toBe(200);
    const res = await fetch(`${a.adminUrl}/v1/denylist`, {
      method: 'POST',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ jti: 'rev-jti', exp: Math.floor(Date.now() / 1000) + 600 }),
    });
    expect(res.status).toBe(200);
    expect(status(await b.client.check(checkRequest({ headers })))).toBe(401);
  });

  it('with Redis down: onError deny answers 503 UNAVAILABLE, onError allow lets checks through, both stay ready', async () => {
    const headers = await auth('outage-user');
    await redis.stop();
    try {
      const denied = await a.client.check(checkRequest({ headers }));
      expect(denied.status?.code).toBe(14);
      expect(status(denied)).toBe(503);
      // Unready would take every pod with a sidecar out of its Services; onError already decided the checks.
      expect((await fetch(`${a.adminUrl}/readyz`)).status).toBe(200);
      expect(status(await failOpen.client.check(checkRequest({ headers })))).toBe(200);
      expect((await fetch(`${failOpen.adminUrl}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${a.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/portcullis_store_errors_total [1-9]/);
      expect(metrics).toMatch(/portcullis_checks_total\{result="unavailable",reason="store_unavailable"\} [1-9]/);
    } finally {
      await redis.start();
    }
  });
});
