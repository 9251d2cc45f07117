import type { RateLimitRule } from '../config/schema.js';

/** What the denylist needs to know about the verified token (all optional: anonymous checks have none). */
export interface TokenFacts {
  jti: string | null;
  subject: string | null;
  /** unix seconds */
  issuedAt: number | null;
}

/** One matching rate-limit rule with its resolved key value (raw; the store hashes/escapes it). */
export interface LimitRequest {
  rule: RateLimitRule;
  keyValue: string;
}

export interface LimitResult {
  rule: string;
  allowed: boolean;
  limit: number;
  periodSeconds: number;
  remaining: number;
  /** seconds until the budget is fully restored (the `t` of the `ratelimit` header) */
  resetSeconds: number;
  /** seconds to wait before retrying, 0 when allowed */
  retryAfterSeconds: number;
}

export interface StoreCheckResult {
  revoked: 'jti' | 'subject' | null;
  limits: LimitResult[];
}

/**
 * The shared state of every sidecar: denylist and rate-limit budgets. One `check` is one atomic round trip
 * (one Lua script on Redis). Implementations: in-process (single instance) and Redis (standalone, Cluster,
 * Sentinel).
 */
export interface DecisionStore {
  readonly kind: 'memory' | 'redis';
  check(token: TokenFacts | null, limits: LimitRequest[]): Promise<StoreCheckResult>;
  /** Revoke one token until its expiry (unix seconds). */
  revokeTokenId(jti: string, exp: number): Promise<void>;
  /** Revoke every token of a subject issued at or before `before` (unix seconds). */
  revokeSubject(subject: string, before: number): Promise<void>;
  /** True when the store answers now (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A store failure (timeout, connection refused, script error): the check follows redis.onError. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
