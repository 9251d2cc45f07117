/** What the denylist needs to know about the verified token (all optional: anonymous checks have none). */
export interface TokenFacts {
  jti: string | null;
  subject: string | null;
  /** unix seconds */
  issuedAt: number | null;
}

/**
 * What the store needs of a rule: a `rateLimits` entry, or a descriptor of the rate limit service's rule files.
 * `name` ends the store key, so it must be free of `{` and `}`.
 */
export interface LimitRule {
  name: string;
  /** tokens per period; 0 refuses every request */
  limit: number;
  periodSeconds: number;
  /** count and report, never refuse */
  shadow?: boolean;
  /** a key this rule refuses is held at limit x limitFactor (block: 0) for `seconds` */
  penalty?: { seconds: number; limitFactor?: number | undefined; block?: boolean | undefined } | undefined;
}

/** One matching rate-limit rule with its resolved key value (raw; the store hashes/escapes it). */
export interface LimitRequest {
  rule: LimitRule;
  keyValue: string;
  /** tokens this request takes (the rate limit service's hits_addend); 1 when absent */
  cost?: number;
}

export interface LimitResult {
  rule: string;
  /** the bucket had the tokens; a shadow rule's refusal is `allowed: false, shadow: true` and refuses nothing */
  allowed: boolean;
  shadow: boolean;
  /** the limit in force for this key: the rule's, an admin override's, or reduced by a penalty */
  limit: number;
  periodSeconds: number;
  remaining: number;
  /** seconds until the budget is fully restored (the `t` of the `ratelimit` header) */
  resetSeconds: number;
  /** seconds to wait before retrying, 0 when allowed */
  retryAfterSeconds: number;
  /** a penalty holds this key ('active') or this check started one ('started') */
  penalty: 'active' | 'started' | null;
}

/** A per-key limit an operator set (admin API, CLI): replaces the rule's limit for that key until `until`. */
export interface LimitOverride {
  rule: string;
  /** the rule's key parts' values, in the rule's key order */
  key: string[];
  limit: number;
  /** unix seconds; absent: until deleted */
  until?: number;
}

/** Failed-authentication throttling of one key value (authFailures). */
export interface AuthFailureLimit {
  limit: number;
  periodSeconds: number;
  blockSeconds: number;
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
  /** Every denylist entry in force (GET /v1/denylist). */
  listDenylist(): Promise<import('./denylist.js').DenylistEntries>;
  /** Remove a token id's or a subject's denylist entry (DELETE /v1/denylist); false when there was none. */
  deleteDenylistEntry(entry: { jti: string } | { sub: string }): Promise<boolean>;
  /** Set (or replace) an override; the limit applies to the key on every instance sharing the store. */
  setOverride(override: LimitOverride): Promise<void>;
  /** Remove an override; false when there was none. */
  deleteOverride(rule: string, key: readonly string[]): Promise<boolean>;
  /** Overrides in force (expired ones are dropped). */
  listOverrides(): Promise<LimitOverride[]>;
  /** Seconds left of a failed-authentication block of this key value, 0 when not blocked. */
  authBlockSeconds(keyValue: string): Promise<number>;
  /** Count one failed authentication; true when it started a block. */
  recordAuthFailure(keyValue: string, limit: AuthFailureLimit): Promise<boolean>;
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

/** The failed-authentication gate, asked before any signature is verified. */
export type AuthGateOutcome =
  | { kind: 'pass' }
  /** The key failed authentication too often: 429 with retry-after, no verification. */
  | { kind: 'blocked'; headers: Record<string, string> };

/** What the limits stage needs from the shell: a logger and its metrics. */
export interface LimitsDeps {
  logger: import('pino').Logger;
  /** ratelimit_decisions_total{rule,result} */
  countRateLimit(rule: string, result: 'allowed' | 'limited' | 'shadow_limited'): void;
  /** store_errors_total */
  countStoreError(): void;
  /** penalties_total{rule}: a penalty started */
  countPenalty?(rule: string): void;
  /** auth_failures_blocked_total: a check refused by failed-authentication throttling */
  countAuthFailureBlocked?(): void;
}

export interface LimitsStage {
  /** identity: the verified token's facts (null for anonymous checks). Never throws. */
  evaluate(
    request: import('../input/types.js').HttpRequestView,
    identity: { facts: TokenFacts; claims: Record<string, unknown> } | null,
  ): Promise<LimitsOutcome>;
  /** authFailures: is this request's key blocked? Asked before verification; `pass` when not configured. */
  authGate(request: import('../input/types.js').HttpRequestView): Promise<AuthGateOutcome>;
  /** authFailures: the request carried an invalid or revoked token. Never throws, never waits. */
  authFailed(request: import('../input/types.js').HttpRequestView): void;
}

// Implemented in src/limits/index.ts:
//   export function createStore(config: Config, deps: LimitsDeps): Promise<DecisionStore>   (memory or redis)
//   export function createLimitsStage(config: Config, store: DecisionStore, deps: LimitsDeps): LimitsStage
