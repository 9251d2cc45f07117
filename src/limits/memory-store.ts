// The in-process store for a single instance: the same semantics as the Redis store (src/limits/bucket.ts is
// the Lua script's twin) with bounded memory. Buckets live in an LRU capped at `maxBuckets`, each forgotten
// once it would be full again; revoked token ids are forgotten at their `exp`.
//
// No timer ever carries a TTL: a token's `exp` may be years away, and Node clamps a timer delay above 2^31 ms
// (~24.8 days) to 1 ms, which re-arming turns into a busy loop. Expiry is checked on read and a fixed-period
// sweep (SWEEP_INTERVAL_MS) drops what nobody reads.
import { LRUCache } from 'lru-cache';
import { assessBucket, type BucketAssessment, type BucketState } from './bucket.js';
import { assertSubjectRevocation, assertTokenRevocation } from './errors.js';
import { rateLimitKey } from './keys.js';
import type { DecisionStore, LimitRequest, LimitResult, StoreCheckResult, TokenFacts } from './types.js';

export interface MemoryStoreOptions {
  /** Clock in microseconds; tests pass a fake one. */
  nowUs?: () => number;
  /** Most buckets kept; under pressure the least recently used is dropped (its key starts full again). */
  maxBuckets?: number;
}

const DEFAULT_MAX_BUCKETS = 100_000;
/** How often expired revocations are dropped when no check reads them. */
const SWEEP_INTERVAL_MS = 60_000;

export class MemoryStore implements DecisionStore {
  readonly kind = 'memory' as const;
  private readonly nowUs: () => number;
  private readonly buckets: LRUCache<string, BucketState>;
  /** jti -> expiry (ms on the store's clock). Written only by operators; never evicted before its expiry. */
  private readonly revokedTokenIds = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;
  /** Subject -> cut-off (unix seconds). Written only by operators, so not request-driven growth. */
  private readonly revokedSubjects = new Map<string, number>();

  constructor(options: MemoryStoreOptions = {}) {
    this.nowUs = options.nowUs ?? (() => Date.now() * 1000);
    // The caches' TTLs run on the store's clock, so a fake clock moves expiry too.
    const perf = { now: () => this.nowUs() / 1000 };
    const clock = { perf, ttlResolution: 0 };
    this.buckets = new LRUCache({ max: options.maxBuckets ?? DEFAULT_MAX_BUCKETS, ttl: 1, ...clock });
    this.sweep = setInterval(() => this.dropExpiredRevocations(), SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }

  private nowMs(): number {
    return this.nowUs() / 1000;
  }

  private isTokenIdRevoked(jti: string): boolean {
    const expiresAtMs = this.revokedTokenIds.get(jti);
    if (expiresAtMs === undefined) return false;
    if (expiresAtMs > this.nowMs()) return true;
    this.revokedTokenIds.delete(jti);
    return false;
  }

  private dropExpiredRevocations(): void {
    const now = this.nowMs();
    for (const [jti, expiresAtMs] of this.revokedTokenIds) if (expiresAtMs <= now) this.revokedTokenIds.delete(jti);
  }

  async check(token: TokenFacts | null, limits: LimitRequest[]): Promise<StoreCheckResult> {
    if (token?.jti != null && this.isTokenIdRevoked(token.jti)) return { revoked: 'jti', limits: [] };
    if (token?.subject != null) {
      const cutoff = this.revokedSubjects.get(token.subject);
      if (cutoff !== undefined && (token.issuedAt === null || token.issuedAt <= cutoff)) {
        return { revoked: 'subject', limits: [] };
      }
    }
    const now = this.nowUs();
    const assessed = limits.map((request) => {
      const key = bucketKey(request);
      return { key, request, assessment: assessBucket(this.buckets.get(key), now, request.rule.limit, request.rule.periodSeconds) };
    });
    // All or nothing, as in the Redis script: a refused request spends no rule's budget.
    if (assessed.every((a) => a.assessment.allowed)) {
      for (const { key, assessment } of assessed) this.buckets.set(key, assessment.next, { ttl: assessment.ttlMs });
    }
    return { revoked: null, limits: assessed.map((a) => toLimitResult(a.request, a.assessment)) };
  }

  async revokeTokenId(jti: string, exp: number): Promise<void> {
    assertTokenRevocation(jti, exp);
    // An expired token is refused by verification already; nothing to remember.
    if (exp * 1000 > this.nowMs()) this.revokedTokenIds.set(jti, exp * 1000);
  }

  async revokeSubject(subject: string, before: number): Promise<void> {
    assertSubjectRevocation(subject, before);
    const current = this.revokedSubjects.get(subject);
    if (current === undefined || before > current) this.revokedSubjects.set(subject, before);
  }

  /** Live buckets (for tests and diagnostics). */
  get bucketCount(): number {
    this.buckets.purgeStale();
    return this.buckets.size;
  }

  get revokedTokenIdCount(): number {
    this.dropExpiredRevocations();
    return this.revokedTokenIds.size;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.buckets.clear();
    this.revokedTokenIds.clear();
  }
}

/** The Redis key without prefix: a fixed-size hash, so a huge header value cannot inflate memory per bucket. */
function bucketKey(request: LimitRequest): string {
  return rateLimitKey('', request.rule.name, request.keyValue);
}

export function toLimitResult(request: LimitRequest, assessment: Omit<BucketAssessment, 'next' | 'ttlMs'>): LimitResult {
  return {
    rule: request.rule.name,
    allowed: assessment.allowed,
    limit: request.rule.limit,
    periodSeconds: request.rule.periodSeconds,
    remaining: assessment.remaining,
    resetSeconds: assessment.resetSeconds,
    retryAfterSeconds: assessment.retryAfterSeconds,
  };
}
