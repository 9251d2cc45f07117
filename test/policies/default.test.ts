// The default policy (policies/authz.rego + policies/data.json, entrypoint envoy/authz/allow), compiled the
// way `portcullis serve` compiles ./policies: every .rego under the directory, examples included.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { envoyInput, identity, loadPolicy, policiesDir, readJson, type EvaluablePolicy } from './harness.js';

const ENTRYPOINT = 'envoy/authz/allow';
const data = readJson(path.join(policiesDir, 'data.json')) as Record<string, unknown>;

let policy: EvaluablePolicy;
beforeAll(async () => {
  policy = await loadPolicy(policiesDir, ENTRYPOINT, data);
});

const viewer = identity({ sub: 'u-viewer', roles: ['viewer'] });
const clerk = identity({ sub: 'u-clerk', roles: ['clerk'] });
const admin = identity({ sub: 'u-admin', roles: ['admin'] });

type Decision = {
  allowed: boolean;
  http_status?: number;
  headers?: Record<string, string>;
  body?: string;
  request_headers_to_remove?: string[];
};
const decide = (spec: Parameters<typeof envoyInput>[0]): Decision => policy.decide(envoyInput(spec)) as Decision;

describe('default policy: health probes', () => {
  it('allows GET /healthz and GET /readyz without a token', () => {
    expect(decide({ path: '/healthz' })).toEqual({ allowed: true });
    expect(decide({ path: '/readyz' })).toEqual({ allowed: true });
  });

  it('does not treat other methods or deeper paths as probes', () => {
    expect(decide({ method: 'POST', path: '/healthz' }).allowed).toBe(false);
    expect(decide({ path: '/healthz/extra' }).allowed).toBe(false);
    expect(decide({ path: '/healthzz' }).allowed).toBe(false);
  });
});

describe('default policy: /api requires a verified token', () => {
  it('answers 401 with a JSON body and a Bearer challenge when input.identity is null', () => {
    const decision = decide({ path: '/api/orders' });
    expect(decision.allowed).toBe(false);
    expect(decision.http_status).toBe(401);
    expect(decision.headers?.['www-authenticate']).toBe('Bearer realm="portcullis"');
    expect(decision.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(decision.body!)).toEqual({ error: 'authentication required' });
  });

  it('answers 401 for the bare /api path and for a query string too', () => {
    expect(decide({ path: '/api' }).http_status).toBe(401);
    expect(decide({ path: '/api/orders?limit=5' }).http_status).toBe(401);
  });
});

describe('default policy: roles from claims -> permissions in data.json', () => {
  it('allows a viewer to read orders and forwards the subject as x-user-id', () => {
    expect(decide({ path: '/api/orders/42', identity: viewer })).toEqual({
      allowed: true,
      headers: { 'x-user-id': 'u-viewer' },
      request_headers_to_remove: [],
    });
  });

  it('denies a viewer writing orders with a plain 403 (Portcullis adds the body and decision_id)', () => {
    expect(decide({ method: 'POST', path: '/api/orders', identity: viewer })).toEqual({ allowed: false });
  });

  it('allows a clerk to write orders but not to read users', () => {
    expect(decide({ method: 'POST', path: '/api/orders', identity: clerk }).allowed).toBe(true);
    expect(decide({ path: '/api/users', identity: clerk }).allowed).toBe(false);
  });

  it('allows an admin everything data.json routes describe', () => {
    expect(decide({ method: 'DELETE', path: '/api/users/7', identity: admin }).allowed).toBe(true);
    expect(decide({ path: '/api/me', identity: admin }).allowed).toBe(true);
  });

  it('denies /api paths no route describes, even for an admin (closed by default)', () => {
    expect(decide({ path: '/api/internal/debug', identity: admin }).allowed).toBe(false);
  });

  it('matches route paths by whole segments: /api/orders does not open /api/orders-export', () => {
    expect(decide({ path: '/api/orders-export', identity: admin }).allowed).toBe(false);
  });

  it('grants nothing for a token without roles, or with roles that are not a list of strings', () => {
    expect(decide({ path: '/api/orders', identity: identity({ sub: 'u1' }) }).allowed).toBe(false);
    expect(decide({ path: '/api/orders', identity: identity({ sub: 'u1', roles: 'admin' }) }).allowed).toBe(false);
    expect(decide({ path: '/api/orders', identity: identity({ sub: 'u1', roles: [{ name: 'admin' }] }) }).allowed).toBe(
      false,
    );
  });

  it('removes a client-sent x-user-id when the token has no subject to put there', () => {
    const noSubject = identity({ roles: ['viewer'] });
    expect(decide({ path: '/api/orders', identity: noSubject, headers: { 'x-user-id': 'forged' } })).toEqual({
      allowed: true,
      headers: {},
      request_headers_to_remove: ['x-user-id'],
    });
  });

  it('reads routes and roles from data, so a new data document opens a new endpoint without a new policy', async () => {
    const extended = {
      ...data,
      routes: [...(data.routes as unknown[]), { path: '/api/reports', methods: ['GET'], permission: 'reports:read' }],
      roles: { ...(data.roles as Record<string, string[]>), analyst: ['reports:read'] },
    };
    const withReports = await loadPolicy(policiesDir, ENTRYPOINT, extended);
    const analyst = identity({ sub: 'u-analyst', roles: ['analyst'] });
    expect(decide({ path: '/api/reports', identity: analyst }).allowed).toBe(false);
    expect((withReports.decide(envoyInput({ path: '/api/reports', identity: analyst })) as Decision).allowed).toBe(
      true,
    );
  });
});

describe('default policy: everything else', () => {
  it('allows anonymous GET and HEAD under the public paths only', () => {
    expect(decide({ path: '/public/logo.png' })).toEqual({ allowed: true });
    expect(decide({ method: 'HEAD', path: '/public' })).toEqual({ allowed: true });
    expect(decide({ method: 'POST', path: '/public/upload' }).allowed).toBe(false);
    expect(decide({ path: '/publicity' }).allowed).toBe(false);
  });

  it('denies any other path, with or without a token', () => {
    expect(decide({ path: '/' }).allowed).toBe(false);
    expect(decide({ path: '/admin', identity: admin }).allowed).toBe(false);
  });

  it('does not let a double slash skip the /api rules: //api/orders is judged as /api/orders', () => {
    expect(decide({ path: '//api/orders' })).toEqual(decide({ path: '/api/orders' }));
    expect(decide({ path: '//api/orders' }).allowed).toBe(false);
    expect(decide({ path: '//api/orders', identity: admin })).toEqual(decide({ path: '/api/orders', identity: admin }));
  });

  it('sees percent-encoded segments decoded: /api/%6Frders/1 is /api/orders/1', () => {
    expect(decide({ path: '/api/%6Frders/1' }).http_status).toBe(401);
    expect(decide({ path: '/api/%6Frders/1', identity: viewer }).allowed).toBe(true);
  });
});
