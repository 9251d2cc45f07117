// The OpenAPI contract stage through the real sidecar: a petstore-like document ($refs in separate files),
// real Rego policies reading input.openapi, real tokens, Envoy's CheckRequest over gRPC.
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, headerMap, type CheckResponse, type HttpRequestSpec } from '../helpers/checkClient.js';
import { runMain } from '../helpers/captureOutput.js';
import { makeTempDir, startTestSidecar, writeFiles, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const FIXTURES = resolve('test/fixtures/openapi');
const PETSTORE = join(FIXTURES, 'petstore.yaml');
const REQUEST_ID = '3f1c0a52-5b1e-4a36-9a8e-8e8a3c1f6f10';

// Grants by operationId; deletePet is never granted, and a request matching no operation passes (it is
// counted in the inventory instead).
const BY_OPERATION = `package envoy.authz

import rego.v1

default allow := false

granted := {"listPets", "listMyPets", "showPetById", "createPet", "uploadPhoto", "health", "updateOrder"}

allow if input.openapi.operationId in granted

allow if input.openapi == null
`;

const status = (res: CheckResponse): number => res.deniedResponse?.status?.code ?? 200;
const problemOf = (
  res: CheckResponse,
): {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors: Array<{ in: string; name: string; message: string }>;
} => JSON.parse(res.deniedResponse?.body ?? 'null');

/** GET /api/v1/... with the header every listPets call needs. */
const pets = (spec: HttpRequestSpec): unknown =>
  checkRequest({
    ...spec,
    path: `/api/v1${spec.path ?? ''}`,
    headers: { 'x-request-id': REQUEST_ID, ...(spec.headers ?? {}) },
  });

async function metric(t: TestSidecar, pattern: RegExp): Promise<number> {
  const match = pattern.exec(await (await fetch(`${t.adminUrl}/metrics`)).text());
  return match === null ? 0 : Number(match[1]);
}

/** The policy input of the last check, from the decision log (decisionLog.includeInput). */
function lastInput(t: TestSidecar): Record<string, unknown> {
  const decisions = t.logs.filter((l) => l['log'] === 'decision');
  return decisions[decisions.length - 1]?.['input'] as Record<string, unknown>;
}

async function eventually(probe: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('openapi enforce mode', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': BY_OPERATION },
      config: {
        openapi: { specs: [PETSTORE, join(FIXTURES, 'orders-3.0.json')], mode: 'enforce', unknownOperations: 'allow' },
        decisionLog: { includeInput: true },
      },
    });
  });
  afterAll(async () => t?.close());

  it('passes a valid request and gives the policy input.openapi', async () => {
    expect(status(await t.client.check(pets({ path: '/pets?limit=10&status=available,sold' })))).toBe(200);
    expect(lastInput(t)['openapi']).toEqual({
      operationId: 'listPets',
      tags: ['pets'],
      pathParams: {},
      deprecated: false,
      security: [{ oauth: ['pets:read'] }],
      bodyValidated: false,
    });
  });

  it('types path parameters (petId is an integer) and prefers the concrete /pets/mine over /pets/{petId}', async () => {
    expect(status(await t.client.check(pets({ path: '/pets/42' })))).toBe(200);
    expect((lastInput(t)['openapi'] as Record<string, unknown>)['pathParams']).toEqual({ petId: 42 });
    expect(status(await t.client.check(pets({ path: '/pets/mine' })))).toBe(200);
    expect((lastInput(t)['openapi'] as Record<string, unknown>)['operationId']).toBe('listMyPets');
  });

  it('answers 400 application/problem+json for a bad path parameter', async () => {
    const res = await t.client.check(pets({ path: '/pets/abc' }));
    expect(status(res)).toBe(400);
    expect(headerMap(res.deniedResponse?.headers)['content-type']).toBe('application/problem+json');
    const problem = problemOf(res);
    expect(problem).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: 400,
      detail: expect.stringContaining('showPetById'),
    });
    expect(problem.errors).toEqual([{ in: 'path', name: 'petId', message: 'must be integer (type)' }]);
  });

  it('names each failing query parameter and its rule', async () => {
    const res = await t.client.check(pets({ path: '/pets?limit=1000&status=gone' }));
    expect(status(res)).toBe(400);
    expect(problemOf(res).errors).toEqual([
      { in: 'query', name: 'limit', message: 'must be <= 100 (maximum)' },
      { in: 'query', name: 'status', message: expect.stringContaining('(enum)') },
    ]);
  });

  it('refuses a missing or malformed header parameter without echoing its value', async () => {
    const missing = await t.client.check(checkRequest({ path: '/api/v1/pets' }));
    expect(problemOf(missing).errors).toEqual([{ in: 'header', name: 'x-request-id', message: 'is required' }]);
    const malformed = await t.client.check(
      pets({ path: '/pets', headers: { 'x-request-id': 'secret-looking-value' } }),
    );
    expect(problemOf(malformed).errors).toEqual([
      { in: 'header', name: 'x-request-id', message: 'must match format "uuid" (format)' },
    ]);
    expect(malformed.deniedResponse?.body).not.toContain('secret-looking-value');
  });

  it('validates cookie parameters and never echoes a cookie', async () => {
    expect(
      status(await t.client.check(pets({ path: '/pets/7', headers: { cookie: 'session=long-enough-session' } }))),
    ).toBe(200);
    const res = await t.client.check(pets({ path: '/pets/7', headers: { cookie: 'theme=dark; session=s3cr3t' } }));
    expect(problemOf(res).errors).toEqual([
      { in: 'cookie', name: 'session', message: 'must NOT have fewer than 8 characters (minLength)' },
    ]);
    expect(res.deniedResponse?.body).not.toContain('s3cr3t');
  });

  it('validates a JSON body: oneOf, formats, additionalProperties, lengths', async () => {
    const json = { 'content-type': 'application/json' };
    const good = JSON.stringify({
      name: 'Rex',
      kind: { type: 'dog', barks: true },
      birthday: '2020-01-02',
      ownerEmail: 'a@example.com',
    });
    expect(status(await t.client.check(pets({ method: 'POST', path: '/pets', headers: json, body: good })))).toBe(200);
    expect((lastInput(t)['openapi'] as Record<string, unknown>)['bodyValidated']).toBe(true);

    const bad = JSON.stringify({ name: '', kind: { type: 'cow' }, birthday: 'yesterday', extra: 1 });
    const res = await t.client.check(pets({ method: 'POST', path: '/pets', headers: json, body: bad }));
    expect(status(res)).toBe(400);
    const errors = problemOf(res).errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        { in: 'body', name: '/name', message: 'must NOT have fewer than 1 characters (minLength)' },
        { in: 'body', name: '/kind', message: 'must match exactly one schema in oneOf (oneOf)' },
        { in: 'body', name: '/birthday', message: 'must match format "date" (format)' },
        { in: 'body', name: '/extra', message: 'is not allowed (additionalProperties)' },
      ]),
    );
    const notJson = await t.client.check(pets({ method: 'POST', path: '/pets', headers: json, body: '{"name":' }));
    expect(problemOf(notJson).errors).toEqual([{ in: 'body', name: '', message: 'is not valid JSON' }]);
  });

  it('validates a form body, coercing fields to their types', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(
      status(await t.client.check(pets({ method: 'POST', path: '/pets', headers: form, body: 'name=Rex&age=3' }))),
    ).toBe(200);
    const res = await t.client.check(pets({ method: 'POST', path: '/pets', headers: form, body: 'age=old' }));
    expect(problemOf(res).errors).toEqual([
      { in: 'body', name: '/name', message: 'is required (required)' },
      { in: 'body', name: '/age', message: 'must be integer (type)' },
    ]);
  });

  it('refuses a media type the operation does not accept, naming the accepted ones', async () => {
    const res = await t.client.check(
      pets({ method: 'POST', path: '/pets', headers: { 'content-type': 'text/plain' }, body: 'hi' }),
    );
    expect(problemOf(res).errors).toEqual([
      {
        in: 'header',
        name: 'content-type',
        message: 'must be one of: application/json, application/x-www-form-urlencoded',
      },
    ]);
  });

  it('does not validate a truncated body, and says so in input.openapi', async () => {
    const prefix = '{"name": "Rex", "kind": {"ty';
    const res = await t.client.check(
      pets({
        method: 'POST',
        path: '/pets',
        headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' },
        body: prefix,
      }),
    );
    expect(status(res)).toBe(200);
    expect((lastInput(t)['openapi'] as Record<string, unknown>)['bodyValidated']).toBe(false);
  });

  it('validates OpenAPI 3.0 documents too (JSON, deepObject, boolean exclusiveMinimum, nullable)', async () => {
    const path = `/orders-api/orders/${REQUEST_ID}?filter[min]=3`;
    const json = { 'content-type': 'application/json' };
    expect(
      status(
        await t.client.check(
          checkRequest({ method: 'PUT', path, headers: json, body: '{"quantity": 2, "note": null}' }),
        ),
      ),
    ).toBe(200);
    const res = await t.client.check(
      checkRequest({ method: 'PUT', path: `${path.replace('=3', '=x')}`, headers: json, body: '{"quantity": 0}' }),
    );
    expect(problemOf(res).errors).toEqual([
      { in: 'query', name: 'filter', message: 'must be integer (type) at /min' },
      { in: 'body', name: '/quantity', message: 'must be > 0 (minimum)' },
    ]);
  });

  it('lets the policy decide by operationId: deletePet is not granted', async () => {
    const res = await t.client.check(pets({ method: 'DELETE', path: '/pets/1' }));
    expect(status(res)).toBe(403);
    expect(res.status?.message).toBe('policy_denied');
  });

  it('allows unknown operations with input.openapi = null, counts them by method and lists their shapes', async () => {
    for (const id of [1, 2, 3])
      expect(status(await t.client.check(checkRequest({ path: `/api/v1/shadow/${id}/export?x=1` })))).toBe(200);
    await t.client.check(checkRequest({ method: 'POST', path: '/internal/3f1c0a52-5b1e-4a36-9a8e-8e8a3c1f6f10' }));
    expect(lastInput(t)['openapi']).toBeNull();
    expect(await metric(t, /portcullis_unknown_operations_total\{method="GET"\} (\d+)/)).toBe(3);
    const inventory = (await (await fetch(`${t.adminUrl}/v1/inventory`)).json()) as {
      unknown: Array<Record<string, unknown>>;
    };
    expect(inventory.unknown.map(({ method, shape, count }) => ({ method, shape, count }))).toEqual([
      { method: 'GET', shape: '/api/v1/shadow/{id}/export', count: 3 },
      { method: 'POST', shape: '/internal/{id}', count: 1 },
    ]);
    expect(Date.parse(String(inventory.unknown[0]?.['lastSeen']))).not.toBeNaN();
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(text).not.toContain('/shadow/');
  });

  it('counts requests per operation and result', async () => {
    expect(
      await metric(t, /portcullis_openapi_requests_total\{operation="listPets",result="valid"\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric(t, /portcullis_openapi_requests_total\{operation="showPetById",result="invalid"\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('openapi report mode', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': BY_OPERATION },
      config: { openapi: { specs: [PETSTORE], mode: 'report' } },
    });
  });
  afterAll(async () => t?.close());

  it('allows an invalid request, counts it invalid and logs the failing fields without their values', async () => {
    const res = await t.client.check(pets({ path: '/pets?limit=0', headers: { 'x-request-id': 'not-a-uuid' } }));
    expect(status(res)).toBe(200);
    expect(await metric(t, /portcullis_openapi_requests_total\{operation="listPets",result="invalid"\} (\d+)/)).toBe(1);
    const line = t.logs.find((l) => l['msg'] === 'request does not match the API contract (report mode)');
    expect(line?.['errors']).toEqual([
      { in: 'query', name: 'limit', message: 'must be >= 1 (minimum)' },
      { in: 'header', name: 'x-request-id', message: 'must match format "uuid" (format)' },
    ]);
    expect(JSON.stringify(line)).not.toContain('not-a-uuid');
  });
});

describe('openapi unknownOperations: deny', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': BY_OPERATION },
      config: { openapi: { specs: [PETSTORE], unknownOperations: 'deny' } },
    });
  });
  afterAll(async () => t?.close());

  it('answers 404 for a path no operation describes', async () => {
    const res = await t.client.check(checkRequest({ path: '/api/v1/admin/users' }));
    expect(status(res)).toBe(404);
    expect(res.status?.message).toBe('unknown_operation');
    expect(await metric(t, /portcullis_unknown_operations_total\{method="GET"\} (\d+)/)).toBe(1);
  });

  it('answers 405 with allow when the path matches but the method does not', async () => {
    const res = await t.client.check(checkRequest({ method: 'PATCH', path: '/api/v1/pets/42' }));
    expect(status(res)).toBe(405);
    expect(headerMap(res.deniedResponse?.headers)['allow']).toBe('DELETE, GET');
  });

  it('matches only under the server base path', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/pets/42' })))).toBe(404);
    expect(status(await t.client.check(checkRequest({ path: '/api/v1/health' })))).toBe(200);
  });
});

describe('openapi enforceScopes', () => {
  let t: TestSidecar;
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer();
    const dir = makeTempDir();
    t = await startTestSidecar({
      files: { 'policies/authz.rego': BY_OPERATION },
      config: {
        jwt: { required: false, providers: [issuer.provider(issuer.writeJwksFile(dir))] },
        openapi: { specs: [PETSTORE], enforceScopes: true },
      },
    });
  });
  afterAll(async () => t?.close());

  const bearer = async (claims: Record<string, unknown>) => ({
    authorization: `Bearer ${await issuer.sign({ sub: 'u1', ...claims })}`,
  });
  const createPet = (headers: Record<string, string>) =>
    pets({
      method: 'POST',
      path: '/pets',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{"name":"Rex","kind":{"type":"cat","indoor":true}}',
    });

  it('refuses a token without the operation scope: 403 insufficient_scope naming the scope', async () => {
    const res = await t.client.check(createPet(await bearer({ scope: 'openid pets:read' })));
    expect(status(res)).toBe(403);
    expect(res.status?.message).toBe('insufficient_scope');
    expect(headerMap(res.deniedResponse?.headers)['www-authenticate']).toBe(
      'Bearer realm="portcullis", error="insufficient_scope", scope="pets:write"',
    );
  });

  it('accepts the scope from `scope` (space-separated) or `scp` (a list)', async () => {
    expect(status(await t.client.check(createPet(await bearer({ scope: 'openid pets:write' }))))).toBe(200);
    expect(status(await t.client.check(createPet(await bearer({ scp: ['pets:write'] }))))).toBe(200);
    expect(status(await t.client.check(pets({ path: '/pets', headers: await bearer({ scp: ['pets:read'] }) })))).toBe(
      200,
    );
  });

  it('needs no scope for operations with security: [], or without a token (the policy decides)', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/api/v1/health', headers: await bearer({}) })))).toBe(200);
    expect(status(await t.client.check(createPet({})))).toBe(200);
  });

  it('counts an alternative without token scopes (apiKey) as satisfied', async () => {
    // deletePet: oauth pets:admin OR apiKey; the scope check passes, the policy (which never grants it) refuses.
    const res = await t.client.check(
      pets({ method: 'DELETE', path: '/pets/1', headers: await bearer({ scope: 'pets:read' }) }),
    );
    expect(res.status?.message).toBe('policy_denied');
  });
});

describe('openapi reload (policy.watch)', () => {
  let t: TestSidecar;
  let specDir: string;
  beforeAll(async () => {
    specDir = join(makeTempDir(), 'openapi');
    cpSync(FIXTURES, specDir, { recursive: true });
    t = await startTestSidecar({
      files: { 'policies/authz.rego': BY_OPERATION },
      config: { policy: { watch: true }, openapi: { specs: [join(specDir, 'petstore.yaml')] } },
    });
  });
  afterAll(async () => t?.close());

  const write = (relative: string, text: string): void => writeFiles(specDir, { [relative]: text });
  const PARAMETERS = `limit:\n  name: limit\n  in: query\n  schema: {type: integer, minimum: 1, maximum: MAX}\npetId:\n  name: petId\n  in: path\n  required: true\n  schema: {type: integer, minimum: 1}\n`;

  it('puts a changed referenced file in force without a restart', async () => {
    expect(status(await t.client.check(pets({ path: '/pets?limit=50' })))).toBe(200);
    write('components/parameters.yaml', PARAMETERS.replace('MAX', '10'));
    await eventually(
      async () => status(await t.client.check(pets({ path: '/pets?limit=50' }))) === 400,
      'the new maximum',
    );
    expect(await metric(t, /portcullis_openapi_reloads_total\{result="success"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  });

  it('keeps the last good documents when an edit breaks them, and logs the file and pointer', async () => {
    write('components/parameters.yaml', PARAMETERS.replace('MAX', '10').replace('petId:', 'petIdentifier:'));
    await eventually(
      async () => (await metric(t, /portcullis_openapi_reloads_total\{result="error"\} (\d+)/)) >= 1,
      'the reload error',
    );
    expect(status(await t.client.check(pets({ path: '/pets?limit=50' })))).toBe(400);
    expect(status(await t.client.check(pets({ path: '/pets/3' })))).toBe(200);
    const line = t.logs.find((l) => l['msg'] === 'openapi reload failed; keeping the last good documents');
    expect(JSON.stringify(line?.['err'])).toMatch(/parameters\.yaml.*#\/petId/);
  });
});

describe('openapi start-up errors', () => {
  it('exits 2 naming the file and the JSON pointer of a broken document', async () => {
    const dir = makeTempDir();
    writeFiles(dir, {
      'policies/authz.rego': 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
      'api.yaml':
        'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths:\n  /x:\n    get:\n      parameters:\n        - {name: id, schema: {type: integer}}\n      responses: {"200": {description: ok}}\n',
      'c.yaml': `grpc: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\npolicy: { path: ${join(dir, 'policies')}, watch: false }\nopenapi: { specs: [${join(dir, 'api.yaml')}] }\nlogLevel: silent\n`,
    });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(dir, 'api.yaml')}: #/paths/~1x/get/parameters/0: must have required property 'in'`,
    );
  }, 120_000);

  const document = (version: string, schema: object): string =>
    JSON.stringify({
      openapi: version,
      info: { title: 't', version: '1' },
      paths: {
        '/x': { get: { parameters: [{ name: 'q', in: 'query', schema }], responses: { 200: { description: 'ok' } } } },
      },
    });

  it.each([
    [
      '3.0 (the official schema refuses it)',
      document('3.0.3', { type: 'strnig' }),
      '#/paths/~1x/get/parameters/0/schema/type: must be equal to one of the allowed values',
    ],
    [
      '3.1 (ajv cannot compile it)',
      document('3.1.0', { type: 'string', pattern: '(' }),
      '#/paths/~1x/get/parameters/0: schema does not compile: Invalid regular expression',
    ],
  ])(
    'names a broken schema in a %s document',
    async (_name, text, expected) => {
      const dir = makeTempDir();
      writeFiles(dir, {
        'policies/authz.rego': 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
        'api.json': text,
        'c.yaml': `grpc: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\npolicy: { path: ${join(dir, 'policies')}, watch: false }\nopenapi: { specs: [${join(dir, 'api.json')}] }\nlogLevel: silent\n`,
      });
      const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${join(dir, 'api.json')}: ${expected}`);
    },
    120_000,
  );
});

describe('without openapi', () => {
  it('gives the policy input.openapi = null and lists no unknown operations', async () => {
    const t = await startTestSidecar({
      files: { 'policies/authz.rego': BY_OPERATION },
      config: { decisionLog: { includeInput: true } },
    });
    try {
      expect(status(await t.client.check(checkRequest({ path: '/api/v1/pets/abc' })))).toBe(200);
      expect(lastInput(t)).toHaveProperty('openapi', null);
      expect(await (await fetch(`${t.adminUrl}/v1/inventory`)).json()).toEqual({ unknown: [] });
    } finally {
      await t.close();
    }
  });
});
