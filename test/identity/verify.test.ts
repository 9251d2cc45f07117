import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderConfigError, JwksInvalidError } from '../../src/identity/index.js';
import type { IdentityStageWithStatus } from '../../src/identity/index.js';
import {
  bearerRequest,
  jwksOf,
  makeKey,
  nowSeconds,
  request,
  signManually,
  signToken,
  stageFor,
  startJwksServer,
  testDeps,
} from './helpers.js';
import type { JwksServer, TestKey } from './helpers.js';

const ISSUER = 'https://id.example.com';
let server: JwksServer;
let stage: IdentityStageWithStatus | null = null;

beforeEach(async () => {
  server = await startJwksServer({ keys: [] });
});
afterEach(async () => {
  await stage?.close();
  stage = null;
  await server.close();
});

function provider(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'corp',
    issuer: ISSUER,
    audiences: ['orders-api'],
    algorithms: ['RS256'],
    jwksUri: server.url,
    ...overrides,
  };
}

describe.each(['RS256', 'PS256', 'ES256', 'EdDSA'])('a %s token from the JWKS', (alg) => {
  it('is verified and yields the identity, its times and forwarded claims', async () => {
    const key = await makeKey(alg, `${alg}-1`);
    server.jwks = jwksOf(key);
    const counted = testDeps();
    stage = await stageFor(
      { providers: [provider({ algorithms: [alg], forwardClaims: { 'x-user-id': 'sub', 'x-tenant': 'tid' } })] },
      counted,
    );
    const exp = nowSeconds() + 120;
    const iat = nowSeconds() - 10;
    const token = await signToken(key, {
      iss: ISSUER,
      aud: 'orders-api',
      sub: 'alice',
      jti: 'tok-1',
      tid: 'acme',
      exp,
      iat,
    });
    const outcome = await stage.verify(bearerRequest(token));
    expect(outcome).toEqual({
      kind: 'verified',
      identity: {
        provider: 'corp',
        subject: 'alice',
        token_id: 'tok-1',
        claims: { iss: ISSUER, aud: 'orders-api', sub: 'alice', jti: 'tok-1', tid: 'acme', exp, iat },
      },
      issuedAt: iat,
      expiresAt: exp,
      forwardHeaders: { 'x-user-id': 'alice', 'x-tenant': 'acme' },
    });
    expect(counted.counts.get('corp/valid')).toBe(1);
  });
});

describe('claims checks', () => {
  let key: TestKey;
  beforeEach(async () => {
    key = await makeKey('ES256', 'k1');
    server.jwks = jwksOf(key);
  });

  async function outcomeOf(
    claims: Record<string, unknown>,
    providerOverrides: Record<string, unknown> = {},
    header = {},
  ) {
    stage = await stageFor({ providers: [provider({ algorithms: ['ES256'], ...providerOverrides })] }, testDeps());
    return stage.verify(
      bearerRequest(await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice', ...claims }, header)),
    );
  }

  it('accepts a token expired less than the clock skew ago', async () => {
    expect((await outcomeOf({ exp: nowSeconds() - 10 }, { clockSkewSeconds: 30 })).kind).toBe('verified');
  });

  it('rejects a token expired longer than the clock skew ago', async () => {
    expect(await outcomeOf({ exp: nowSeconds() - 40 }, { clockSkewSeconds: 30 })).toMatchObject({
      kind: 'rejected',
      failure: 'expired',
    });
  });

  it('accepts nbf within the skew and rejects it beyond', async () => {
    expect((await outcomeOf({ nbf: nowSeconds() + 10 }, { clockSkewSeconds: 30 })).kind).toBe('verified');
    await stage?.close();
    expect(await outcomeOf({ nbf: nowSeconds() + 60 }, { clockSkewSeconds: 30 })).toMatchObject({
      failure: 'not_yet_valid',
    });
  });

  it('rejects an iat in the future beyond the skew', async () => {
    expect(await outcomeOf({ iat: nowSeconds() + 120 }, { clockSkewSeconds: 30 })).toMatchObject({
      kind: 'rejected',
      failure: 'not_yet_valid',
      description: 'token issued in the future',
    });
  });

  it('accepts any of the configured audiences, in a string or an array aud', async () => {
    expect((await outcomeOf({ aud: ['other', 'billing'] }, { audiences: ['orders-api', 'billing'] })).kind).toBe(
      'verified',
    );
  });

  it('skips the audience check when no audiences are configured', async () => {
    expect((await outcomeOf({ aud: 'anything' }, { audiences: undefined })).kind).toBe('verified');
  });

  it('checks typ when configured', async () => {
    expect((await outcomeOf({}, { typ: 'at+jwt' }, { typ: 'at+jwt' })).kind).toBe('verified');
    await stage?.close();
    expect(await outcomeOf({}, { typ: 'at+jwt' }, { typ: 'JWT' })).toMatchObject({
      kind: 'rejected',
      failure: 'claims',
    });
  });

  it('rejects a non-string sub', async () => {
    expect(await outcomeOf({ sub: 42 })).toMatchObject({ kind: 'rejected', failure: 'claims' });
  });

  it('rejects a critical header parameter it does not understand, as jose does', async () => {
    stage = await stageFor({ providers: [provider({ algorithms: ['ES256'] })] }, testDeps());
    const token = await signManually(
      key,
      JSON.stringify({
        alg: 'ES256',
        kid: 'k1',
        crit: ['urn:example:must-understand'],
        'urn:example:must-understand': 1,
      }),
      JSON.stringify({ iss: ISSUER, aud: 'orders-api', sub: 'alice', exp: nowSeconds() + 60 }),
    );
    expect(await stage.verify(bearerRequest(token))).toMatchObject({ kind: 'rejected', failure: 'malformed' });
  });

  it('accepts the same hand-signed token without the crit parameter (the signer is sound)', async () => {
    stage = await stageFor({ providers: [provider({ algorithms: ['ES256'] })] }, testDeps());
    const token = await signManually(
      key,
      JSON.stringify({ alg: 'ES256', kid: 'k1' }),
      JSON.stringify({ iss: ISSUER, aud: 'orders-api', sub: 'alice', exp: nowSeconds() + 60 }),
    );
    expect((await stage.verify(bearerRequest(token))).kind).toBe('verified');
  });

  it('reports subject and token_id as null when the token has neither', async () => {
    const outcome = await outcomeOf({ sub: undefined });
    expect(outcome).toMatchObject({ kind: 'verified', identity: { subject: null, token_id: null } });
  });
});

describe('forwarded claims and metrics', () => {
  it('derives forwarded headers from verified claims only, whatever the client sent under those names', async () => {
    const key = await makeKey('RS256', 'k1');
    server.jwks = jwksOf(key);
    stage = await stageFor(
      { providers: [provider({ forwardClaims: { 'X-User-Id': 'sub', 'x-tenant': 'tid' } })] },
      testDeps(),
    );
    const token = await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice' });
    const outcome = await stage.verify(bearerRequest(token, { 'x-user-id': 'admin', 'x-tenant': 'victim' }));
    // tid is absent: x-tenant is not set here; the orchestrator removes it (forwardClaimHeaderNames).
    expect(outcome).toMatchObject({ kind: 'verified', forwardHeaders: { 'x-user-id': 'alice' } });
    if (outcome.kind === 'verified') expect(Object.keys(outcome.forwardHeaders)).toEqual(['x-user-id']);
  });

  it('counts verifications by provider and result, with "unknown" before a provider is known', async () => {
    const key = await makeKey('RS256', 'k1');
    server.jwks = jwksOf(key);
    const counted = testDeps();
    stage = await stageFor({ providers: [provider()] }, counted);
    await stage.verify(bearerRequest(await signToken(key, { iss: ISSUER, aud: 'orders-api' })));
    await stage.verify(bearerRequest(await signToken(key, { iss: ISSUER, aud: 'other' })));
    await stage.verify(bearerRequest('a.b'));
    await stage.verify(bearerRequest(await signToken(key, { iss: 'https://elsewhere', aud: 'orders-api' })));
    expect(Object.fromEntries(counted.counts)).toEqual({
      'corp/valid': 1,
      'corp/audience': 1,
      'unknown/malformed': 1,
      'unknown/unknown_issuer': 1,
    });
  });
});

describe('missing and anonymous', () => {
  it('rejects a request without a token as missing when jwt.required', async () => {
    stage = await stageFor({ providers: [provider()] }, testDeps());
    expect(await stage.verify(request({}))).toEqual({
      kind: 'rejected',
      failure: 'missing',
      description: 'bearer token missing',
      provider: null,
    });
  });

  it('lets a request without a token through as anonymous when jwt.required is false', async () => {
    stage = await stageFor({ required: false, providers: [provider()] }, testDeps());
    expect(await stage.verify(request({}))).toEqual({ kind: 'anonymous' });
  });

  it('still rejects a bad token when jwt.required is false', async () => {
    stage = await stageFor({ required: false, providers: [provider()] }, testDeps());
    expect(await stage.verify(bearerRequest('not-a-jwt'))).toMatchObject({ kind: 'rejected', failure: 'malformed' });
  });

  it('treats a request as anonymous when no provider is configured and none is required', async () => {
    stage = await stageFor({}, testDeps());
    expect(await stage.verify(bearerRequest('whatever'))).toEqual({ kind: 'anonymous' });
  });
});

describe('several providers', () => {
  let other: JwksServer;
  let corpKey: TestKey;
  let partnerKey: TestKey;
  beforeEach(async () => {
    corpKey = await makeKey('RS256', 'corp-1');
    partnerKey = await makeKey('ES256', 'partner-1');
    server.jwks = jwksOf(corpKey);
    other = await startJwksServer(jwksOf(partnerKey));
  });
  afterEach(async () => {
    await other.close();
  });

  function twoProviders(): unknown {
    return {
      providers: [
        provider({ forwardClaims: { 'x-user-id': 'sub' } }),
        {
          name: 'partner',
          issuer: 'https://partner.example.com',
          algorithms: ['ES256'],
          jwksUri: other.url,
          from: [{ cookie: 'partner_session' }],
          forwardClaims: { 'x-partner': 'sub' },
        },
      ],
    };
  }

  it('picks the provider by iss and verifies with that provider\u2019s keys only', async () => {
    stage = await stageFor(twoProviders(), testDeps());
    const corp = await stage.verify(
      bearerRequest(await signToken(corpKey, { iss: ISSUER, aud: 'orders-api', sub: 'alice' })),
    );
    const partner = await stage.verify(
      request({
        cookie: `partner_session=${await signToken(partnerKey, { iss: 'https://partner.example.com', sub: 'bob' })}`,
      }),
    );
    expect(corp).toMatchObject({
      kind: 'verified',
      identity: { provider: 'corp', subject: 'alice' },
      forwardHeaders: { 'x-user-id': 'alice' },
    });
    expect(partner).toMatchObject({
      kind: 'verified',
      identity: { provider: 'partner', subject: 'bob' },
      forwardHeaders: { 'x-partner': 'bob' },
    });
  });

  it('rejects a token whose iss matches no provider as unknown_issuer', async () => {
    stage = await stageFor(twoProviders(), testDeps());
    const token = await signToken(corpKey, { iss: 'https://evil.example.com', aud: 'orders-api' });
    expect(await stage.verify(bearerRequest(token))).toEqual({
      kind: 'rejected',
      failure: 'unknown_issuer',
      description: 'token issuer is not trusted',
      provider: null,
    });
  });

  it('rejects a token without iss as unknown_issuer', async () => {
    stage = await stageFor(twoProviders(), testDeps());
    expect(await stage.verify(bearerRequest(await signToken(corpKey, { aud: 'orders-api' })))).toMatchObject({
      failure: 'unknown_issuer',
    });
  });

  it('refuses a provider\u2019s token taken from a source that provider does not list', async () => {
    stage = await stageFor(twoProviders(), testDeps());
    const partnerToken = await signToken(partnerKey, { iss: 'https://partner.example.com', sub: 'bob' });
    expect(await stage.verify(bearerRequest(partnerToken))).toMatchObject({
      kind: 'rejected',
      failure: 'unknown_issuer',
      description: 'token issuer is not accepted from this token source',
    });
  });

  it('applies the source check to a token already in the verified cache', async () => {
    stage = await stageFor(twoProviders(), testDeps());
    const corpToken = await signToken(corpKey, { iss: ISSUER, aud: 'orders-api', sub: 'alice' });
    expect((await stage.verify(bearerRequest(corpToken))).kind).toBe('verified');
    // corp lists only the authorization header; the cookie belongs to partner.
    expect(await stage.verify(request({ cookie: `partner_session=${corpToken}` }))).toMatchObject({
      kind: 'rejected',
      failure: 'unknown_issuer',
      provider: 'corp',
    });
  });

  it('rejects a malformed token in the first present source even when a later source holds a good one', async () => {
    stage = await stageFor(twoProviders(), testDeps());
    const partnerToken = await signToken(partnerKey, { iss: 'https://partner.example.com', sub: 'bob' });
    const outcome = await stage.verify(
      request({ authorization: 'Bearer garbage', cookie: `partner_session=${partnerToken}` }),
    );
    expect(outcome).toMatchObject({ kind: 'rejected', failure: 'malformed' });
  });
});

describe('jwksFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-jwks-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies with static keys from a file given relative to the cwd', async () => {
    const key = await makeKey('EdDSA', 'file-1');
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify(jwksOf(key)));
    stage = await stageFor(
      { providers: [provider({ jwksUri: undefined, jwksFile: relative(process.cwd(), file), algorithms: ['EdDSA'] })] },
      testDeps(),
    );
    const outcome = await stage.verify(
      bearerRequest(await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'carol' })),
    );
    expect(outcome).toMatchObject({ kind: 'verified', identity: { subject: 'carol' } });
    expect(stage.jwksStatus()['corp']).toMatchObject({ origin: 'file', keys: 1 });
  });

  it('fails start-up naming the file when it is missing', async () => {
    await expect(
      stageFor({ providers: [provider({ jwksUri: undefined, jwksFile: join(dir, 'absent.json') })] }, testDeps()),
    ).rejects.toThrow(JwksInvalidError);
    await expect(
      stageFor({ providers: [provider({ jwksUri: undefined, jwksFile: join(dir, 'absent.json') })] }, testDeps()),
    ).rejects.toThrow(/absent\.json/);
  });

  it('fails start-up when the file is not a key set', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '{"kty":"RSA"}');
    await expect(
      stageFor({ providers: [provider({ jwksUri: undefined, jwksFile: file })] }, testDeps()),
    ).rejects.toMatchObject({
      code: 'JWKS_INVALID',
    });
  });
});

describe('configuration', () => {
  it('refuses HMAC algorithms, which a JWKS cannot serve', async () => {
    await expect(stageFor({ providers: [provider({ algorithms: ['RS256', 'HS256'] })] }, testDeps())).rejects.toThrow(
      ProviderConfigError,
    );
  });
});

describe('verified-token cache', () => {
  let key: TestKey;
  beforeEach(async () => {
    key = await makeKey('RS256', 'k1');
    server.jwks = jwksOf(key);
  });

  it('reuses the verification of a token seen before', async () => {
    stage = await stageFor({ providers: [provider()] }, testDeps());
    const token = await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice' });
    const first = await stage.verify(bearerRequest(token));
    const second = await stage.verify(bearerRequest(token));
    expect(first.kind).toBe('verified');
    expect(second).toBe(first);
  });

  it('verifies again every time when the cache is disabled', async () => {
    stage = await stageFor({ providers: [provider()] }, testDeps(), { verifiedCacheEntries: 0 });
    const token = await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice' });
    const first = await stage.verify(bearerRequest(token));
    const second = await stage.verify(bearerRequest(token));
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  it('does not serve a cached verification past the token\u2019s exp', async () => {
    let clock = Date.now();
    stage = await stageFor({ providers: [provider({ clockSkewSeconds: 0 })] }, testDeps(), { now: () => clock });
    const exp = Math.floor(clock / 1000) + 60;
    const token = await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice', exp });
    expect((await stage.verify(bearerRequest(token))).kind).toBe('verified');
    clock = (exp + 1) * 1000;
    expect(await stage.verify(bearerRequest(token))).toMatchObject({ kind: 'rejected', failure: 'expired' });
  });

  it('does not take a token from a source no provider lists, even one verified before', async () => {
    stage = await stageFor({ providers: [provider()] }, testDeps());
    const token = await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice' });
    expect((await stage.verify(bearerRequest(token))).kind).toBe('verified');
    // Same token, now in a query parameter the provider does not list: not a source at all -> missing.
    expect(await stage.verify(request({}, `/api?access_token=${token}`))).toMatchObject({ failure: 'missing' });
  });

  it('freezes the shared outcome so a consumer cannot change the cached identity', async () => {
    stage = await stageFor({ providers: [provider()] }, testDeps());
    const outcome = await stage.verify(
      bearerRequest(await signToken(key, { iss: ISSUER, aud: 'orders-api', sub: 'alice', roles: ['a'] })),
    );
    if (outcome.kind !== 'verified') throw new Error(`expected verified, got ${outcome.kind}`);
    expect(Object.isFrozen(outcome.identity.claims)).toBe(true);
    expect(Object.isFrozen(outcome.identity.claims['roles'])).toBe(true);
  });
});
