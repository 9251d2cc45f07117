import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';
import { checkRequest } from '../helpers/checkClient.js';
import { makeTempDir } from '../helpers/sidecar.js';

const ADMIN_TOKEN = 'admin-secret-token';

describe('admin HTTP', () => {
  let t: TestSidecar;
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    t = await startTestSidecar({
      config: { admin: { token: ADMIN_TOKEN }, jwt: { providers: [issuer.provider(jwksFile)] } },
      options: { loadPolicy: functionPolicy(() => true, 'rev-abc') },
    });
  });
  afterAll(async () => t?.close());

  const post = (body: unknown, token?: string) =>
    fetch(`${t.adminUrl}/v1/denylist`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });

  it('GET /healthz answers 200', async () => {
    const res = await fetch(`${t.adminUrl}/healthz`);
    expect(res.status).toBe(200);
  });

  it('GET /readyz answers 200 once the policy is loaded, with the state of each dependency in the body', async () => {
    const res = await fetch(`${t.adminUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      ready: true,
      draining: false,
      policy: { loaded: true, revision: 'rev-abc' },
      store: { kind: 'memory', up: true, onError: null },
      jwks: {},
      degraded: [],
    });
  });

  it('GET /v1/policy shows the revision, load time and entrypoints', async () => {
    const body = (await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as Record<string, unknown>;
    expect(body['revision']).toBe('rev-abc');
    expect(body['entrypoints']).toEqual(['envoy/authz/allow']);
    expect(Number.isNaN(Date.parse(String(body['loaded_at'])))).toBe(false);
  });

  it('GET /metrics exposes the portcullis_ metrics the README lists', async () => {
    await t.client.check(checkRequest({ path: '/' }));
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    for (const name of [
      'portcullis_checks_total',
      'portcullis_check_duration_seconds',
      'portcullis_policy_eval_duration_seconds',
      'portcullis_jwt_verifications_total',
      'portcullis_ratelimit_decisions_total',
      'portcullis_store_errors_total',
      'portcullis_policy_reloads_total',
      'portcullis_policy_info',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('portcullis_policy_info{revision="rev-abc"} 1');
    expect(text).toMatch(/portcullis_checks_total\{result="denied",reason="missing_token"\} [1-9]/);
  });

  it('POST /v1/denylist answers 401 without the admin token', async () => {
    const res = await post({ sub: 'alice' });
    expect(res.status).toBe(401);
  });

  it('POST /v1/denylist answers 401 with a wrong admin token', async () => {
    expect((await post({ sub: 'alice' }, 'admin-secret-tokem')).status).toBe(401);
  });

  it('POST /v1/denylist answers 400 for a body that is neither shape', async () => {
    expect((await post({ jti: 'x' }, ADMIN_TOKEN)).status).toBe(400);
    expect((await post({ jti: 'x', exp: 0 }, ADMIN_TOKEN)).status).toBe(400);
    expect((await post({ sub: 'x', before: 1.5 }, ADMIN_TOKEN)).status).toBe(400);
  });

  it('POST /v1/denylist revokes a jti through the store, so its token is refused with 401 token revoked', async () => {
    const token = await issuer.sign({ sub: 'bob', jti: 'jti-1' });
    const authorization = { authorization: `Bearer ${token}` };
    expect((await t.client.check(checkRequest({ headers: authorization }))).status?.code).toBe(0);
    const res = await post({ jti: 'jti-1', exp: Math.floor(Date.now() / 1000) + 600 }, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    const after = await t.client.check(checkRequest({ headers: authorization }));
    expect(after.deniedResponse?.status?.code).toBe(401);
    const challenge = after.deniedResponse?.headers?.find((h) => h.header.key === 'www-authenticate')?.header.value;
    expect(challenge).toContain('error_description="token revoked"');
  });

  it('POST /v1/denylist revokes a subject for tokens issued before the given time', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await issuer.sign({ sub: 'carol', iat: now - 100 });
    expect((await post({ sub: 'carol', before: now - 50 }, ADMIN_TOKEN)).status).toBe(200);
    const fresh = await issuer.sign({ sub: 'carol', iat: now });
    expect(
      (await t.client.check(checkRequest({ headers: { authorization: `Bearer ${old}` } }))).deniedResponse?.status
        ?.code,
    ).toBe(401);
    expect((await t.client.check(checkRequest({ headers: { authorization: `Bearer ${fresh}` } }))).status?.code).toBe(
      0,
    );
  });

  it('answers 404 for unknown paths and 405 for wrong methods', async () => {
    expect((await fetch(`${t.adminUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${t.adminUrl}/v1/denylist`, { method: 'PUT' })).status).toBe(405);
  });
});

describe('admin HTTP without admin.token', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({ options: { loadPolicy: functionPolicy(() => true) } });
  });
  afterAll(async () => t?.close());

  it('refuses POST /v1/denylist with 403 (disabled), even with some bearer token', async () => {
    const res = await fetch(`${t.adminUrl}/v1/denylist`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything', 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'x' }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toContain('admin.token');
  });
});
