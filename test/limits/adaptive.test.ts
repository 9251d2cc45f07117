// Adaptive protection through the real sidecar: penalties, failed-authentication throttling (answered before
// any signature is verified), per-client limits from a claim's tier, operator overrides (admin API), and
// shadow rules in Check. Shared through Redis across two instances, and in the in-process store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;
const header = (res: CheckResponse, name: string) =>
  [...(res.deniedResponse?.headers ?? []), ...(res.okResponse?.responseHeadersToAdd ?? [])].find(
    (h) => h.header.key === name,
  )?.header.value;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(sidecar: TestSidecar, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) total += Number(line.split(' ').at(-1));
  return total;
}

async function until(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(25);
  }
}

function adminCall(sidecar: TestSidecar, method: string, body?: unknown, token = 'adm') {
  return fetch(`${sidecar.adminUrl}/v1/overrides`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

let counter = 0;
const fresh = (label: string) => `${label}-${Date.now()}-${counter++}`;

describe.each(['redis', 'memory'] as const)('adaptive protection, %s store', (storeKind) => {
  let redis: RedisServer | undefined;
  let issuer: TestIssuer;
  let a: TestSidecar;
  let b: TestSidecar;

  beforeAll(async () => {
    if (storeKind === 'redis') redis = await startRedisServer();
    issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    const config = {
      admin: { token: 'adm' },
      ...(redis ? { redis: { url: redis.url, keyPrefix: 'adaptive:', commandTimeoutMs: 500 } } : {}),
      jwt: { required: false, providers: [issuer.provider(jwksFile)] },
      authFailures: { key: ['source.address'], limit: 3, periodSeconds: 60, blockSeconds: 2 },
      rateLimits: [
        {
          name: 'blocking',
          key: ['header.x-client'],
          limit: 2,
          periodSeconds: 2,
          penalty: { seconds: 3, block: true },
          when: { pathPrefix: '/block' },
        },
        {
          name: 'halving',
          key: ['header.x-client'],
          limit: 4,
          periodSeconds: 3600,
          penalty: { seconds: 3600, limitFactor: 0.5 },
          when: { pathPrefix: '/halve' },
        },
        {
          name: 'tiered',
          key: ['jwt.sub'],
          limit: 1,
          periodSeconds: 3600,
          limitFrom: { claim: 'plan', tiers: { pro: 3 } },
          when: { pathPrefix: '/tier' },
        },
        {
          name: 'per-client',
          key: ['header.x-client'],
          limit: 2,
          periodSeconds: 3600,
          when: { pathPrefix: '/override' },
        },
        {
          name: 'trial',
          key: ['header.x-client'],
          limit: 1,
          periodSeconds: 3600,
          shadow: true,
          when: { pathPrefix: '/shadow' },
        },
      ],
    };
    const files = { 'policies/authz.rego': ALLOW_ALL };
    // The in-process store is per instance: one sidecar plays both parts there.
    a = await startTestSidecar({ files, config });
    b = storeKind === 'redis' ? await startTestSidecar({ files, config }) : a;
  });
  afterAll(async () => {
    await a?.close();
    if (b !== a) await b?.close();
    await redis?.dispose();
  });

  const get = (sidecar: TestSidecar, path: string, headers: Record<string, string> = {}, sourceAddress = '192.0.2.1') =>
    sidecar.client.check(checkRequest({ path, headers, sourceAddress }));

  it('blocks a key that exceeded a rule with penalty.block for the penalty, on every instance, then lets it go', async () => {
    const headers = { 'x-client': fresh('greedy') };
    expect([status(await get(a, '/block', headers)), status(await get(b, '/block', headers))]).toEqual([200, 200]);
    const refused = await get(a, '/block', headers);
    expect(status(refused)).toBe(429);
    expect(Number(header(refused, 'retry-after'))).toBeGreaterThanOrEqual(3);
    // the bucket refills a token per second; the penalty keeps the key out anyway
    await sleep(1500);
    expect(status(await get(b, '/block', headers))).toBe(429);
    await until(async () => status(await get(b, '/block', headers)) === 200, 4000);
    expect(await metric(a, /^portcullis_penalties_total\{rule="blocking"\}/)).toBeGreaterThanOrEqual(1);
  });

  it('holds a key at a fraction of its limit during a limitFactor penalty', async () => {
    const headers = { 'x-client': fresh('halved') };
    for (let i = 0; i < 4; i++) expect(status(await get(a, '/halve', headers))).toBe(200);
    const refused = await get(b, '/halve', headers);
    expect(status(refused)).toBe(429);
    expect(header(await get(a, '/halve', headers), 'ratelimit-policy')).toBe('"halving";q=2;w=3600');
  });

  it('takes the limit from a verified claim through the tier table, the rule limit otherwise', async () => {
    const pro = { authorization: `Bearer ${await issuer.sign({ sub: fresh('pro'), plan: 'pro' })}` };
    const free = { authorization: `Bearer ${await issuer.sign({ sub: fresh('free'), plan: 'free' })}` };
    const proAnswers = [];
    for (let i = 0; i < 4; i++) proAnswers.push(status(await get(i % 2 ? a : b, '/tier', pro)));
    expect(proAnswers).toEqual([200, 200, 200, 429]);
    expect([status(await get(a, '/tier', free)), status(await get(b, '/tier', free))]).toEqual([200, 429]);
  });

  it('applies an operator override on every instance, lists it, and removes it', async () => {
    const client = fresh('vip');
    expect((await adminCall(a, 'POST', { rule: 'per-client', key: [client], limit: 4 })).status).toBe(200);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(status(await get(i % 2 ? a : b, '/override', { 'x-client': client })));
    expect(answers).toEqual([200, 200, 200, 200, 429]);
    const listed = (await (await adminCall(b, 'GET')).json()) as {
      overrides: Array<{ rule: string; key: string[]; limit: number }>;
    };
    expect(listed.overrides).toContainEqual({ rule: 'per-client', key: [client], limit: 4 });
    expect((await adminCall(b, 'DELETE', { rule: 'per-client', key: [client] })).status).toBe(200);
    expect(header(await get(a, '/override', { 'x-client': client }), 'ratelimit-policy')).toBe(
      '"per-client";q=2;w=3600',
    );
    expect((await adminCall(b, 'DELETE', { rule: 'per-client', key: [client] })).status).toBe(404);
  });

  it('lets an override lapse at its until', async () => {
    const client = fresh('brief');
    const until = Math.floor(Date.now() / 1000) + 2;
    expect((await adminCall(a, 'POST', { rule: 'per-client', key: [client], limit: 0, until })).status).toBe(200);
    expect(status(await get(b, '/override', { 'x-client': client }))).toBe(429);
    await sleep((until + 1) * 1000 - Date.now());
    expect(status(await get(b, '/override', { 'x-client': client }))).toBe(200);
    const listed = (await (await adminCall(a, 'GET')).json()) as { overrides: Array<{ key: string[] }> };
    expect(listed.overrides.some((o) => o.key[0] === client)).toBe(false);
  });

  it('guards /v1/overrides with the admin token and refuses overrides for unknown rules or keys', async () => {
    expect((await adminCall(a, 'GET', undefined, 'wrong')).status).toBe(401);
    expect((await adminCall(a, 'POST', { rule: 'nope', key: ['x'], limit: 1 })).status).toBe(400);
    expect((await adminCall(a, 'POST', { rule: 'per-client', key: ['x', 'y'], limit: 1 })).status).toBe(400);
  });

  it('counts a shadow rule refusal as shadow_limited and never refuses', async () => {
    const headers = { 'x-client': fresh('trial') };
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await get(a, '/shadow', headers));
    expect(answers.map(status)).toEqual([200, 200, 200]);
    expect(answers.map((r) => header(r, 'ratelimit-policy'))).toEqual([undefined, undefined, undefined]);
    expect(await metric(a, /^portcullis_ratelimit_decisions_total\{rule="trial",result="shadow_limited"\}/)).toBe(2);
  });

  it('blocks a source after too many invalid tokens, answering 429 before any signature is verified', async () => {
    const source = `198.51.100.${counter++ % 250}`;
    const forged = { authorization: `Bearer ${(await issuer.sign({ sub: 'x' })).slice(0, -4)}AAAA` };
    for (let i = 0; i < 4; i++) expect(status(await get(i % 2 ? a : b, '/', forged, source))).toBe(401);
    await until(async () => status(await get(b, '/', {}, source)) === 429);
    const verificationsBefore =
      (await metric(a, /^portcullis_jwt_verifications_total/)) +
      (b === a ? 0 : await metric(b, /^portcullis_jwt_verifications_total/));
    const valid = { authorization: `Bearer ${await issuer.sign({ sub: 'legit' })}` };
    const blocked = await get(a, '/', valid, source);
    expect(status(blocked)).toBe(429);
    expect(Number(header(blocked, 'retry-after'))).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 5; i++) expect(status(await get(b, '/', forged, source))).toBe(429);
    const verificationsAfter =
      (await metric(a, /^portcullis_jwt_verifications_total/)) +
      (b === a ? 0 : await metric(b, /^portcullis_jwt_verifications_total/));
    expect(verificationsAfter).toBe(verificationsBefore);
    expect(await metric(a, /^portcullis_auth_failures_blocked_total/)).toBeGreaterThanOrEqual(1);
    // another source is not affected, and the block ends
    expect(status(await get(a, '/', valid, '203.0.113.7'))).toBe(200);
    await until(async () => status(await get(a, '/', valid, source)) === 200, 4000);
  });
});
