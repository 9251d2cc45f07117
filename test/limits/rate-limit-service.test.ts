// envoy.service.ratelimit.v3.RateLimitService on the sidecar's gRPC port, driven by a real gRPC client on
// Envoy's rls.proto, with envoyproxy/ratelimit's rule-file semantics, against both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { createRlsClient, descriptor, type RlsClient } from '../helpers/rlsClient.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

export const EDGE_RULES = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 3 }
  # a blocked address: requests_per_unit 0 is always over
  - key: remote_address
    value: 50.0.0.5
    rate_limit: { unit: second, requests_per_unit: 0 }
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        rate_limit: { unit: day, requests_per_unit: 2 }
  - key: ldap
    rate_limit: { unlimited: true }
  - key: shady
    shadow_mode: true
    rate_limit: { unit: minute, requests_per_unit: 1 }
  - key: key_1
    value: value_1
    descriptors:
      - key: user
        rate_limit: { name: specific_limit, unit: minute, requests_per_unit: 2 }
  - key: key_2
    value: value_2
    descriptors:
      - key: user
        rate_limit:
          replaces: [{ name: specific_limit }]
          unit: minute
          requests_per_unit: 4
  - key: cost
    rate_limit: { unit: minute, requests_per_unit: 10 }
  - key: path
    value: /api*
    rate_limit: { unit: hour, requests_per_unit: 1 }
`;

async function metricsOf(sidecar: TestSidecar): Promise<string> {
  return (await fetch(`${sidecar.adminUrl}/metrics`)).text();
}

let unique = 0;
const fresh = (label: string) => `${label}-${Date.now()}-${unique++}`;

describe.each(['memory', 'redis'] as const)('rate limit service, %s store', (storeKind) => {
  let redis: RedisServer | undefined;
  let sidecar: TestSidecar;
  let client: RlsClient;

  beforeAll(async () => {
    if (storeKind === 'redis') redis = await startRedisServer();
    sidecar = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL, 'ratelimit/edge.yaml': EDGE_RULES },
      config: {
        ...(redis ? { redis: { url: redis.url, keyPrefix: 'rls:', commandTimeoutMs: 500 } } : {}),
        rateLimitService: { config: ['ratelimit'] },
      },
    });
    client = createRlsClient(sidecar.sidecar.grpcPort);
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
    await redis?.dispose();
  });

  it('counts a key-only descriptor per value and answers each status as ratelimit does', async () => {
    const address = fresh('10.0.0');
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await client.shouldRateLimit('edge', [descriptor(['remote_address', address])]));
    expect(answers.map((a) => a.overallCode)).toEqual(['OK', 'OK', 'OK', 'OVER_LIMIT']);
    expect(answers.map((a) => a.statuses[0]!.limitRemaining)).toEqual([2, 1, 0, 0]);
    expect(answers[0]!.statuses[0]).toMatchObject({
      code: 'OK',
      currentLimit: { requestsPerUnit: 3, unit: 'MINUTE', name: 'edge.remote_address' },
    });
    // a token every 20 s: after one request, the bucket is full again in 20 s
    expect(Number(answers[0]!.statuses[0]!.durationUntilReset!.seconds)).toBe(20);
    expect(answers[3]!.statuses[0]!.code).toBe('OVER_LIMIT');
    // another value has its own budget
    expect((await client.shouldRateLimit('edge', [descriptor(['remote_address', fresh('10.0.1')])])).overallCode).toBe(
      'OK',
    );
  });

  it('answers OVER_LIMIT for requests_per_unit 0, every time', async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await client.shouldRateLimit('edge', [descriptor(['remote_address', '50.0.0.5'])]);
      expect(answer.overallCode).toBe('OVER_LIMIT');
      expect(answer.statuses[0]!.currentLimit).toMatchObject({ requestsPerUnit: 0, unit: 'SECOND' });
    }
  });

  it('matches nested descriptors only at their own depth', async () => {
    const number = fresh('+1206');
    const nested = descriptor(['message_type', 'marketing'], ['to_number', number]);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await client.shouldRateLimit('edge', [nested])).overallCode);
    expect(codes).toEqual(['OK', 'OK', 'OVER_LIMIT']);
    // one level only: the placeholder entry has no limit of its own
    const shallow = await client.shouldRateLimit('edge', [descriptor(['message_type', 'marketing'])]);
    expect(shallow.overallCode).toBe('OK');
    expect(shallow.statuses[0]!.currentLimit ?? null).toBeNull();
    // too deep: ratelimit matches nothing either
    const deep = await client.shouldRateLimit('edge', [descriptor(['remote_address', fresh('x')], ['extra', 'y'])]);
    expect(deep.statuses[0]!.currentLimit ?? null).toBeNull();
  });

  it('answers unlimited descriptors OK with limit_remaining at uint32 max and no current limit', async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await client.shouldRateLimit('edge', [descriptor(['ldap', 'anyone'])]);
      expect(answer.statuses[0]).toMatchObject({ code: 'OK', limitRemaining: 4294967295 });
      expect(answer.statuses[0]!.currentLimit ?? null).toBeNull();
    }
  });

  it('lets shadow_mode descriptors through over their limit and counts them as shadow_over_limit', async () => {
    const key = fresh('shady');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await client.shouldRateLimit('edge', [descriptor(['shady', key])]));
    expect(answers.map((a) => a.overallCode)).toEqual(['OK', 'OK', 'OK']);
    expect(answers.map((a) => a.statuses[0]!.code)).toEqual(['OK', 'OK', 'OK']);
    expect(answers[2]!.statuses[0]!.limitRemaining).toBe(0);
    expect(await metricsOf(sidecar)).toMatch(
      /portcullis_ratelimit_service_decisions_total\{domain="edge",result="shadow_over_limit"\} 2/,
    );
  });

  it('drops a limit another matched descriptor replaces, and leaves its budget untouched', async () => {
    const user = fresh('bkthomps');
    const both = [descriptor(['key_1', 'value_1'], ['user', user]), descriptor(['key_2', 'value_2'], ['user', user])];
    for (let i = 0; i < 4; i++) {
      const answer = await client.shouldRateLimit('edge', both);
      expect(answer.overallCode).toBe('OK');
      expect(answer.statuses[0]!.currentLimit ?? null).toBeNull();
      expect(answer.statuses[1]!.currentLimit).toMatchObject({ requestsPerUnit: 4 });
    }
    expect((await client.shouldRateLimit('edge', both)).overallCode).toBe('OVER_LIMIT');
    // the replaced limit (2/min) was never spent
    const alone = [];
    for (let i = 0; i < 3; i++) alone.push((await client.shouldRateLimit('edge', [both[0]!])).overallCode);
    expect(alone).toEqual(['OK', 'OK', 'OVER_LIMIT']);
  });

  it('takes hits_addend tokens per call', async () => {
    const key = fresh('cost');
    const remaining = [];
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const answer = await client.shouldRateLimit('edge', [descriptor(['cost', key])], 4);
      codes.push(answer.overallCode);
      remaining.push(answer.statuses[0]!.limitRemaining);
    }
    expect(codes).toEqual(['OK', 'OK', 'OVER_LIMIT']);
    expect(remaining).toEqual([6, 2, 2]);
  });

  it('refuses a call as a whole: an over-limit descriptor spends no other descriptor of the call', async () => {
    const address = fresh('10.0.2');
    const answer = await client.shouldRateLimit('edge', [
      descriptor(['remote_address', address]),
      descriptor(['remote_address', '50.0.0.5']),
    ]);
    expect(answer.overallCode).toBe('OVER_LIMIT');
    expect(answer.statuses.map((s) => s.code)).toEqual(['OK', 'OVER_LIMIT']);
    expect(
      (await client.shouldRateLimit('edge', [descriptor(['remote_address', address])])).statuses[0]!.limitRemaining,
    ).toBe(2);
  });

  it('matches a value ending in * as a prefix', async () => {
    const codes = [];
    for (const path of ['/api/orders', '/api/users'])
      codes.push(
        (await client.shouldRateLimit('edge', [descriptor(['path', path])])).statuses[0]!.currentLimit?.requestsPerUnit,
      );
    expect(codes).toEqual([1, 1]);
  });

  it('answers OK for a domain no file names, and INVALID_ARGUMENT without a domain or descriptors', async () => {
    const answer = await client.shouldRateLimit('nobody', [descriptor(['remote_address', 'a'])]);
    expect(answer.overallCode).toBe('OK');
    await expect(client.shouldRateLimit('', [descriptor(['a', 'b'])])).rejects.toMatchObject({ code: 3 });
    await expect(client.shouldRateLimit('edge', [])).rejects.toMatchObject({ code: 3 });
  });

  it('adds the IETF RateLimit fields by default, with retry-after when over', async () => {
    const address = fresh('10.0.3');
    const ok = await client.shouldRateLimit('edge', [descriptor(['remote_address', address])]);
    expect(Object.fromEntries(ok.responseHeadersToAdd.map((h) => [h.key, h.value]))).toEqual({
      'ratelimit-policy': '"edge.remote_address";q=3;w=60',
      ratelimit: '"edge.remote_address";r=2;t=20',
    });
    await client.shouldRateLimit('edge', [descriptor(['remote_address', address])]);
    await client.shouldRateLimit('edge', [descriptor(['remote_address', address])]);
    const over = await client.shouldRateLimit('edge', [descriptor(['remote_address', address])]);
    expect(over.responseHeadersToAdd.find((h) => h.key === 'retry-after')?.value).toMatch(/^(19|20)$/);
  });

  it('counts decisions per domain in ratelimit_service_decisions_total', async () => {
    const text = await metricsOf(sidecar);
    expect(text).toMatch(/portcullis_ratelimit_service_decisions_total\{domain="edge",result="ok"\} [1-9]/);
    expect(text).toMatch(/portcullis_ratelimit_service_decisions_total\{domain="edge",result="over_limit"\} [1-9]/);
    expect(text).toMatch(/portcullis_ratelimit_service_decisions_total\{domain="unknown",result="ok"\} 1/);
  });
});

describe('rate limit service: headers setting', () => {
  it('sends draft-03 x-ratelimit-* headers with headers: draft03, and none with none', async () => {
    const files = { 'policies/authz.rego': ALLOW_ALL, 'ratelimit/edge.yaml': EDGE_RULES };
    const draft = await startTestSidecar({
      files,
      config: { rateLimitService: { config: ['ratelimit/edge.yaml'], headers: 'draft03' } },
    });
    const none = await startTestSidecar({
      files,
      config: { rateLimitService: { config: ['ratelimit/edge.yaml'], headers: 'none' } },
    });
    const draftClient = createRlsClient(draft.sidecar.grpcPort);
    const noneClient = createRlsClient(none.sidecar.grpcPort);
    try {
      const answer = await draftClient.shouldRateLimit('edge', [
        descriptor(['remote_address', 'a']),
        descriptor(['cost', 'b']),
      ]);
      expect(Object.fromEntries(answer.responseHeadersToAdd.map((h) => [h.key, h.value]))).toEqual({
        'x-ratelimit-limit': '3, 3;w=60;name="edge.remote_address", 10;w=60;name="edge.cost"',
        'x-ratelimit-remaining': '2',
        'x-ratelimit-reset': '20',
      });
      expect(
        (await noneClient.shouldRateLimit('edge', [descriptor(['remote_address', 'a'])])).responseHeadersToAdd,
      ).toEqual([]);
    } finally {
      draftClient.close();
      noneClient.close();
      await Promise.all([draft.close(), none.close()]);
    }
  });
});
