// The example policies under policies/examples/<name>/, each compiled alone from its own directory with its
// own package and entrypoint, and evaluated through the real opa-wasm SDK.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../../src/contract/index.js';
import { validateRequest } from '../../src/contract/validateRequest.js';
import { envoyInput, identity, loadPolicy, policiesDir, type EvaluablePolicy, type RequestSpec } from './harness.js';

function example(
  name: string,
  entrypoint: string,
): (spec: RequestSpec) => Record<string, unknown> | boolean | undefined {
  let policy: EvaluablePolicy;
  beforeAll(async () => {
    policy = await loadPolicy(path.join(policiesDir, 'examples', name), entrypoint);
  });
  return (spec) => policy.decide(envoyInput(spec)) as Record<string, unknown> | boolean | undefined;
}

describe('examples/rbac (boolean decision)', () => {
  const decide = example('rbac', 'examples/rbac/allow');

  it('lets a reader GET reports and nothing else', () => {
    const reader = identity({ sub: 'r', roles: ['reader'] });
    expect(decide({ path: '/reports/2026', identity: reader })).toBe(true);
    expect(decide({ method: 'POST', path: '/reports', identity: reader })).toBe(false);
    expect(decide({ path: '/audit', identity: reader })).toBe(false);
  });

  it('reads roles from a space-separated scope claim as well as from a roles list', () => {
    const scoped = identity({ sub: 's', scope: 'openid writer' });
    expect(decide({ method: 'DELETE', path: '/reports/1', identity: scoped })).toBe(true);
    expect(decide({ path: '/audit', identity: identity({ sub: 'a', scope: 'auditor', roles: ['reader'] }) })).toBe(
      true,
    );
  });

  it('answers false without a token or for an unknown role', () => {
    expect(decide({ path: '/reports' })).toBe(false);
    expect(decide({ path: '/reports', identity: identity({ sub: 'x', roles: ['superuser'] }) })).toBe(false);
  });

  it('matches grants by whole path segments (/reports does not open /reportsX)', () => {
    expect(decide({ path: '/reportsX', identity: identity({ sub: 'w', roles: ['writer'] }) })).toBe(false);
  });
});

describe('examples/tenant-isolation (per-tenant paths)', () => {
  const decide = example('tenant-isolation', 'examples/tenant_isolation/allow');
  const acme = identity({ sub: 'u1', tenant: 'acme' });

  it('allows a token into its own tenant and forwards the tenant as x-tenant-id', () => {
    expect(decide({ path: '/tenants/acme/invoices/9', identity: acme })).toEqual({
      allowed: true,
      headers: { 'x-tenant-id': 'acme' },
    });
  });

  it("refuses another tenant's path with 403 and a JSON body", () => {
    const decision = decide({ path: '/tenants/globex/invoices', identity: acme }) as Record<string, unknown>;
    expect(decision.allowed).toBe(false);
    expect(decision.http_status).toBe(403);
    expect(JSON.parse(decision.body as string)).toHaveProperty('error');
  });

  it('accepts a tenants list claim, and platform admins everywhere', () => {
    const multi = identity({ sub: 'u2', tenants: ['acme', 'initech'] });
    expect((decide({ path: '/tenants/initech/x', identity: multi }) as Record<string, unknown>).allowed).toBe(true);
    const operator = identity({ sub: 'op', roles: ['platform-admin'] });
    expect((decide({ path: '/tenants/globex/x', identity: operator }) as Record<string, unknown>).allowed).toBe(true);
  });

  it('refuses the empty tenant segment of /tenants//x even to a token with an empty tenant claim', () => {
    const empty = identity({ sub: 'u3', tenant: '' });
    expect((decide({ path: '/tenants//x', identity: empty }) as Record<string, unknown>).allowed).toBe(false);
  });

  it('refuses dot segments, so an encoded "/../" cannot lead from one tenant into another', () => {
    expect((decide({ path: '/tenants/acme%2F..%2Fglobex/x', identity: acme }) as Record<string, unknown>).allowed).toBe(
      false,
    );
    expect((decide({ path: '/tenants/acme/../globex/x', identity: acme }) as Record<string, unknown>).allowed).toBe(
      false,
    );
    expect((decide({ path: '/profile/./x', identity: acme }) as Record<string, unknown>).allowed).toBe(false);
  });

  it('lets any verified token reach non-tenant paths, and answers 401 without a token', () => {
    expect(decide({ path: '/profile', identity: acme })).toEqual({ allowed: true });
    expect((decide({ path: '/tenants/acme/x' }) as Record<string, unknown>).http_status).toBe(401);
  });
});

describe('examples/allowlist (method and path allowlist)', () => {
  const decide = example('allowlist', 'examples/allowlist/allow');

  it('allows listed endpoints, with "*" matching exactly one segment', () => {
    expect(decide({ path: '/products' })).toEqual({ allowed: true });
    expect(decide({ path: '/products/42' })).toEqual({ allowed: true });
    expect(decide({ method: 'DELETE', path: '/orders/7' })).toEqual({ allowed: true });
  });

  it('answers 404 for unlisted paths, including deeper ones under a listed prefix', () => {
    expect((decide({ path: '/admin' }) as Record<string, unknown>).http_status).toBe(404);
    expect((decide({ path: '/products/42/secret' }) as Record<string, unknown>).http_status).toBe(404);
    expect((decide({ path: '/products/' }) as Record<string, unknown>).http_status).toBe(404);
  });

  it('answers 405 with an allow header naming the permitted methods for a listed path', () => {
    const decision = decide({ method: 'PUT', path: '/orders/7' }) as Record<string, unknown>;
    expect(decision.allowed).toBe(false);
    expect(decision.http_status).toBe(405);
    expect((decision.headers as Record<string, string>).allow).toBe('DELETE, GET');
  });
});

describe('examples/upstream-headers (identity headers for the upstream)', () => {
  const decide = example('upstream-headers', 'examples/upstream_headers/allow');

  it('sets x-user-id, x-user-email, x-tenant-id and x-user-roles from string claims and strips the token', () => {
    const decision = decide({
      path: '/anything',
      identity: identity({ sub: 'u-42', email: 'ada@example.com', tenant: 'acme', roles: ['writer', 'reader'] }),
      headers: { authorization: 'Bearer abc' },
    }) as Record<string, unknown>;
    expect(decision.allowed).toBe(true);
    expect(decision.headers).toEqual({
      'x-user-id': 'u-42',
      'x-user-email': 'ada@example.com',
      'x-tenant-id': 'acme',
      'x-user-roles': 'reader,writer',
    });
    expect(decision.request_headers_to_remove).toEqual(['authorization']);
    expect(decision.response_headers_to_add).toEqual({ 'x-authorized-by': 'portcullis/upstream-headers' });
    expect(decision.dynamic_metadata).toEqual({ subject: 'u-42' });
  });

  it('removes the headers it has no claim for, so a client cannot forge them', () => {
    const decision = decide({
      path: '/anything',
      identity: identity({ sub: 'u-1', email: 42 }),
      headers: { 'x-user-email': 'forged@example.com', 'x-tenant-id': 'globex' },
    }) as Record<string, unknown>;
    expect(decision.headers).toEqual({ 'x-user-id': 'u-1' });
    expect(decision.request_headers_to_remove).toEqual([
      'authorization',
      'x-user-email',
      'x-tenant-id',
      'x-user-roles',
    ]);
  });

  it('denies with 401 without a verified token', () => {
    expect(decide({ path: '/anything' })).toEqual({ allowed: false, http_status: 401 });
  });
});

describe('examples/openapi-operations (grants by operationId)', () => {
  let policy: EvaluablePolicy;
  let contract: Awaited<ReturnType<typeof loadContract>>;
  beforeAll(async () => {
    policy = await loadPolicy(
      path.join(policiesDir, 'examples', 'openapi-operations'),
      'examples/openapi_operations/allow',
    );
    contract = await loadContract([path.join(policiesDir, '..', 'test', 'fixtures', 'openapi', 'petstore.yaml')]);
  });
  /** The input as the sidecar builds it: input.openapi comes from the contract stage on the test petstore. */
  const decide = (spec: RequestSpec): unknown => {
    const request = { method: spec.method ?? 'GET', path: spec.path, headers: spec.headers ?? {}, sourceAddress: '' };
    const evaluation = validateRequest(contract.table, request, null);
    return policy.decide({ ...envoyInput(spec), openapi: evaluation.kind === 'matched' ? evaluation.openapi : null });
  };

  it('grants a role the operations listed for it, and nothing else', () => {
    const viewer = identity({ sub: 'v', roles: ['viewer'] });
    expect(decide({ path: '/api/v1/pets?limit=5', identity: viewer })).toBe(true);
    expect(decide({ path: '/api/v1/pets/mine', identity: viewer })).toBe(true);
    expect(decide({ method: 'POST', path: '/api/v1/pets', identity: viewer })).toBe(false);
    expect(decide({ method: 'POST', path: '/api/v1/pets', identity: identity({ sub: 'c', roles: ['clerk'] }) })).toBe(
      true,
    );
  });

  it('lets anyone call the public operation, and nobody an undocumented path', () => {
    expect(decide({ path: '/api/v1/health' })).toBe(true);
    expect(decide({ path: '/api/v1/pets' })).toBe(false);
    expect(decide({ path: '/api/v1/admin/export', identity: identity({ sub: 'a', roles: ['admin'] }) })).toBe(false);
  });

  it('keeps admins off deprecated operations', () => {
    const admin = identity({ sub: 'a', roles: ['admin'] });
    expect(decide({ path: '/api/v1/pets/3', identity: admin })).toBe(true);
    expect(decide({ method: 'DELETE', path: '/api/v1/pets/3', identity: admin })).toBe(false);
  });

  it('compares typed path parameters: an owner deletes pet 7, not pet 8', () => {
    const owner = identity({ sub: 'o', pets: [7] });
    expect(decide({ method: 'DELETE', path: '/api/v1/pets/7', identity: owner })).toBe(true);
    expect(decide({ method: 'DELETE', path: '/api/v1/pets/8', identity: owner })).toBe(false);
  });
});
