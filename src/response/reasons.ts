// The one table of check outcomes: each reason has one HTTP status, one gRPC code, one `result` label and
// one message. The metric label `reason` and the log field `reason` are the key itself.

/** google.rpc.Code values Envoy reads from CheckResponse.status. */
export const GrpcCode = {
  OK: 0,
  UNKNOWN: 2,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export interface ReasonEntry {
  httpStatus: number;
  grpcCode: number;
  /** checks_total{result} */
  result: 'allowed' | 'denied' | 'unavailable';
  /** `error` of the JSON denial body; safe to show a client (no internals) */
  error: string;
  /** www-authenticate: none, `Bearer realm` only (missing token), or with error="invalid_token" / "insufficient_scope" */
  challenge: 'none' | 'bare' | 'invalid_token' | 'insufficient_scope';
}

export const REASONS = {
  allowed: { httpStatus: 200, grpcCode: GrpcCode.OK, result: 'allowed', error: '', challenge: 'none' },
  missing_token: {
    httpStatus: 401,
    grpcCode: GrpcCode.UNAUTHENTICATED,
    result: 'denied',
    error: 'missing token',
    challenge: 'bare',
  },
  invalid_token: {
    httpStatus: 401,
    grpcCode: GrpcCode.UNAUTHENTICATED,
    result: 'denied',
    error: 'invalid token',
    challenge: 'invalid_token',
  },
  token_revoked: {
    httpStatus: 401,
    grpcCode: GrpcCode.UNAUTHENTICATED,
    result: 'denied',
    error: 'token revoked',
    challenge: 'invalid_token',
  },
  auth_blocked: {
    httpStatus: 429,
    grpcCode: GrpcCode.RESOURCE_EXHAUSTED,
    result: 'denied',
    error: 'too many failed authentications',
    challenge: 'none',
  },
  rate_limited: {
    httpStatus: 429,
    grpcCode: GrpcCode.RESOURCE_EXHAUSTED,
    result: 'denied',
    error: 'rate limit exceeded',
    challenge: 'none',
  },
  // The path or query is not valid percent-encoding, or exceeds the parsing limits (OPA-Envoy answers 400 too).
  bad_request: {
    httpStatus: 400,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'bad request',
    challenge: 'none',
  },
  policy_denied: {
    httpStatus: 403,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'forbidden',
    challenge: 'none',
  },
  undefined_decision: {
    httpStatus: 403,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'forbidden',
    challenge: 'none',
  },
  decision_type: {
    httpStatus: 503,
    grpcCode: GrpcCode.UNAVAILABLE,
    result: 'unavailable',
    error: 'authorization unavailable',
    challenge: 'none',
  },
  policy_error: {
    httpStatus: 503,
    grpcCode: GrpcCode.UNAVAILABLE,
    result: 'unavailable',
    error: 'authorization unavailable',
    challenge: 'none',
  },
  store_unavailable: {
    httpStatus: 503,
    grpcCode: GrpcCode.UNAVAILABLE,
    result: 'unavailable',
    error: 'authorization unavailable',
    challenge: 'none',
  },
  identity_unavailable: {
    httpStatus: 503,
    grpcCode: GrpcCode.UNAVAILABLE,
    result: 'unavailable',
    error: 'authorization unavailable',
    challenge: 'none',
  },
  // OpenAPI contract (src/contract): checked after the limits, before the policy
  invalid_request: {
    httpStatus: 400,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'invalid request',
    challenge: 'none',
  },
  unknown_operation: {
    httpStatus: 404,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'not found',
    challenge: 'none',
  },
  method_not_allowed: {
    httpStatus: 405,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'method not allowed',
    challenge: 'none',
  },
  insufficient_scope: {
    httpStatus: 403,
    grpcCode: GrpcCode.PERMISSION_DENIED,
    result: 'denied',
    error: 'insufficient scope',
    challenge: 'insufficient_scope',
  },
  openapi_error: {
    httpStatus: 503,
    grpcCode: GrpcCode.UNAVAILABLE,
    result: 'unavailable',
    error: 'authorization unavailable',
    challenge: 'none',
  },
  internal_error: {
    httpStatus: 503,
    grpcCode: GrpcCode.UNAVAILABLE,
    result: 'unavailable',
    error: 'authorization unavailable',
    challenge: 'none',
  },
} as const satisfies Record<string, ReasonEntry>;

export type CheckReason = keyof typeof REASONS;
export type DenialReason = Exclude<CheckReason, 'allowed'>;

export function reasonEntry(reason: CheckReason): ReasonEntry {
  return REASONS[reason];
}
