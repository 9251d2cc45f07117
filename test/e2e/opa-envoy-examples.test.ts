// OPA-Envoy's published example policies, written here from what OPA-Envoy documents (its README quick start,
// examples/istio, examples/gloo-edge, examples/grpc, examples/envoy-gateway, and the Envoy policy primer on
// openpolicyagent.org), run through the real sidecar with CheckRequests shaped as Envoy sends them. Each test
// states the CheckResponse OPA-Envoy's code (internal/internal.go) gives for that request and asserts what an
// Envoy in front of Portcullis does with Portcullis's answer is the same.
//
// Where Portcullis answers differently on purpose, the assertion says so and policies/README.md's
// "Differences from OPA-Envoy" table has the row: a boolean `false` is a PERMISSION_DENIED CheckResponse
// without denied_response under OPA-Envoy (Envoy then sends 403 with an empty body), and a 403 with a short
// JSON body carrying the decision_id under Portcullis.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, headerMap, type CheckResponse, type HttpRequestSpec } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const BUF = fileURLToPath(new URL('../../node_modules/.bin/buf', import.meta.url));
const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;

/** What OPA-Envoy answers: allow, or deny with the status Envoy gives the client (403 when none is set). */
type Expected =
  { allowed: true } | { allowed: false; status?: number; body?: string; headers?: Record<string, string> };

function expectOpaEnvoyAnswer(response: CheckResponse, expected: Expected): void {
  if (expected.allowed) {
    expect(response.status?.code ?? GRPC_OK, 'gRPC status').toBe(GRPC_OK);
    expect(response.deniedResponse, 'no denied_response on an allow').toBeUndefined();
    return;
  }
  expect(response.status?.code, 'gRPC status').toBe(GRPC_PERMISSION_DENIED);
  // Envoy sends denied_response.status, or 403 when the response has none (OPA-Envoy's boolean decisions).
  expect(response.deniedResponse?.status?.code ?? 403, 'HTTP status the client gets').toBe(expected.status ?? 403);
  if (expected.body !== undefined) expect(response.deniedResponse?.body).toBe(expected.body);
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    expect(headerMap(response.deniedResponse?.headers)[name], name).toBe(value);
  }
}

/** Headers Envoy adds to every request it checks (an Istio sidecar adds the b3 and x-envoy ones too). */
function envoyHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    accept: '*/*',
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'http',
    'x-request-id': '7bca5c86-bf55-432c-b212-8c0f1dc999ec',
    ...extra,
  };
}

const basic = (user: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:password`).toString('base64')}`,
});

async function withSidecar(
  policy: string,
  entrypoint: string,
  input: { protoDescriptor?: string } = {},
): Promise<TestSidecar> {
  return startTestSidecar({ files: { 'policies/policy.rego': policy }, config: { policy: { entrypoint }, input } });
}

// OPA-Envoy README, "Quick Start" / "Example Policy": the BookInfo policy, Rego v0, queried as
// `data.istio.authz.allow` (the plugin's `query` setting).
const README_QUICK_START = `package istio.authz

import input.attributes.request.http as http_request

default allow = false

allow {
    roles_for_user[r]
    required_roles[r]
}

roles_for_user[r] {
    r := user_roles[user_name][_]
}

required_roles[r] {
    perm := role_perms[r][_]
    perm.method = http_request.method
    perm.path = http_request.path
}

user_name = parsed {
    [_, encoded] := split(http_request.headers.authorization, " ")
    [parsed, _] := split(base64url.decode(encoded), ":")
}

user_roles = {
    "alice": ["guest"],
    "bob": ["admin"]
}

role_perms = {
    "guest": [
        {"method": "GET",  "path": "/productpage"},
    ],
    "admin": [
        {"method": "GET",  "path": "/productpage"},
        {"method": "GET",  "path": "/api/v1/products"},
    ],
}
`;

// examples/istio/quick_start.yaml: the same roles in Rego v1 with a /health rule, at path istio/authz/allow.
const ISTIO_EXAMPLE = `package istio.authz

import input.attributes.request.http as http_request
import input.parsed_path

default allow = false

allow if {
    parsed_path[0] == "health"
    http_request.method == "GET"
}

allow if {
    roles_for_user[r]
    required_roles[r]
}

roles_for_user contains r if {
    r := user_roles[user_name][_]
}

required_roles contains r if {
    perm := role_perms[r][_]
    perm.method = http_request.method
    perm.path = http_request.path
}

user_name = parsed if {
    [_, encoded] := split(http_request.headers.authorization, " ")
    [parsed, _] := split(base64url.decode(encoded), ":")
}

user_roles = {
    "alice": ["guest"],
    "bob": ["admin"]
}

role_perms = {
    "guest": [
        {"method": "GET",  "path": "/productpage"},
    ],
    "admin": [
        {"method": "GET",  "path": "/productpage"},
        {"method": "GET",  "path": "/api/v1/products"},
    ],
}
`;

const bookinfoRequest = (spec: HttpRequestSpec, istio: boolean): unknown =>
  checkRequest({
    host: '192.168.99.100:31380',
    ...(istio
      ? { sourcePrincipal: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account' }
      : {}),
    ...spec,
    headers: envoyHeaders({
      ...(istio ? { 'x-envoy-internal': 'true', 'x-b3-sampled': '1', 'x-b3-traceid': '537f473f27475073' } : {}),
      ...(spec.headers ?? {}),
    }),
  });

for (const [name, policy, entrypoint, istio] of [
  [
    'OPA-Envoy README quick start (BookInfo, Rego v0, query data.istio.authz.allow)',
    README_QUICK_START,
    'data.istio.authz.allow',
    false,
  ],
  ['examples/istio (BookInfo, Rego v1, path istio/authz/allow)', ISTIO_EXAMPLE, 'istio/authz/allow', true],
] as const) {
  describe(name, () => {
    let t: TestSidecar;
    beforeAll(async () => {
      t = await withSidecar(policy, entrypoint);
    });
    afterAll(async () => t?.close());
    const ask = (spec: HttpRequestSpec) => t.client.check(bookinfoRequest(spec, istio));

    it('lets alice (guest) GET /productpage: OK', async () => {
      expectOpaEnvoyAnswer(await ask({ path: '/productpage', headers: basic('alice') }), { allowed: true });
    });

    it('refuses alice GET /api/v1/products: PERMISSION_DENIED, 403', async () => {
      expectOpaEnvoyAnswer(await ask({ path: '/api/v1/products', headers: basic('alice') }), { allowed: false });
    });

    it('lets bob (admin) GET /productpage and /api/v1/products: OK', async () => {
      expectOpaEnvoyAnswer(await ask({ path: '/productpage', headers: basic('bob') }), { allowed: true });
      expectOpaEnvoyAnswer(await ask({ path: '/api/v1/products', headers: basic('bob') }), { allowed: true });
    });

    it('refuses bob a POST, a path no role lists, and a request without credentials: PERMISSION_DENIED, 403', async () => {
      expectOpaEnvoyAnswer(await ask({ method: 'POST', path: '/productpage', headers: basic('bob') }), {
        allowed: false,
      });
      expectOpaEnvoyAnswer(await ask({ path: '/reviews/1', headers: basic('bob') }), { allowed: false });
      expectOpaEnvoyAnswer(await ask({ path: '/productpage' }), { allowed: false });
    });

    it('compares the raw path: /productpage?u=1 is not /productpage (OPA-Envoy reads attributes.request.http.path too)', async () => {
      expectOpaEnvoyAnswer(await ask({ path: '/productpage?u=1', headers: basic('alice') }), { allowed: false });
    });

    if (istio) {
      it('lets anyone GET /health (parsed_path[0] == "health"), but not POST it', async () => {
        expectOpaEnvoyAnswer(await ask({ path: '/health' }), { allowed: true });
        expectOpaEnvoyAnswer(await ask({ path: '/health?plugins' }), { allowed: true });
        expectOpaEnvoyAnswer(await ask({ method: 'POST', path: '/health' }), { allowed: false });
      });
    }

    it('sends a 403 with a JSON body where OPA-Envoy sends none (a documented difference)', async () => {
      const res = await ask({ path: '/api/v1/products', headers: basic('alice') });
      expect(JSON.parse(res.deniedResponse?.body ?? '{}')).toMatchObject({ error: 'forbidden' });
    });
  });
}

// examples/gloo-edge/README.md: GET only, Rego v0, `--set=plugins.envoy_ext_authz_grpc.query=data.envoy.authz.allow`.
describe('examples/gloo-edge (GET only, query data.envoy.authz.allow)', () => {
  const POLICY = `package envoy.authz

import input.attributes.request.http as http_request

default allow = false

allow {
    action_allowed
}

action_allowed {
  http_request.method == "GET"
}
`;
  let t: TestSidecar;
  beforeAll(async () => {
    t = await withSidecar(POLICY, 'data.envoy.authz.allow');
  });
  afterAll(async () => t?.close());

  it('allows GET /get: OK', async () => {
    expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/get', headers: envoyHeaders() })), {
      allowed: true,
    });
  });

  it('refuses POST /post: PERMISSION_DENIED, 403', async () => {
    const res = await t.client.check(
      checkRequest({ method: 'POST', path: '/post', headers: envoyHeaders({ 'content-length': '0' }) }),
    );
    expectOpaEnvoyAnswer(res, { allowed: false });
  });
});

// examples/envoy-gateway/policy.rego: only /headers, default path envoy/authz/allow.
describe('examples/envoy-gateway (only /headers)', () => {
  const POLICY = `package envoy.authz

import input.attributes.request.http as http_request

default allow = false

allow {
    action_allowed
}

action_allowed {
    http_request.path == "/headers"
}
`;
  let t: TestSidecar;
  beforeAll(async () => {
    t = await withSidecar(POLICY, 'envoy/authz/allow');
  });
  afterAll(async () => t?.close());

  it('allows /headers and refuses /get', async () => {
    expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/headers', headers: envoyHeaders() })), {
      allowed: true,
    });
    expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/get', headers: envoyHeaders() })), {
      allowed: false,
    });
  });
});

// The part of examples/grpc's test service (fullstorydev's grpcui testsvr, `package test`, proto2) the example
// reaches: the KitchenSink methods it calls and the fields of TestMessage, with their field numbers and the
// `required` ones, so the wire bytes are those grpcurl sends. OPA-Envoy is given its descriptor set
// (`proto-descriptor`); here buf builds one, as `protoc --descriptor_set_out --include_imports` would.
const KITCHEN_SINK_PROTO = `syntax = "proto2";
package test;

import "google/protobuf/empty.proto";

service KitchenSink {
  rpc Ping (google.protobuf.Empty) returns (google.protobuf.Empty);
  rpc Exchange (TestMessage) returns (TestMessage);
}

enum State {
  INVALID = 0;
  INITIAL = 1;
  PENDING = 2;
}

message Person {
  required uint64 id = 1;
  required string name = 2;
  repeated string labels = 6;
}

message TestMessage {
  required Person person = 4;
  required State state = 5;
  required float needed_num_a = 9;
  required double needed_num_b = 12;
  required bytes opaque_id = 15;
}
`;

// examples/grpc: Envoy in front of a gRPC service, with_request_body { pack_as_bytes: true }: the body arrives
// as raw_body, a gRPC frame (1 byte compressed flag, 4 bytes length, the message).
describe('examples/grpc (test.KitchenSink)', () => {
  const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if {
  input.parsed_path = ["test.KitchenSink", "Ping"]
}

allow if {
  input.parsed_path = ["test.KitchenSink", "Exchange"]
  input.parsed_body.opaqueId == "asdf"
  input.parsed_body.person.name == "alice"
}
`;
  let t: TestSidecar;
  let TestMessage: protobuf.Type;
  beforeAll(async () => {
    const dir = makeTempDir('portcullis-kitchensink-');
    writeFileSync(join(dir, 'test.proto'), KITCHEN_SINK_PROTO);
    const descriptor = join(dir, 'testsrv.binpb');
    execFileSync(BUF, ['build', dir, '--as-file-descriptor-set', '-o', descriptor], { stdio: 'pipe' });
    TestMessage = new protobuf.Root()
      .loadSync(join(dir, 'test.proto'), { keepCase: true })
      .lookupType('test.TestMessage');
    t = await withSidecar(POLICY, 'envoy/authz/allow', { protoDescriptor: descriptor });
  });
  afterAll(async () => t?.close());

  const grpcCall = (method: string, message: Buffer): unknown => {
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
    frame.writeUInt32BE(message.length, 1);
    return checkRequest({
      method: 'POST',
      path: `/test.KitchenSink/${method}`,
      host: '127.0.0.1:51051',
      rawBody: frame,
      headers: { 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'grpcurl/1.8.9 grpc-go/1.57.0' },
    });
  };

  it('allows test.KitchenSink/Ping with an empty message: OK', async () => {
    expectOpaEnvoyAnswer(await t.client.check(grpcCall('Ping', Buffer.alloc(0))), { allowed: true });
  });

  it('refuses test.KitchenSink/Exchange with an empty message: PERMISSION_DENIED', async () => {
    expectOpaEnvoyAnswer(await t.client.check(grpcCall('Exchange', Buffer.alloc(0))), { allowed: false });
  });

  // The example's call: grpcurl -d '{"person": {"id": 1, "name": "alice"}, "state": "INITIAL", "neededNumA": 1,
  // "neededNumB": 2, "opaqueId": "asdf"}' ... test.KitchenSink/Exchange. opaque_id is bytes: protojson writes
  // them in base64, so the policy's "asdf" is the base64 of the three bytes grpcurl decoded it to.
  const exchange = (name: string, opaqueId: string) =>
    grpcCall(
      'Exchange',
      Buffer.from(
        TestMessage.encode(
          TestMessage.fromObject({
            person: { id: 1, name },
            state: 1,
            needed_num_a: 1,
            needed_num_b: 2,
            opaque_id: Buffer.from(opaqueId, 'base64'),
          }),
        ).finish(),
      ),
    );

  it('allows test.KitchenSink/Exchange with the example message (decoded with input.protoDescriptor): OK', async () => {
    expectOpaEnvoyAnswer(await t.client.check(exchange('alice', 'asdf')), { allowed: true });
  });

  it('refuses test.KitchenSink/Exchange for another person or opaque id: PERMISSION_DENIED', async () => {
    expectOpaEnvoyAnswer(await t.client.check(exchange('bob', 'asdf')), { allowed: false });
    expectOpaEnvoyAnswer(await t.client.check(exchange('alice', 'qwer')), { allowed: false });
  });
});

// The Envoy policy primer (openpolicyagent.org/docs/envoy/primer): parsed_path, parsed_query and parsed_body.
describe('Envoy policy primer: parsed_path, parsed_query, parsed_body', () => {
  const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path == ["people"]

allow if {
	input.parsed_path == ["people", "search"]
	input.parsed_query.lang == ["en"]
	input.parsed_query.id == ["1", "2"]
}

allow if {
	input.parsed_body.firstname == "Charlie"
	input.parsed_body.lastname == "Opa"
}
`;
  let t: TestSidecar;
  beforeAll(async () => {
    t = await withSidecar(POLICY, 'envoy/authz/allow');
  });
  afterAll(async () => t?.close());

  it('allows /people by parsed_path, and not /people/x', async () => {
    expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/people', headers: envoyHeaders() })), {
      allowed: true,
    });
    expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/people/x', headers: envoyHeaders() })), {
      allowed: false,
    });
  });

  it('allows /people/search?lang=en&id=1&id=2 by parsed_query, and not with one id', async () => {
    const ask = (path: string) => t.client.check(checkRequest({ path, headers: envoyHeaders() }));
    expectOpaEnvoyAnswer(await ask('/people/search?lang=en&id=1&id=2'), { allowed: true });
    expectOpaEnvoyAnswer(await ask('/people/search?lang=en&id=1'), { allowed: false });
  });

  it("allows the primer's POST /people?lang=en with Charlie Opa's JSON body by parsed_body", async () => {
    const body = '{"firstname":"Charlie", "lastname":"Opa"}';
    const headers = envoyHeaders({ 'content-type': 'application/json', 'content-length': String(body.length) });
    const res = await t.client.check(checkRequest({ method: 'POST', path: '/other?lang=en', body, headers }));
    expectOpaEnvoyAnswer(res, { allowed: true });
    const other = '{"firstname":"Bob", "lastname":"Opa"}';
    const denied = await t.client.check(checkRequest({ method: 'POST', path: '/other', body: other, headers }));
    expectOpaEnvoyAnswer(denied, { allowed: false });
  });
});

// The primer's "Example with JWT payload passed from Envoy": jwt_authn verified the token and put its payload
// into the metadata ext_authz forwards (metadata_context_namespaces), read as plain JSON.
describe('Envoy policy primer: JWT payload passed from Envoy in metadataContext', () => {
  const POLICY = `package envoy.authz

import rego.v1

default allow := false

claims := input.attributes.metadataContext.filterMetadata["envoy.filters.http.jwt_authn"].verified_jwt

allow if claims.email == "alice@example.com"
`;
  let t: TestSidecar;
  beforeAll(async () => {
    t = await withSidecar(POLICY, 'envoy/authz/allow');
  });
  afterAll(async () => t?.close());

  const withJwtMetadata = (email: string): unknown => {
    const request = checkRequest({ path: '/people', headers: envoyHeaders() }) as {
      attributes: Record<string, unknown>;
    };
    request.attributes['metadataContext'] = {
      filterMetadata: {
        'envoy.filters.http.jwt_authn': {
          fields: {
            verified_jwt: {
              structValue: {
                fields: {
                  email: { stringValue: email },
                  exp: { numberValue: 1569026124 },
                  name: { stringValue: 'Alice' },
                },
              },
            },
          },
        },
      },
    };
    return request;
  };

  it("allows alice's verified payload and refuses another's", async () => {
    expectOpaEnvoyAnswer(await t.client.check(withJwtMetadata('alice@example.com')), { allowed: true });
    expectOpaEnvoyAnswer(await t.client.check(withJwtMetadata('mallory@example.com')), { allowed: false });
  });
});

// The Envoy tutorial and primer's first policy: the token is checked in Rego with io.jwt.decode_verify
// (HS256, secret "secret"), roles guest/admin, glob.match on the path, and a POST rule on parsed_body.
const PRIMER_JWT_POLICY = `package envoy.authz

import rego.v1

import input.attributes.request.http

default allow := false

allow if {
	is_token_valid
	action_allowed
}

is_token_valid if {
	token.valid
	now := time.now_ns() / 1000000000
	token.payload.nbf <= now
	now < token.payload.exp
}

action_allowed if {
	http.method == "GET"
	token.payload.role == "guest"
	glob.match("/people/*", ["/"], http.path)
}

action_allowed if {
	http.method == "GET"
	token.payload.role == "admin"
	glob.match("/people/*", ["/"], http.path)
}

action_allowed if {
	http.method == "POST"
	token.payload.role == "admin"
	glob.match("/people", ["/"], http.path)
	lower(input.parsed_body.firstname) != base64url.decode(token.payload.sub)
}

token := {"valid": valid, "payload": payload} if {
	[_, encoded] := split(http.headers.authorization, " ")
	[valid, _, payload] := io.jwt.decode_verify(encoded, {"secret": "secret"})
}
`;

// The primer's "Example Policy with Additional Controls" wraps the same rules into a decision object; the
// output document section names the keys OPA-Envoy reads (OPA-Envoy reads http_status, see the table).
const PRIMER_CONTROLS_POLICY = `${PRIMER_JWT_POLICY}
headers["x-ext-auth-allow"] := "yes"

headers["x-validated-by"] := "security-checkpoint"

request_headers_to_remove := ["one-auth-header", "another-auth-header"]

response_headers_to_add["x-foo"] := "bar"

http_status := 200 if {
	allow
} else := 401 if {
	not is_token_valid
} else := 403

body := "Authentication Failed" if http_status == 401

body := "Unauthorized Request" if http_status == 403

result["allowed"] := allow

result["headers"] := headers

result["response_headers_to_add"] := response_headers_to_add

result["request_headers_to_remove"] := request_headers_to_remove

result["body"] := body

result["http_status"] := http_status
`;

const secret = new TextEncoder().encode('secret');
async function hs256(payload: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ nbf: now - 60, exp: now + 3600, ...payload })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(secret);
}
const bearer = (token: string) => envoyHeaders({ authorization: `Bearer ${token}` });
// sub is base64url("alice") / base64url("bob"), as in the tutorial's tokens
const GUEST = { role: 'guest', sub: 'YWxpY2U=' };
const ADMIN = { role: 'admin', sub: 'Ym9i' };

describe('Envoy tutorial / primer JWT policy (io.jwt.decode_verify)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await withSidecar(PRIMER_JWT_POLICY, 'envoy/authz/allow');
  });
  afterAll(async () => t?.close());

  it('lets a guest GET /people/1 and refuses its POST /people: OK, then PERMISSION_DENIED 403', async () => {
    const token = await hs256(GUEST);
    expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/people/1', headers: bearer(token) })), {
      allowed: true,
    });
    const body = '{"firstname":"Charlie","lastname":"Opa"}';
    const post = checkRequest({
      method: 'POST',
      path: '/people',
      body,
      headers: { ...bearer(token), 'content-type': 'application/json' },
    });
    expectOpaEnvoyAnswer(await t.client.check(post), { allowed: false });
  });

  it('lets an admin POST /people for someone else, not for itself (firstname == decoded sub)', async () => {
    const token = await hs256(ADMIN);
    const headers = { ...bearer(token), 'content-type': 'application/json' };
    const other = checkRequest({ method: 'POST', path: '/people', body: '{"firstname":"Charlie"}', headers });
    expectOpaEnvoyAnswer(await t.client.check(other), { allowed: true });
    const self = checkRequest({ method: 'POST', path: '/people', body: '{"firstname":"Bob"}', headers });
    expectOpaEnvoyAnswer(await t.client.check(self), { allowed: false });
  });

  it('refuses a token signed with another secret, an expired one, and none: PERMISSION_DENIED 403', async () => {
    const forged = await new SignJWT(GUEST)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('other'));
    const expired = await hs256({ ...GUEST, nbf: 1514851139, exp: 1641081539 });
    for (const headers of [bearer(forged), bearer(expired), envoyHeaders()]) {
      expectOpaEnvoyAnswer(await t.client.check(checkRequest({ path: '/people/1', headers })), { allowed: false });
    }
  });
});

describe('Envoy primer "Additional Controls" decision object (io.jwt.decode_verify)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await withSidecar(PRIMER_CONTROLS_POLICY, 'envoy/authz/result');
  });
  afterAll(async () => t?.close());

  it('allows a guest GET /people/1 with the extra upstream headers, removals and response header', async () => {
    const res = await t.client.check(checkRequest({ path: '/people/1', headers: bearer(await hs256(GUEST)) }));
    expectOpaEnvoyAnswer(res, { allowed: true });
    expect(headerMap(res.okResponse?.headers)).toMatchObject({
      'x-ext-auth-allow': 'yes',
      'x-validated-by': 'security-checkpoint',
    });
    expect(res.okResponse?.headersToRemove).toEqual(['one-auth-header', 'another-auth-header']);
    expect(headerMap(res.okResponse?.responseHeadersToAdd)).toEqual({ 'x-foo': 'bar' });
  });

  it('answers 401 "Authentication Failed" without a valid token, 403 "Unauthorized Request" for a wrong action', async () => {
    const none = await t.client.check(checkRequest({ path: '/people/1', headers: envoyHeaders() }));
    expectOpaEnvoyAnswer(none, {
      allowed: false,
      status: 401,
      body: 'Authentication Failed',
      headers: { 'x-ext-auth-allow': 'yes' },
    });
    const wrong = await t.client.check(
      checkRequest({ method: 'DELETE', path: '/people/1', headers: bearer(await hs256(GUEST)) }),
    );
    expectOpaEnvoyAnswer(wrong, { allowed: false, status: 403, body: 'Unauthorized Request' });
  });
});
