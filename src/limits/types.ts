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

/** The outcome of the denylist + rate-limit step of one check (step 2 and 3 of the order README.md describes). */
export type LimitsOutcome =
  /** Go on. headers: rate-limit headers to add to the response (empty when no rule matched). */
  | { kind: 'pass'; headers: Record<string, string> }
  /** Token revoked: 401 `token revoked`. */
  | { kind: 'revoked'; by: 'jti' | 'subject' }
  /** Over a limit: 429 with these headers (retry-after, ratelimit-policy, ratelimit). */
  | { kind: 'limited'; rule: string; headers: Record<string, string> }
  /** Store failed and redis.onError is deny: 503. */
  | { kind: 'unavailable'; description: string };

/** What the limits stage needs from the shell: a logger and two metrics. */
export interface LimitsDeps {
  logger: import('pino').Logger;
  /** ratelimit_decisions_total{rule,result}; result 'allowed' | 'limited' */
  countRateLimit(rule: string, result: 'allowed' | 'limited'): void;
  /** store_errors_total */
  countStoreError(): void;
}

export interface LimitsStage {
  /** identity: the verified token's facts (null for anonymous checks). Never throws. */
  evaluate(
    request: import('../input/types.js').HttpRequestView,
    identity: { facts: TokenFacts; claims: Record<string, unknown> } | null,
  ): Promise<LimitsOutcome>;
}

// Implemented in src/limits/index.ts:
//   export function createStore(config: Config, deps: LimitsDeps): Promise<DecisionStore>   (memory or redis)
//   export function createLimitsStage(config: Config, store: DecisionStore, deps: LimitsDeps): LimitsStage
