// OPA-Envoy's decision -> CheckResponse mapping (envoyauth/response.go, internal/internal.go), through the
// real sidecar and a gRPC client on Envoy's protos.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRequest,
  headerMap,
  metadataField,
  type CheckResponse,
  type HeaderValueOption,
} from '../helpers/checkClient.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const POLICY = `package envoy.authz

import rego.v1

route := input.parsed_path[0]

decision := {
	"allowed": true,
	"headers": [{"x-a": "1", "x-b": ["2", "3"]}, {"x-a": "4"}],
	"response_headers_to_add": [{"x-r": "r1"}, {"x-r": "r2"}],
} if route == "header-lists"

decision := {
	"allowed": false,
	"http_status": 401,
	"headers": [{"www-authenticate": "Basic realm=\\"x\\""}, {"x-reason": ["a", "b"]}],
	"body": "log in",
} if route == "deny-header-lists"

decision := {"allowed": true, "body": {"not": "a string"}, "http_status": 418} if route == "allow-with-deny-keys"

decision := {
	"allowed": false,
	"request_headers_to_remove": "not-a-list",
	"response_headers_to_add": 7,
	"query_parameters_to_set": ["x"],
	"query_parameters_to_remove": {"a": 1},
} if route == "deny-with-allow-keys"

decision := {"allowed": false, "http_status": 418} if route == "teapot"

decision := {"allowed": false, "http_status": 599} if route == "five-nine-nine"

decision := {"allowed": false, "http_status": 429, "body": "slow down"} if route == "policy-429"
`;

const GRPC = { OK: 0, PERMISSION_DENIED: 7, UNAVAILABLE: 14 };

const triples = (options: HeaderValueOption[] | undefined) =>
  (options ?? []).map((o) => [o.header.key, o.header.value, o.append?.value ?? false]);

describe('OPA-Envoy decision mapping, over gRPC', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: { policy: { entrypoint: 'envoy/authz/decision' } },
    });
  });
  afterAll(async () => t?.close());

  const logOf = (res: CheckResponse) => t.logs.find((l) => l['decision_id'] === metadataField(res, 'decision_id'));

  it('accepts headers and response_headers_to_add as a list of objects on an allow', async () => {
    const res = await t.client.check(checkRequest({ path: '/header-lists' }));
    expect(res.status?.code).toBe(GRPC.OK);
    expect(triples(res.okResponse?.headers)).toEqual([
      ['x-a', '1', false],
      ['x-b', '2', false],
      ['x-b', '3', true],
      ['x-a', '4', true],
    ]);
    expect(triples(res.okResponse?.responseHeadersToAdd)).toEqual([
      ['x-r', 'r1', false],
      ['x-r', 'r2', true],
    ]);
  });

  it('accepts headers as a list of objects on a deny', async () => {
    const res = await t.client.check(checkRequest({ path: '/deny-header-lists' }));
    expect(res.deniedResponse?.status?.code).toBe(401);
    expect(res.deniedResponse?.body).toBe('log in');
    const headers = triples(res.deniedResponse?.headers);
    expect(headers).toContainEqual(['www-authenticate', 'Basic realm="x"', false]);
    expect(headers).toContainEqual(['x-reason', 'a', false]);
    expect(headers).toContainEqual(['x-reason', 'b', true]);
  });

  it('answers a policy-chosen 401 with PERMISSION_DENIED, as OPA-Envoy does for every policy denial', async () => {
    const res = await t.client.check(checkRequest({ path: '/deny-header-lists' }));
    expect(res.status?.code).toBe(GRPC.PERMISSION_DENIED);
    const limited = await t.client.check(checkRequest({ path: '/policy-429' }));
    expect(limited.status?.code).toBe(GRPC.PERMISSION_DENIED);
    expect(limited.deniedResponse?.status?.code).toBe(429);
  });

  it('allows a decision that also carries body and http_status (ignored on an allow), instead of a 503', async () => {
    const res = await t.client.check(checkRequest({ path: '/allow-with-deny-keys' }));
    expect(res.status?.code).toBe(GRPC.OK);
    expect(res.okResponse).toBeDefined();
    expect(res.deniedResponse).toBeUndefined();
  });

  it('denies with 403 a decision that also carries wrong allow-only keys (ignored on a deny), instead of a 503', async () => {
    const res = await t.client.check(checkRequest({ path: '/deny-with-allow-keys' }));
    expect(res.status?.code).toBe(GRPC.PERMISSION_DENIED);
    expect(res.deniedResponse?.status?.code).toBe(403);
    expect(logOf(res)?.['reason']).toBe('policy_denied');
  });

  it.each([
    ['teapot', 418],
    ['five-nine-nine', 599],
  ])("refuses http_status %s (%i, not in Envoy's StatusCode enum) as OPA-Envoy does, naming the key", async (route) => {
    const res = await t.client.check(checkRequest({ path: `/${route}` }));
    expect(res.status?.code).toBe(GRPC.UNAVAILABLE);
    expect(res.deniedResponse?.status?.code).toBe(503);
    expect(logOf(res)).toMatchObject({ reason: 'decision_type' });
    expect(String(logOf(res)?.['detail'])).toContain('http_status');
  });

  it('keeps decision_id in dynamic_metadata of every answer', async () => {
    const res = await t.client.check(checkRequest({ path: '/header-lists' }));
    expect(typeof metadataField(res, 'decision_id')).toBe('string');
    expect(headerMap(res.okResponse?.headers)['x-a']).toBe('4');
  });
});

describe('policy.entrypoint in the forms OPA-Envoy users write', () => {
  const ALLOW = `package envoy.authz

import rego.v1

default allow := false

allow if input.attributes.request.http.method == "GET"
`;
  for (const entrypoint of [
    '/envoy/authz/allow',
    'envoy.authz.allow',
    'data.envoy.authz.allow',
    'envoy//authz/allow',
  ]) {
    it(`serves ${entrypoint} as envoy/authz/allow`, async () => {
      const t = await startTestSidecar({ files: { 'policies/authz.rego': ALLOW }, config: { policy: { entrypoint } } });
      try {
        expect((await t.client.check(checkRequest({ method: 'GET' }))).status?.code).toBe(GRPC.OK);
        expect((await t.client.check(checkRequest({ method: 'POST' }))).status?.code).toBe(GRPC.PERMISSION_DENIED);
        const info = (await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as { entrypoint: string };
        expect(info.entrypoint).toBe('envoy/authz/allow');
      } finally {
        await t.close();
      }
    });
  }

  it('refuses a query that is not a plain rule reference, naming the form to write', async () => {
    await expect(
      startTestSidecar({
        files: { 'policies/authz.rego': ALLOW },
        config: { policy: { entrypoint: 'data.envoy.authz.allow == true' } },
      }),
    ).rejects.toThrow(/package\/path\/rule/);
  });
});
