// Rego policies compiled in-process and evaluated through opa-wasm, called over gRPC on Envoy's protos.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { checkRequest, headerMap, metadataField, type CheckResponse } from '../helpers/checkClient.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

# a boolean decision
allow if input.parsed_path[0] == "public"

allow if {
	input.parsed_path[0] == "admin"
	input.attributes.request.http.method == "GET"
}

allow if input.parsed_body.name == "json-ok"

allow if input.parsed_body.name[0] == "form-ok"

allow if input.parsed_body.title[0] == "multipart-ok"

allow if {
	input.parsed_path[0] == "malformed"
	input.parsed_body == null
}

allow if input.parsed_query.key[0] == "open"
`;

const OBJECT_POLICY = `package envoy.authz

import rego.v1

decision := {
	"allowed": true,
	"headers": {"x-policy": "yes", "x-multi": ["a", "b"]},
	"request_headers_to_remove": ["x-internal"],
	"response_headers_to_add": {"x-resp": "r1"},
	"query_parameters_to_set": {"page": "2"},
	"query_parameters_to_remove": ["debug"],
	"dynamic_metadata": {"tenant": "acme"},
} if input.parsed_path[0] == "all-keys"

decision := {
	"allowed": false,
	"http_status": 402,
	"body": "short and stout",
	"headers": {"x-reason": "teapot"},
} if input.parsed_path[0] == "teapot"

decision := {"allowed": false} if input.parsed_path[0] == "plain-deny"

decision := true if input.parsed_path[0] == "bool-true"

decision := "yes" if input.parsed_path[0] == "wrong-type"

decision := {"allowed": true, "headers": {"x-n": 5}} if input.parsed_path[0] == "wrong-header"

decision := {"allowed": true} if input.parsed_path[0] == "conflict"

decision := {"allowed": false} if input.parsed_path[0] == "conflict"
`;

function status(res: CheckResponse): number | undefined {
  return res.deniedResponse?.status?.code ?? (res.okResponse !== undefined ? 200 : undefined);
}

describe('boolean decisions (policy envoy/authz/allow)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({ files: { 'policies/authz.rego': POLICY } });
  });
  afterAll(async () => t?.close());

  it('allows when the rule is true and answers OkHttpResponse with status OK', async () => {
    const res = await t.client.check(checkRequest({ path: '/public/x' }));
    expect(res.status?.code).toBe(0);
    expect(res.okResponse).toBeDefined();
    expect(typeof metadataField(res, 'decision_id')).toBe('string');
  });

  it('denies with 403 PERMISSION_DENIED and a JSON body when the rule is false', async () => {
    const res = await t.client.check(checkRequest({ path: '/private' }));
    expect(res.status?.code).toBe(7);
    expect(status(res)).toBe(403);
    const body = JSON.parse(res.deniedResponse?.body ?? '{}') as Record<string, unknown>;
    expect(body['decision_id']).toBe(metadataField(res, 'decision_id'));
    expect(headerMap(res.deniedResponse?.headers)['content-type']).toBe('application/json');
  });

  it('reads input.attributes in protobuf-JSON form', async () => {
    expect(status(await t.client.check(checkRequest({ method: 'GET', path: '/admin/users' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ method: 'POST', path: '/admin/users' })))).toBe(403);
  });

  it('trims every leading slash as OPA-Envoy does, so //admin matches parsed_path[0] == "admin"', async () => {
    expect(status(await t.client.check(checkRequest({ method: 'GET', path: '//admin/users' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ method: 'POST', path: '//admin/users' })))).toBe(403);
  });

  it('parses JSON bodies', async () => {
    const res = await t.client.check(
      checkRequest({
        method: 'POST',
        path: '/x',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"json-ok"}',
      }),
    );
    expect(status(res)).toBe(200);
  });

  it('parses form-urlencoded bodies', async () => {
    const res = await t.client.check(
      checkRequest({
        method: 'POST',
        path: '/x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=form-ok&other=1',
      }),
    );
    expect(status(res)).toBe(200);
  });

  it('parses multipart bodies sent as raw_body', async () => {
    const body = '--b1\r\nContent-Disposition: form-data; name="title"\r\n\r\nmultipart-ok\r\n--b1--\r\n';
    const res = await t.client.check(
      checkRequest({
        method: 'POST',
        path: '/x',
        headers: { 'content-type': 'multipart/form-data; boundary=b1' },
        rawBody: Buffer.from(body),
      }),
    );
    expect(status(res)).toBe(200);
  });

  it('gives parsed_body null for a malformed body and still answers', async () => {
    const res = await t.client.check(
      checkRequest({
        method: 'POST',
        path: '/malformed',
        headers: { 'content-type': 'application/json' },
        body: '{"name":',
      }),
    );
    expect(status(res)).toBe(200);
  });

  it('reads parsed_query', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/q?key=open' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/q?key=closed' })))).toBe(403);
  });
});

describe('object decisions (policy envoy/authz/decision)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': OBJECT_POLICY },
      config: { policy: { entrypoint: 'envoy/authz/decision' } },
    });
  });
  afterAll(async () => t?.close());

  it('maps every allow key onto OkHttpResponse', async () => {
    const res = await t.client.check(checkRequest({ path: '/all-keys?debug=1' }));
    const ok = res.okResponse;
    expect(res.status?.code).toBe(0);
    expect(ok?.headers?.map((h) => [h.header.key, h.header.value, h.append?.value])).toEqual([
      ['x-multi', 'a', false],
      ['x-multi', 'b', true],
      ['x-policy', 'yes', false],
    ]);
    expect(ok?.headersToRemove).toEqual(['x-internal']);
    expect(headerMap(ok?.responseHeadersToAdd)).toEqual({ 'x-resp': 'r1' });
    expect(ok?.queryParametersToSet).toEqual([{ key: 'page', value: '2' }]);
    expect(ok?.queryParametersToRemove).toEqual(['debug']);
    expect(metadataField(res, 'tenant')).toBe('acme');
    expect(typeof metadataField(res, 'decision_id')).toBe('string');
  });

  it('uses the decision http_status, body and headers for a denial', async () => {
    const res = await t.client.check(checkRequest({ path: '/teapot' }));
    expect(res.status?.code).toBe(7);
    expect(res.deniedResponse?.status?.code).toBe(402);
    expect(res.deniedResponse?.body).toBe('short and stout');
    expect(headerMap(res.deniedResponse?.headers)['x-reason']).toBe('teapot');
  });

  it('denies {"allowed": false} with 403', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/plain-deny' })))).toBe(403);
  });

  it('accepts a boolean from the same entrypoint', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/bool-true' })))).toBe(200);
  });

  it('denies an undefined decision with 403 and logs "undefined decision"', async () => {
    const res = await t.client.check(checkRequest({ path: '/nothing-matches' }));
    expect(status(res)).toBe(403);
    const id = metadataField(res, 'decision_id');
    const line = t.logs.find((l) => l['decision_id'] === id);
    expect(line).toMatchObject({ reason: 'undefined_decision', detail: 'undefined decision' });
  });

  it('answers 503 UNAVAILABLE for a decision of the wrong type, logging the key', async () => {
    const res = await t.client.check(checkRequest({ path: '/wrong-type' }));
    expect(res.status?.code).toBe(14);
    expect(status(res)).toBe(503);
    const bad = await t.client.check(checkRequest({ path: '/wrong-header' }));
    expect(status(bad)).toBe(503);
    const line = t.logs.find((l) => l['decision_id'] === metadataField(bad, 'decision_id'));
    expect(String(line?.['detail'])).toContain('headers.x-n');
  });

  it('answers 503 UNAVAILABLE when evaluation fails at run time (conflicting values)', async () => {
    const res = await t.client.check(checkRequest({ path: '/conflict' }));
    expect(res.status?.code).toBe(14);
    expect(status(res)).toBe(503);
    const line = t.logs.find((l) => l['decision_id'] === metadataField(res, 'decision_id'));
    expect(line?.['reason']).toBe('policy_error');
  });
});
