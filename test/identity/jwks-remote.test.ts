import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRemoteJwksOptions, maxAgeFromCacheControl, retryDelayMs } from '../../src/identity/jwks-remote.js';
import type { IdentityStageWithStatus } from '../../src/identity/index.js';
import {
  bearerRequest,
  closedPortUrl,
  eventually,
  jwksOf,
  makeKey,
  signToken,
  stageFor,
  startJwksServer,
  testDeps,
} from './helpers.js';
import type { JwksServer, TestKey } from './helpers.js';

const ISSUER = 'https://id.example.com';
let server: JwksServer;
let stage: IdentityStageWithStatus | null = null;
let oldKey: TestKey;
let newKey: TestKey;

beforeEach(async () => {
  oldKey = await makeKey('RS256', 'old');
  newKey = await makeKey('RS256', 'new');
  server = await startJwksServer(jwksOf(oldKey));
});
afterEach(async () => {
  await stage?.close();
  stage = null;
  await server.close();
});

function config(jwksUri: string = server.url): unknown {
  return { providers: [{ name: 'corp', issuer: ISSUER, algorithms: ['RS256'], jwksUri }] };
}
const tokenOf = (key: TestKey, sub = 'alice'): Promise<string> => signToken(key, { iss: ISSUER, sub });

describe('key rotation', () => {
  it('picks up a new kid by refetching, and rejects the retired key afterwards even for a cached token', async () => {
    stage = await stageFor(config(), testDeps());
    const oldToken = await tokenOf(oldKey);
    expect((await stage.verify(bearerRequest(oldToken))).kind).toBe('verified');

    server.jwks = jwksOf(newKey);
    expect(await stage.verify(bearerRequest(await tokenOf(newKey, 'bob')))).toMatchObject({
      kind: 'verified',
      identity: { subject: 'bob' },
    });
    expect(server.requests).toBe(2);
    expect(await stage.verify(bearerRequest(oldToken))).toMatchObject({ kind: 'rejected', failure: 'no_matching_key' });
  });

  it('keeps verifying old tokens while both keys are published', async () => {
    stage = await stageFor(config(), testDeps());
    server.jwks = jwksOf(oldKey, newKey);
    expect((await stage.verify(bearerRequest(await tokenOf(newKey)))).kind).toBe('verified');
    expect((await stage.verify(bearerRequest(await tokenOf(oldKey)))).kind).toBe('verified');
  });

  it('verifies a token without kid by trying each key of a matching type', async () => {
    server.jwks = jwksOf(oldKey, newKey);
    stage = await stageFor(config(), testDeps(), { refetchCooldownMs: 60_000 });
    const stranger = await makeKey('RS256', 'stranger');
    const noKid = await signToken(newKey, { iss: ISSUER, sub: 'nokid' }, { kid: undefined });
    expect(await stage.verify(bearerRequest(noKid))).toMatchObject({
      kind: 'verified',
      identity: { subject: 'nokid' },
    });
    const foreignNoKid = await signToken(stranger, { iss: ISSUER, sub: 'x' }, { kid: undefined });
    expect(await stage.verify(bearerRequest(foreignNoKid))).toMatchObject({ kind: 'rejected', failure: 'signature' });
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    stage = await stageFor(config(), testDeps(), { refetchCooldownMs: 60_000 });
    const stranger = await makeKey('RS256', 'stranger');
    for (let i = 0; i < 5; i++) {
      expect(await stage.verify(bearerRequest(await tokenOf(stranger, `s${i}`)))).toMatchObject({
        failure: 'no_matching_key',
      });
    }
    // The start-up fetch, and nothing more: the cooldown counts from the last fetch.
    expect(server.requests).toBe(1);
  });

  it('collapses concurrent refetches into one request', async () => {
    stage = await stageFor(config(), testDeps());
    server.jwks = jwksOf(oldKey, newKey);
    server.delayMs = 100;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenOf(newKey, `u${i}`)));
    const outcomes = await Promise.all(tokens.map((token) => stage!.verify(bearerRequest(token))));
    expect(outcomes.every((outcome) => outcome.kind === 'verified')).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('refreshes in the background before the key set ages out', async () => {
    server.cacheControl = 'public, max-age=1';
    stage = await stageFor(config(), testDeps(), { minMaxAgeMs: 100, refreshAtFraction: 0.2 });
    server.jwks = jwksOf(newKey);
    await eventually(() => server.requests >= 2, 'a background refresh');
    await eventually(
      () => stage!.jwksStatus()['corp']!.fetches >= 2 && stage!.jwksStatus()['corp']!.consecutiveFailures === 0,
      'the refresh to finish',
    );
    // With the IdP now failing, the new key can only be known from the background refresh.
    server.status = 500;
    expect((await stage.verify(bearerRequest(await tokenOf(newKey)))).kind).toBe('verified');
  });
});

describe('identity provider down', () => {
  it('serves the last good keys when refetches fail, and counts the failures', async () => {
    const counted = testDeps();
    stage = await stageFor(config(), counted);
    server.status = 500;
    const stranger = await makeKey('RS256', 'stranger');
    // An unknown kid forces a refetch, which fails.
    expect(await stage.verify(bearerRequest(await tokenOf(stranger)))).toMatchObject({ failure: 'no_matching_key' });
    expect(stage.jwksStatus()['corp']).toMatchObject({ keys: 1, failures: 1, consecutiveFailures: 1 });
    expect((await stage.verify(bearerRequest(await tokenOf(oldKey)))).kind).toBe('verified');
    expect(counted.log.text()).toContain('serving the last good keys');
  });

  it('keeps the last good keys when the IdP starts serving garbage', async () => {
    stage = await stageFor(config(), testDeps());
    server.jwks = { not: 'a key set' };
    const stranger = await makeKey('RS256', 'stranger');
    await stage.verify(bearerRequest(await tokenOf(stranger)));
    expect(stage.jwksStatus()['corp']).toMatchObject({ keys: 1, consecutiveFailures: 1 });
    expect((await stage.verify(bearerRequest(await tokenOf(oldKey)))).kind).toBe('verified');
  });

  it('answers unavailable (503), not rejected, when the IdP is unreachable and no keys were ever fetched', async () => {
    const counted = testDeps();
    stage = await stageFor(config(await closedPortUrl()), counted);
    expect(await stage.verify(bearerRequest(await tokenOf(oldKey)))).toEqual({
      kind: 'unavailable',
      description: 'identity provider keys unavailable',
      provider: 'corp',
    });
    expect(counted.counts.get('corp/unavailable')).toBe(1);
  });

  it('answers unavailable when the IdP times out and no keys were ever fetched', async () => {
    server.hang = true;
    stage = await stageFor(config(), testDeps(), { fetchTimeoutMs: 150 });
    expect(await stage.verify(bearerRequest(await tokenOf(oldKey)))).toMatchObject({
      kind: 'unavailable',
      provider: 'corp',
    });
    expect(stage.jwksStatus()['corp']).toMatchObject({ keys: 0 });
  });

  it('recovers once the IdP answers again', async () => {
    server.status = 503;
    stage = await stageFor(config(), testDeps());
    expect((await stage.verify(bearerRequest(await tokenOf(oldKey)))).kind).toBe('unavailable');
    server.status = 200;
    expect((await stage.verify(bearerRequest(await tokenOf(oldKey)))).kind).toBe('verified');
  });

  it('refuses a key set larger than the body limit rather than buffering it', async () => {
    stage = await stageFor(config(), testDeps(), { maxBodyBytes: 64 });
    expect(stage.jwksStatus()['corp']).toMatchObject({ keys: 0, failures: 1 });
    expect((await stage.verify(bearerRequest(await tokenOf(oldKey)))).kind).toBe('unavailable');
  });

  it('starts even when the IdP is down at start-up', async () => {
    stage = await stageFor(config(await closedPortUrl()), testDeps());
    expect(stage.jwksStatus()['corp']).toMatchObject({ keys: 0, failures: 1 });
  });
});

describe('freshness arithmetic', () => {
  const options = {
    ...defaultRemoteJwksOptions,
    minMaxAgeMs: 30_000,
    maxMaxAgeMs: 86_400_000,
    defaultMaxAgeMs: 300_000,
  };

  it('takes max-age from Cache-Control, bounded', () => {
    expect(maxAgeFromCacheControl('public, max-age=600', options)).toBe(600_000);
    expect(maxAgeFromCacheControl('max-age=0', options)).toBe(30_000);
    expect(maxAgeFromCacheControl('max-age=99999999', options)).toBe(86_400_000);
    expect(maxAgeFromCacheControl(null, options)).toBe(300_000);
    expect(maxAgeFromCacheControl('s-maxage=10', options)).toBe(300_000);
  });

  it('backs off retries after consecutive failures, capped', () => {
    const delays = [1, 2, 3, 10, 40].map((n) =>
      retryDelayMs(n, { ...options, emptyRetryMs: 1_000, refetchCooldownMs: 30_000 }),
    );
    expect(delays).toEqual([1_000, 2_000, 4_000, 30_000, 30_000]);
  });
});
