// decisionLog.format: opa — OPA's decision-log event, as OPA-Envoy's console decision logs write it, from
// checks sent by a real gRPC client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, metadataField, type CheckResponse } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const POLICY = `package envoy.authz

import rego.v1

route := input.parsed_path[0]

decision := {
	"allowed": true,
	"headers": {"x-user": input.identity.subject, "authorization": "Basic dXBzdHJlYW06c2VjcmV0"},
} if route == "open"

decision := {"allowed": false, "http_status": 404} if route == "closed"

decision := true if route == "conflict"

decision := false if route == "conflict"

decision := {"allowed": false, "http_status": 418} if route == "teapot"
`;

describe('decisionLog.format: opa', () => {
  let t: TestSidecar;
  let issuer: TestIssuer;
  let token: string;
  beforeAll(async () => {
    issuer = await createTestIssuer();
    token = await issuer.sign({ sub: 'alice' });
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: {
        policy: { entrypoint: 'data.envoy.authz.decision' },
        decisionLog: { format: 'opa' },
        jwt: {
          providers: [
            issuer.provider(issuer.writeJwksFile(makeTempDir()), {
              from: [{ header: 'authorization', prefix: 'Bearer ' }, { query: 'access_token' }],
            }),
          ],
        },
      },
    });
  });
  afterAll(async () => t?.close());

  const ask = (
    path: string,
    headers: Record<string, string> = { authorization: `Bearer ${token}`, cookie: 'session=s3cret' },
  ) => t.client.check(checkRequest({ path, headers }));
  const eventOf = (res: CheckResponse) =>
    t.logs.find(
      (l) =>
        l['type'] === 'openpolicyagent.org/decision_logs' && l['decision_id'] === metadataField(res, 'decision_id'),
    );

  it("writes OPA's event: labels, decision_id, path, input, result, timestamp, metrics", async () => {
    const res = await ask('/open/x?access_token=tok&page=2');
    const event = eventOf(res);
    expect(event).toMatchObject({
      msg: 'Decision Log',
      path: 'envoy/authz/decision',
      labels: { id: expect.any(String), version: expect.any(String) },
      result: { allowed: true, headers: { 'x-user': 'alice' } },
      metrics: { timer_rego_query_eval_ns: expect.any(Number), timer_server_handler_ns: expect.any(Number) },
      portcullis: { result: 'allowed', status: 200, reason: 'allowed' },
    });
    expect(Number.isNaN(Date.parse(String(event?.['timestamp'])))).toBe(false);
    const input = event?.['input'] as { parsed_path: string[]; identity: { subject: string } };
    expect(input.parsed_path).toEqual(['open', 'x']);
    expect(input.identity.subject).toBe('alice');
  });

  it('carries the input by default, with the token, cookie and token query parameter removed', async () => {
    const res = await ask('/open/x?access_token=tok&page=2');
    const text = JSON.stringify(eventOf(res));
    expect(text).not.toContain(token);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('access_token=tok');
    expect(text).toContain('"page"');
  });

  it('removes a credential header the decision sets upstream from the logged result', async () => {
    const res = await ask('/open');
    const event = eventOf(res);
    expect((event?.['result'] as { headers: Record<string, string> }).headers).toEqual({ 'x-user': 'alice' });
    expect(JSON.stringify(event)).not.toContain('dXBzdHJlYW06c2VjcmV0');
  });

  it("logs a denial's decision value as the result", async () => {
    const event = eventOf(await ask('/closed'));
    expect(event).toMatchObject({
      result: { allowed: false, http_status: 404 },
      portcullis: { status: 404, reason: 'policy_denied' },
    });
  });

  it('logs an undefined decision and an evaluation error as OPA-Envoy does: error, no result', async () => {
    const undefinedEvent = eventOf(await ask('/nothing'));
    expect(undefinedEvent?.['error']).toEqual({ message: 'undefined decision' });
    expect(undefinedEvent).not.toHaveProperty('result');
    const errorEvent = eventOf(await ask('/conflict'));
    expect(errorEvent?.['error']).toMatchObject({ message: expect.any(String) });
    expect(errorEvent).not.toHaveProperty('result');
    expect(errorEvent).toMatchObject({ portcullis: { reason: 'policy_error', status: 503 } });
  });

  it('logs a decision of the wrong type as an error naming the key, as OPA-Envoy does, not as a result', async () => {
    const event = eventOf(await ask('/teapot'));
    expect(event).not.toHaveProperty('result');
    expect(String((event?.['error'] as { message: string }).message)).toContain('http_status');
  });

  it('logs a check refused before the policy ran with neither result nor error, the reason under portcullis', async () => {
    const event = eventOf(await ask('/open', {}));
    expect(event).not.toHaveProperty('result');
    expect(event).not.toHaveProperty('error');
    expect(event).toMatchObject({ portcullis: { reason: 'missing_token', status: 401 } });
  });

  it('writes no Portcullis-shaped check line next to the event', () => {
    expect(t.logs.filter((l) => l['msg'] === 'check')).toEqual([]);
  });
});

describe('decisionLog.format: opa with includeInput: false', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n' },
      config: { decisionLog: { format: 'opa', includeInput: false } },
    });
  });
  afterAll(async () => t?.close());

  it('leaves the input out (OPA omits an absent input)', async () => {
    const res = await t.client.check(checkRequest({ path: '/' }));
    const event = t.logs.find((l) => l['decision_id'] === metadataField(res, 'decision_id'));
    expect(event).toMatchObject({ result: true, path: 'envoy/authz/allow' });
    expect(event).not.toHaveProperty('input');
  });
});
