import { describe, expect, it } from 'vitest';
import { buildAllowResponse, buildDenyResponse } from '../../src/response/buildCheckResponse.js';
import { REASONS, GrpcCode } from '../../src/response/reasons.js';
import { bearerChallenge } from '../../src/response/headers.js';

const header = (res: ReturnType<typeof buildDenyResponse>, name: string) =>
  res.deniedResponse?.headers.find((h) => h.header.key === name)?.header.value;

describe('buildDenyResponse', () => {
  it('answers every denial reason with the status and gRPC code of the table', () => {
    for (const [reason, entry] of Object.entries(REASONS)) {
      if (reason === 'allowed') continue;
      const res = buildDenyResponse({ decisionId: 'd1', reason: reason as never, headers: [], dynamicMetadata: {} });
      expect(res.deniedResponse?.status.code, reason).toBe(entry.httpStatus);
      expect(res.status.code, reason).toBe(entry.grpcCode);
    }
  });

  it('maps 401, 403, 429 and 503 to UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED and UNAVAILABLE', () => {
    expect(REASONS.invalid_token.grpcCode).toBe(GrpcCode.UNAUTHENTICATED);
    expect(REASONS.policy_denied.grpcCode).toBe(GrpcCode.PERMISSION_DENIED);
    expect(REASONS.rate_limited.grpcCode).toBe(GrpcCode.RESOURCE_EXHAUSTED);
    expect(REASONS.policy_error.grpcCode).toBe(GrpcCode.UNAVAILABLE);
  });

  it('sends a JSON body with the error and decision id, and a content-type', () => {
    const res = buildDenyResponse({ decisionId: 'd1', reason: 'policy_denied', headers: [], dynamicMetadata: {} });
    expect(JSON.parse(res.deniedResponse?.body ?? '')).toEqual({ error: 'forbidden', decision_id: 'd1' });
    expect(header(res, 'content-type')).toBe('application/json');
  });

  it("keeps the policy's body and status", () => {
    const res = buildDenyResponse({
      decisionId: 'd1',
      reason: 'policy_denied',
      headers: [{ name: 'content-type', value: 'text/html', append: false }],
      httpStatus: 404,
      body: '<h1>no</h1>',
      dynamicMetadata: {},
    });
    expect(res.deniedResponse?.status.code).toBe(404);
    expect(res.deniedResponse?.body).toBe('<h1>no</h1>');
    expect(res.deniedResponse?.headers.filter((h) => h.header.key === 'content-type')).toHaveLength(1);
  });

  it.each([401, 429, 503, 404])(
    'answers a policy-chosen http_status %i with PERMISSION_DENIED, as OPA-Envoy does for every policy denial',
    (httpStatus) => {
      const res = buildDenyResponse({
        decisionId: 'd',
        reason: 'policy_denied',
        headers: [],
        httpStatus,
        dynamicMetadata: {},
      });
      expect(res.status.code).toBe(GrpcCode.PERMISSION_DENIED);
      expect(res.deniedResponse?.status.code).toBe(httpStatus);
    },
  );

  it('challenges a missing token without an error attribute', () => {
    const res = buildDenyResponse({ decisionId: 'd', reason: 'missing_token', headers: [], dynamicMetadata: {} });
    expect(header(res, 'www-authenticate')).toBe('Bearer realm="portcullis"');
  });

  it('challenges an invalid token with error="invalid_token" and an escaped description', () => {
    const res = buildDenyResponse({
      decisionId: 'd',
      reason: 'invalid_token',
      description: 'token "expired"',
      headers: [],
      dynamicMetadata: {},
    });
    expect(header(res, 'www-authenticate')).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="token \\"expired\\""',
    );
  });

  it('puts decision_id into dynamic_metadata next to the policy metadata', () => {
    const res = buildDenyResponse({ decisionId: 'd9', reason: 'rate_limited', headers: [], dynamicMetadata: { a: 1 } });
    expect(res.dynamicMetadata.fields).toEqual({ a: { numberValue: 1 }, decision_id: { stringValue: 'd9' } });
  });
});

describe('buildAllowResponse', () => {
  it('sets headers with append false and append_action OVERWRITE_IF_EXISTS_OR_ADD', () => {
    const res = buildAllowResponse({
      decisionId: 'd',
      requestHeaders: [
        { name: 'x-user', value: 'a', append: false },
        { name: 'x-user', value: 'b', append: true },
      ],
      requestHeadersToRemove: ['x-debug'],
      responseHeaders: [{ name: 'ratelimit', value: '"r";r=1;t=2', append: false }],
      queryParametersToSet: [{ key: 'p', value: '1' }],
      queryParametersToRemove: ['q'],
      dynamicMetadata: {},
    });
    expect(res.status.code).toBe(0);
    expect(res.okResponse?.headers).toEqual([
      { header: { key: 'x-user', value: 'a' }, append: { value: false }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-user', value: 'b' }, append: { value: true }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(res.okResponse?.headersToRemove).toEqual(['x-debug']);
    expect(res.okResponse?.responseHeadersToAdd[0]?.append).toEqual({ value: false });
    expect(res.okResponse?.queryParametersToSet).toEqual([{ key: 'p', value: '1' }]);
    expect(res.okResponse?.queryParametersToRemove).toEqual(['q']);
    expect(res.dynamicMetadata.fields['decision_id']).toEqual({ stringValue: 'd' });
  });
});

describe('bearerChallenge', () => {
  it('replaces control characters so a description cannot split the header', () => {
    expect(bearerChallenge('invalid_token', 'a\r\nb')).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="a??b"',
    );
  });

  it('escapes quotes and backslashes and replaces non-ASCII', () => {
    expect(bearerChallenge('invalid_token', 'claim "x\\y" é')).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="claim \\"x\\\\y\\" ?"',
    );
  });

  it('has no error attribute when the token is simply missing', () => {
    expect(bearerChallenge('bare')).toBe('Bearer realm="portcullis"');
  });
});
