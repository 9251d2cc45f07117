// The shipped policies served by the real sidecar: the policies/ directory (default policy, its data.json,
// the examples) loaded by the policy loader, real signed tokens verified by the identity stage, and Checks
// sent over gRPC on Envoy's protos — so the decisions are proven to map onto the CheckResponses Envoy gets.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, headerMap, metadataField, type CheckResponse } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';
import { policiesDir } from './harness.js';

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

/** Every .rego and data.json under policies/, keyed by its path under a `policies/` directory. */
function policyFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name.endsWith('.rego') || entry.name === 'data.json') {
        files[path.join('policies', path.relative(policiesDir, full))] = fs.readFileSync(full, 'utf8');
      }
    }
  };
  visit(policiesDir);
  return files;
}

async function serve(testIssuer: TestIssuer, entrypoint: string): Promise<TestSidecar> {
  const jwksDir = makeTempDir('portcullis-jwks-');
  const served = await startTestSidecar({
    files: policyFiles(),
    config: {
      // Anonymous requests reach the policy, which decides (401 on /api).
      jwt: { required: false, providers: [testIssuer.provider(testIssuer.writeJwksFile(jwksDir))] },
      policy: { path: 'policies', entrypoint, watch: false },
    },
  });
  return {
    ...served,
    async close() {
      await served.close();
      fs.rmSync(jwksDir, { recursive: true, force: true });
    },
  };
}

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const deniedBody = (response: CheckResponse): Record<string, unknown> =>
  JSON.parse(response.deniedResponse!.body!) as Record<string, unknown>;

describe('the default policy, served', () => {
  let served: TestSidecar;
  beforeAll(async () => {
    served = await serve(issuer, 'envoy/authz/allow');
  });
  afterAll(async () => served?.close());

  it('lets GET /healthz through without a token', async () => {
    const response = await served.client.check(checkRequest({ path: '/healthz' }));
    expect(response.status?.code ?? GRPC_OK).toBe(GRPC_OK);
    expect(response.okResponse).toBeDefined();
  });

  it("answers /api without a token with the policy's 401, challenge and JSON body", async () => {
    const response = await served.client.check(checkRequest({ path: '/api/orders' }));
    // Envoy takes the HTTP status from denied_response; the gRPC code only has to say "not OK".
    expect(response.status?.code ?? GRPC_OK).not.toBe(GRPC_OK);
    expect(response.deniedResponse?.status?.code).toBe(401);
    expect(headerMap(response.deniedResponse?.headers)['www-authenticate']).toBe('Bearer realm="portcullis"');
    expect(deniedBody(response)).toEqual({ error: 'authentication required' });
  });

  it('allows a clerk to create an order and sends x-user-id upstream, replacing a forged one', async () => {
    const token = await issuer.sign({ sub: 'u-clerk', roles: ['clerk'] });
    const response = await served.client.check(
      checkRequest({ method: 'POST', path: '/api/orders', headers: { ...bearer(token), 'x-user-id': 'forged' } }),
    );
    expect(response.status?.code ?? GRPC_OK).toBe(GRPC_OK);
    const setUserId = response.okResponse?.headers?.find((h) => h.header.key === 'x-user-id');
    expect(setUserId?.header.value).toBe('u-clerk');
    // Replaced, not appended next to the client's value.
    expect(setUserId?.append?.value ?? false).toBe(false);
    expect(typeof metadataField(response, 'decision_id')).toBe('string');
  });

  it("denies a viewer's write with 403 and Portcullis's body carrying the decision_id", async () => {
    const token = await issuer.sign({ sub: 'u-viewer', roles: ['viewer'] });
    const response = await served.client.check(
      checkRequest({ method: 'POST', path: '/api/orders', headers: bearer(token) }),
    );
    expect(response.status?.code).toBe(GRPC_PERMISSION_DENIED);
    expect(response.deniedResponse?.status?.code).toBe(403);
    expect(deniedBody(response)).toHaveProperty('decision_id');
  });

  it('removes a client-sent x-user-id when the token has no subject', async () => {
    const token = await issuer.sign({ roles: ['viewer'] });
    const response = await served.client.check(
      checkRequest({ path: '/api/orders', headers: { ...bearer(token), 'x-user-id': 'forged' } }),
    );
    expect(response.status?.code ?? GRPC_OK).toBe(GRPC_OK);
    expect(response.okResponse?.headersToRemove).toContain('x-user-id');
  });

  it('never lets a forged token reach the policy: 401 from the identity stage', async () => {
    const token = await issuer.sign({ sub: 'u-admin', roles: ['admin'] });
    const [header, payload] = token.split('.');
    const response = await served.client.check(
      checkRequest({ path: '/api/orders', headers: bearer(`${header}.${payload}.AAAA`) }),
    );
    expect(response.status?.code).toBe(GRPC_UNAUTHENTICATED);
    expect(response.deniedResponse?.status?.code).toBe(401);
    expect(headerMap(response.deniedResponse?.headers)['www-authenticate']).toMatch(/error="invalid_token"/);
  });
});

describe('the upstream-headers example, served', () => {
  let served: TestSidecar;
  beforeAll(async () => {
    served = await serve(issuer, 'examples/upstream_headers/allow');
  });
  afterAll(async () => served?.close());

  it('sets identity headers, strips the bearer token and adds the response header', async () => {
    const token = await issuer.sign({ sub: 'u-42', email: 'ada@example.com', roles: ['writer', 'reader'] });
    const response = await served.client.check(checkRequest({ path: '/reports', headers: bearer(token) }));
    expect(response.status?.code ?? GRPC_OK).toBe(GRPC_OK);
    const upstream = headerMap(response.okResponse?.headers);
    expect(upstream['x-user-id']).toBe('u-42');
    expect(upstream['x-user-email']).toBe('ada@example.com');
    expect(upstream['x-user-roles']).toBe('reader,writer');
    expect(response.okResponse?.headersToRemove).toEqual(expect.arrayContaining(['authorization', 'x-tenant-id']));
    expect(headerMap(response.okResponse?.responseHeadersToAdd)['x-authorized-by']).toBe('portcullis/upstream-headers');
    expect(metadataField(response, 'subject')).toBe('u-42');
  });
});

describe('the allowlist example, served', () => {
  let served: TestSidecar;
  beforeAll(async () => {
    served = await serve(issuer, 'examples/allowlist/allow');
  });
  afterAll(async () => served?.close());

  it("answers a listed path's wrong method with the policy's 405, allow header and body", async () => {
    const response = await served.client.check(checkRequest({ method: 'PUT', path: '/orders/7' }));
    expect(response.deniedResponse?.status?.code).toBe(405);
    expect(headerMap(response.deniedResponse?.headers).allow).toBe('DELETE, GET');
    expect(deniedBody(response)).toEqual({ error: 'method not allowed' });
  });

  it('hides unlisted paths behind 404 and lets listed ones through', async () => {
    expect((await served.client.check(checkRequest({ path: '/internal/metrics' }))).deniedResponse?.status?.code).toBe(
      404,
    );
    expect((await served.client.check(checkRequest({ path: '/products/42' }))).okResponse).toBeDefined();
  });
});
