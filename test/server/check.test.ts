// The check pipeline through the real gRPC server, real identity stage (static JWKS file) and the real
// in-process store; the policy is a plain function here (Rego policies are covered in test/e2e).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, makeTempDir, type TestSidecar } from '../helpers/sidecar.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';
import { checkRequest, headerMap } from '../helpers/checkClient.js';
import type { PolicyInput } from '../../src/input/buildInput.js';

describe('check pipeline', () => {
  let t: TestSidecar;
  let issuer: TestIssuer;
  const seen: PolicyInput[] = [];
  beforeAll(async () => {
    issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    t = await startTestSidecar({
      config: {
        jwt: {
          providers: [issuer.provider(jwksFile, { forwardClaims: { 'x-user-id': 'sub', 'x-tenant': 'tenant' } })],
        },
        rateLimits: [
          { name: 'per-user', key: ['jwt.sub'], limit: 2, periodSeconds: 60, when: { pathPrefix: '/limited' } },
        ],
        decisionLog: { includeInput: true },
      },
      options: {
        loadPolicy: functionPolicy((input) => {
          seen.push(input);
          if (input.parsed_path[0] === 'throw') throw new Error('a stage broke its contract');
          return { allowed: input.parsed_path[0] !== 'deny', headers: { 'x-user-id': 'from-policy-too' } };
        }),
      },
    });
  });
  afterAll(async () => t?.close());

  const bearer = async (sub: string, extra: Record<string, unknown> = {}) => ({
    authorization: `Bearer ${await issuer.sign({ sub, jti: `j-${sub}`, ...extra })}`,
  });
  const header = (h: { header: { key: string; value: string } }[] | undefined, name: string) =>
    h?.find((x) => x.header.key === name)?.header.value;

  it('logs at start-up that the in-process store runs and what that means', () => {
    expect(t.logs.find((l) => l['store'] === 'memory')?.['msg']).toContain('the denylist are per-instance');
  });

  it('answers 401 with a bare Bearer challenge when the token is missing', async () => {
    const res = await t.client.check(checkRequest({ path: '/x' }));
    expect(res.status?.code).toBe(16);
    expect(res.deniedResponse?.status?.code).toBe(401);
    expect(header(res.deniedResponse?.headers, 'www-authenticate')).toBe('Bearer realm="portcullis"');
    expect(JSON.parse(res.deniedResponse?.body ?? '{}')).toMatchObject({ error: 'missing token' });
  });

  it('answers 401 invalid_token for a token signed by someone else, before the policy runs', async () => {
    const stranger = await createTestIssuer(issuer.issuer);
    const token = await stranger.sign({ sub: 'mallory' });
    const before = seen.length;
    const res = await t.client.check(checkRequest({ headers: { authorization: `Bearer ${token}` } }));
    expect(res.deniedResponse?.status?.code).toBe(401);
    expect(header(res.deniedResponse?.headers, 'www-authenticate')).toMatch(
      /^Bearer realm="portcullis", error="invalid_token", error_description="/,
    );
    expect(seen.length).toBe(before);
  });

  it('gives the policy input.identity of the verified token', async () => {
    await t.client.check(checkRequest({ path: '/me', headers: await bearer('alice') }));
    const input = seen[seen.length - 1];
    expect(input?.identity).toMatchObject({ provider: 'test', subject: 'alice', token_id: 'j-alice' });
    expect(input?.identity?.claims['iss']).toBe(issuer.issuer);
  });

  it('forwards claims as headers with append false, followed by the policy headers', async () => {
    const res = await t.client.check(checkRequest({ headers: await bearer('alice') }));
    const headers = res.okResponse?.headers ?? [];
    expect(headers[0]).toMatchObject({
      header: { key: 'x-user-id', value: 'alice' },
      append: { value: false },
      appendAction: 2,
    });
    expect(headers.map((h) => h.header.key)).toEqual(['x-user-id', 'x-user-id']);
  });

  it('removes a forwarded-claim header the token does not set, so a client cannot forge it', async () => {
    const res = await t.client.check(checkRequest({ headers: { ...(await bearer('alice')), 'x-tenant': 'forged' } }));
    expect(res.okResponse?.headersToRemove).toContain('x-tenant');
    expect(res.okResponse?.headersToRemove ?? []).not.toContain('x-user-id');
    const withTenant = await t.client.check(
      checkRequest({ headers: { ...(await bearer('bob', { tenant: 't1' })), 'x-tenant': 'forged' } }),
    );
    expect(headerMap(withTenant.okResponse?.headers)['x-tenant']).toBe('t1');
    expect(withTenant.okResponse?.headersToRemove ?? []).not.toContain('x-tenant');
  });

  it('limits with 429, retry-after and the IETF ratelimit headers; allowed checks carry ratelimit headers', async () => {
    const auth = await bearer('dave');
    const first = await t.client.check(checkRequest({ path: '/limited/a', headers: auth }));
    expect(first.status?.code).toBe(0);
    expect(headerMap(first.okResponse?.responseHeadersToAdd)['ratelimit-policy']).toBe('"per-user";q=2;w=60');
    await t.client.check(checkRequest({ path: '/limited/a', headers: auth }));
    const third = await t.client.check(checkRequest({ path: '/limited/a', headers: auth }));
    expect(third.status?.code).toBe(8);
    expect(third.deniedResponse?.status?.code).toBe(429);
    const headers = headerMap(third.deniedResponse?.headers);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
    expect(headers['ratelimit']).toMatch(/^"per-user";r=0;t=\d+$/);
  });

  it('answers an empty CheckRequest (no attributes at all) instead of failing the call', async () => {
    const res = await t.client.check({});
    expect(res.deniedResponse?.status?.code).toBe(401);
  });

  it('answers 503 UNAVAILABLE, not a gRPC error, when a stage throws unexpectedly', async () => {
    const res = await t.client.check(checkRequest({ path: '/throw', headers: await bearer('erin') }));
    expect(res.status?.code).toBe(14);
    expect(res.deniedResponse?.status?.code).toBe(503);
  });

  it('logs one decision line per check with id, result, status, reason, method, path, subject, revision, duration', async () => {
    const res = await t.client.check(
      checkRequest({ method: 'DELETE', path: '/deny/7?x=1', headers: await bearer('frank') }),
    );
    const id = res.dynamicMetadata?.fields?.['decision_id']?.stringValue;
    const line = t.logs.find((l) => l['decision_id'] === id);
    expect(line).toMatchObject({
      result: 'denied',
      status: 403,
      reason: 'policy_denied',
      method: 'DELETE',
      path: '/deny/7',
      subject: 'frank',
      revision: 'test-1',
    });
    expect(typeof line?.['duration_ms']).toBe('number');
  });

  it('never writes the token, the authorization header or cookies to the log, even with includeInput', async () => {
    const auth = await bearer('grace');
    const token = auth.authorization.slice('Bearer '.length);
    await t.client.check(
      checkRequest({ path: `/x?access_token=${token}`, headers: { ...auth, cookie: 'session=sekrit-cookie' } }),
    );
    const text = JSON.stringify(t.logs);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain('sekrit-cookie');
    const last = t.logs.filter((l) => l['log'] === 'decision').at(-1);
    expect(last?.['input']).toBeDefined();
  });
});

describe('check pipeline when the IdP cannot be reached', () => {
  let t: TestSidecar;
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer('https://down.test');
    t = await startTestSidecar({
      config: {
        jwt: {
          providers: [
            { name: 'down', issuer: issuer.issuer, algorithms: ['ES256'], jwksUri: 'http://127.0.0.1:1/jwks' },
          ],
        },
      },
      options: { loadPolicy: functionPolicy(() => true) },
    });
  });
  afterAll(async () => t?.close());

  it('answers 503 UNAVAILABLE (not 401) for a token whose keys cannot be fetched', async () => {
    const token = await issuer.sign({ sub: 'u' });
    const res = await t.client.check(checkRequest({ headers: { authorization: `Bearer ${token}` } }));
    expect(res.status?.code).toBe(14);
    expect(res.deniedResponse?.status?.code).toBe(503);
    const line = t.logs.find((l) => l['decision_id'] === res.dynamicMetadata?.fields?.['decision_id']?.stringValue);
    expect(line?.['reason']).toBe('identity_unavailable');
  });
});
