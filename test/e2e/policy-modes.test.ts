// policy.dryRun, policy.onError, policy.onUndefined and OPA's /health API, through the real sidecar and a gRPC
// client on Envoy's protos.
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthAnswer } from '../../src/server/healthApi.js';
import { checkRequest, headerMap, metadataField, type CheckResponse } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const POLICY = `package envoy.authz

import rego.v1

route := input.parsed_path[0]

decision := {"allowed": true, "headers": {"x-policy": "allowed"}} if route == "open"

decision := {
	"allowed": false,
	"http_status": 404,
	"body": "hidden",
	"headers": {"x-policy": "denied"},
	"dynamic_metadata": {"would": "deny"},
} if route == "closed"

decision := true if route == "conflict"

decision := false if route == "conflict"

decision := "yes" if route == "wrong-type"
`;

const GRPC = { OK: 0, UNKNOWN: 2, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 };

async function metric(t: TestSidecar, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(' ')[1]);
}

const logOf = (t: TestSidecar, res: CheckResponse) =>
  t.logs.find((l) => l['decision_id'] === metadataField(res, 'decision_id'));

describe('policy.dryRun', () => {
  let t: TestSidecar;
  let issuer: TestIssuer;
  let token: string;
  beforeAll(async () => {
    issuer = await createTestIssuer();
    token = await issuer.sign({ sub: 'alice' });
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: {
        policy: { entrypoint: 'envoy/authz/decision', dryRun: true },
        jwt: { providers: [issuer.provider(jwksFile, { forwardClaims: { 'x-user-id': 'sub' } })] },
      },
    });
  });
  afterAll(async () => t?.close());
  const ask = (path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
    t.client.check(checkRequest({ path, headers }));

  it("allows what the policy denies, without the denial's headers and body, keeping its dynamic_metadata", async () => {
    const res = await ask('/closed');
    expect(res.status?.code).toBe(GRPC.OK);
    expect(res.deniedResponse).toBeUndefined();
    expect(headerMap(res.okResponse?.headers)).toEqual({ 'x-user-id': 'alice' });
    expect(metadataField(res, 'would')).toBe('deny');
  });

  it('logs the real decision (denied, 404, policy_denied) marked dry_run, and counts it', async () => {
    const before = (await metric(t, 'portcullis_dry_run_denials_total{reason="policy_denied"}')) ?? 0;
    const res = await ask('/closed');
    expect(logOf(t, res)).toMatchObject({ result: 'denied', status: 404, reason: 'policy_denied', dry_run: true });
    expect(await metric(t, 'portcullis_dry_run_denials_total{reason="policy_denied"}')).toBe(before + 1);
    expect(await metric(t, 'portcullis_checks_total{result="allowed",reason="allowed"}')).toBeGreaterThan(0);
    expect(await metric(t, 'portcullis_checks_total{result="denied",reason="policy_denied"}')).toBeUndefined();
  });

  it('allows an undefined decision, an evaluation error and a wrong type too, counting each reason', async () => {
    for (const [path, reason] of [
      ['/nothing', 'undefined_decision'],
      ['/conflict', 'policy_error'],
      ['/wrong-type', 'decision_type'],
    ] as const) {
      const res = await ask(path);
      expect(res.status?.code, path).toBe(GRPC.OK);
      expect(logOf(t, res), path).toMatchObject({ reason, dry_run: true });
      expect(await metric(t, `portcullis_dry_run_denials_total{reason="${reason}"}`), path).toBe(1);
    }
  });

  it("leaves the policy's allow as it is, headers included", async () => {
    const res = await ask('/open');
    expect(res.status?.code).toBe(GRPC.OK);
    expect(headerMap(res.okResponse?.headers)['x-policy']).toBe('allowed');
    expect(logOf(t, res)?.['dry_run']).toBeUndefined();
  });

  it('still refuses a missing token with 401: dryRun covers the policy, not token verification', async () => {
    const res = await ask('/closed', {});
    expect(res.status?.code).toBe(GRPC.UNAUTHENTICATED);
    expect(res.deniedResponse?.status?.code).toBe(401);
  });
});

describe('policy.onError: error and policy.onUndefined: error', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: { policy: { entrypoint: 'envoy/authz/decision', onError: 'error', onUndefined: 'error' } },
    });
  });
  afterAll(async () => t?.close());

  const failure = async (path: string): Promise<ServiceError> => {
    try {
      await t.client.check(checkRequest({ path }));
    } catch (error) {
      return error as ServiceError;
    }
    throw new Error(`${path}: the Check succeeded; expected a gRPC error`);
  };

  it.each([
    ['/conflict', 'policy_error'],
    ['/wrong-type', 'decision_type'],
    ['/nothing', 'undefined_decision'],
  ])(
    'fails the Check on %s with gRPC UNKNOWN (%s), so Envoy failure_mode_allow / status_on_error decide',
    async (path, reason) => {
      const error = await failure(path);
      expect(error.code).toBe(GRPC.UNKNOWN);
      expect(error.details).toContain(reason);
      const line = t.logs.find((l) => l['reason'] === reason && l['grpc_status'] === 'UNKNOWN');
      expect(line).toMatchObject({ status: null });
      expect(String(error.details)).toContain(String(line?.['decision_id']));
    },
  );

  it('still answers a policy denial with its CheckResponse', async () => {
    const res = await t.client.check(checkRequest({ path: '/closed' }));
    expect(res.status?.code).toBe(GRPC.PERMISSION_DENIED);
    expect(res.deniedResponse?.status?.code).toBe(404);
  });
});

describe('policy.onError and onUndefined: deny (the default)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: { policy: { entrypoint: 'envoy/authz/decision', onError: 'error' } },
    });
  });
  afterAll(async () => t?.close());

  it('answers an undefined decision 403 when only onError is error', async () => {
    const res = await t.client.check(checkRequest({ path: '/nothing' }));
    expect(res.status?.code).toBe(GRPC.PERMISSION_DENIED);
    expect(res.deniedResponse?.status?.code).toBe(403);
  });
});

describe("GET /health (OPA's health API) on the admin port", () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: { policy: { entrypoint: 'envoy/authz/decision' } },
    });
  });
  afterAll(async () => t?.close());

  it.each([
    '/health',
    '/health?plugins',
    '/health?bundles',
    '/health?bundles&plugins',
    '/health?plugins&exclude-plugin=decision_logs',
  ])('answers %s with 200 {} once a policy is loaded', async (path) => {
    const res = await fetch(`${t.adminUrl}${path}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
  });

  it('refuses POST with 405', async () => {
    expect((await fetch(`${t.adminUrl}/health`, { method: 'POST' })).status).toBe(405);
  });
});

describe('healthAnswer', () => {
  it('answers ?plugins 500 with an error while draining, as OPA does when a plugin is not up', () => {
    const draining = { policyLoaded: true, draining: true };
    expect(healthAnswer(new URLSearchParams('plugins'), draining)).toMatchObject({
      status: 500,
      body: { error: expect.any(String) },
    });
    expect(healthAnswer(new URLSearchParams('bundles'), draining).status).toBe(200);
  });

  it('answers every form 500 without a policy (bundles not activated)', () => {
    for (const query of ['', 'bundles', 'plugins']) {
      expect(healthAnswer(new URLSearchParams(query), { policyLoaded: false, draining: false }).status).toBe(500);
    }
  });
});
