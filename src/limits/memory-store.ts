// The in-process store for a single instance: the same semantics as the Redis store (src/limits/bucket.ts is
// the Lua script's twin) with bounded memory. Buckets live in an LRU capped at `maxBuckets`, each forgotten
// once it would be full again; revoked token ids are forgotten at their `exp`.
//
// No timer ever carries a TTL: a token's `exp` may be years away, and Node clamps a timer delay above 2^31 ms
// (~24.8 days) to 1 ms, which re-arming turns into a busy loop. Expiry is checked on read and a fixed-period
// sweep (SWEEP_INTERVAL_MS) drops what nobody reads.
import { LRU } from 'tiny-lru';
import { assessBucket, type BucketState } from './bucket.js';
import { assertSubjectRevocation, assertTokenRevocation } from './errors.js';
import { sortEntries, type DenylistEntries } from './denylist.js';
import { authFailureKeys, joinKeyParts, ruleKeys } from './keys.js';
import type {
  AuthFailureLimit,
  DecisionStore,
  LimitOverride,
  LimitRequest,
  LimitResult,
  StoreCheckResult,
  TokenFacts,
} from './types.js';

export interface MemoryStoreOptions {
  /** Clock in microseconds; tests pass a fake one. */
  nowUs?: () => number;
  /** Most buckets kept; under pressure the least recently used is dropped (its key starts full again). */
  maxBuckets?: number;
}

const DEFAULT_MAX_BUCKETS = 100_000;
/** How often expired revocations are dropped when no check reads them. */
const SWEEP_INTERVAL_MS = 60_000;

/** A bucket kept until `expiresAtMs` on the store's clock: then it is full again and may be forgotten. */
interface Expiring<V> {
  value: V;
  expiresAtMs: number;
}

/**
 * An LRU of at most `max` entries whose storage grows as entries come (tiny-lru: a linked list over a
 * dictionary; nothing is allocated up front, where lru-cache's `max` preallocated 3-4 MB per 100,000-entry
 * cache). Expiry is not tiny-lru's (it reads Date.now()): entries carry their end on the store's clock, so
 * a fake clock moves it too.
 */
function growingLru<V>(max: number): LRU<V> {
  return new LRU<V>(max);
}

export class MemoryStore implements DecisionStore {
  readonly kind = 'memory' as const;
  private readonly nowUs: () => number;
  private readonly buckets: LRU<Expiring<BucketState>>;
  /** jti -> expiry (ms on the store's clock). Written only by operators; never evicted before its expiry. */
  private readonly revokedTokenIds = new Map<string, number>();
  /** override key -> override (written by operators only). Expires on read and by the sweep. */
  private readonly overrides = new Map<string, LimitOverride>();
  /**
   * Penalty and auth-failure block keys -> end (ms). Requests create them (any key value can exceed a rule),
   * so they are capped like the buckets; expiry is checked on read and by the sweep, never by a timer.
   */
  private readonly penalties: LRU<number>;
  private readonly authBlocks: LRU<number>;
  private readonly authFailures: LRU<Expiring<BucketState>>;
  private readonly sweep: NodeJS.Timeout;
  /** Subject -> cut-off (unix seconds). Written only by operators, so not request-driven growth. */
  private readonly revokedSubjects = new Map<string, number>();

  constructor(options: MemoryStoreOptions = {}) {
    this.nowUs = options.nowUs ?? (() => Date.now() * 1000);
    const max = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    this.buckets = growingLru(max);
    this.authFailures = growingLru(max);
    this.penalties = growingLru(max);
    this.authBlocks = growingLru(max);
    this.sweep = setInterval(() => this.dropExpired(), SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }

  private nowMs(): number {
    return this.nowUs() / 1000;
  }

  /** A bucket's state while it lasts; an ended one is forgotten (it reads as full, as an absent one does). */
  private liveBucket(cache: LRU<Expiring<BucketState>>, key: string): BucketState | undefined {
    const entry = cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs >= this.nowMs()) return entry.value;
    cache.delete(key);
    return undefined;
  }

  private keepBucket(cache: LRU<Expiring<BucketState>>, key: string, state: BucketState, ttlMs: number): void {
    cache.set(key, { value: state, expiresAtMs: this.nowMs() + ttlMs });
  }

  private isTokenIdRevoked(jti: string): boolean {
    const expiresAtMs = this.revokedTokenIds.get(jti);
    if (expiresAtMs === undefined) return false;
    if (expiresAtMs > this.nowMs()) return true;
    this.revokedTokenIds.delete(jti);
    return false;
  }

  private dropExpired(): void {
    const now = this.nowMs();
    for (const [jti, expiresAtMs] of this.revokedTokenIds) if (expiresAtMs <= now) this.revokedTokenIds.delete(jti);
    for (const timed of [this.penalties, this.authBlocks]) {
      const ended = timed.entries().filter(([, endMs]) => endMs === undefined || endMs <= now);
      for (const [key] of ended) timed.delete(key);
    }
    for (const buckets of [this.buckets, this.authFailures]) {
      const ended = buckets.entries().filter(([, entry]) => entry === undefined || entry.expiresAtMs < now);
      for (const [key] of ended) buckets.delete(key);
    }
    for (const [key, override] of this.overrides) if (!this.overrideLive(override)) this.overrides.delete(key);
  }

  private overrideLive(override: LimitOverride): boolean {
    return override.until === undefined || override.until * 1000 > this.nowMs();
  }

  /** ms left of a timed entry (penalty, block), 0 once over (and then forgotten). */
  private msLeft(map: LRU<number>, key: string): number {
    const endMs = map.get(key);
    if (endMs === undefined) return 0;
    const left = endMs - this.nowMs();
    if (left > 0) return left;
    map.delete(key);
    return 0;
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
    // Mirrors scripts/check.ts: overrides and penalties set the limit in force, shadow rules never refuse, and
    // buckets are written only when every enforcing rule allows; a refusal starts the rule's penalty.
    const assessed = limits.map((request) => {
      const keys = ruleKeys('', request.rule.name, request.keyValue);
      const { rule } = request;
      const override = this.overrides.get(keys.override);
      let limit = override !== undefined && this.overrideLive(override) ? override.limit : rule.limit;
      const penaltyLeftMs = rule.penalty === undefined ? 0 : this.msLeft(this.penalties, keys.penalty);
      const factor = rule.penalty === undefined ? 1 : rule.penalty.block === true ? 0 : (rule.penalty.limitFactor ?? 0);
      if (penaltyLeftMs > 0) limit = Math.floor(limit * factor);
      const assessment = assessBucket(
        this.liveBucket(this.buckets, keys.bucket),
        now,
        limit,
        rule.periodSeconds,
        request.cost ?? 1,
      );
      let retryAfterSeconds = assessment.retryAfterSeconds;
      if (limit <= 0 && penaltyLeftMs > 0) retryAfterSeconds = Math.ceil(penaltyLeftMs / 1000);
      let penalty: LimitResult['penalty'] = penaltyLeftMs > 0 ? 'active' : null;
      if (!assessment.allowed && rule.shadow !== true && rule.penalty !== undefined && penaltyLeftMs === 0) {
        penalty = 'started';
        if (factor <= 0) retryAfterSeconds = Math.max(retryAfterSeconds, rule.penalty.seconds);
      }
      const result: LimitResult = {
        rule: rule.name,
        allowed: assessment.allowed,
        shadow: rule.shadow === true,
        limit,
        periodSeconds: rule.periodSeconds,
        remaining: assessment.remaining,
        resetSeconds: assessment.resetSeconds,
        retryAfterSeconds,
        penalty,
      };
      return { keys, request, assessment, result };
    });
    const enforcedAllow = assessed.every((a) => a.assessment.allowed || a.request.rule.shadow === true);
    if (enforcedAllow) {
      for (const { keys, assessment } of assessed) {
        if (assessment.next !== null) this.keepBucket(this.buckets, keys.bucket, assessment.next, assessment.ttlMs);
      }
    }
    for (const { keys, request, result } of assessed) {
      if (result.penalty === 'started')
        this.penalties.set(keys.penalty, this.nowMs() + request.rule.penalty!.seconds * 1000);
    }
    return { revoked: null, limits: assessed.map((a) => a.result) };
  }

  async setOverride(override: LimitOverride): Promise<void> {
    this.overrides.set(ruleKeys('', override.rule, joinKeyParts(override.key)).override, {
      ...override,
      key: [...override.key],
    });
  }

  async deleteOverride(rule: string, key: readonly string[]): Promise<boolean> {
    return this.overrides.delete(ruleKeys('', rule, joinKeyParts(key)).override);
  }

  async listOverrides(): Promise<LimitOverride[]> {
    this.dropExpired();
    return [...this.overrides.values()].map((o) => ({ ...o, key: [...o.key] }));
  }

  async authBlockSeconds(keyValue: string): Promise<number> {
    return Math.ceil(this.msLeft(this.authBlocks, authFailureKeys('', keyValue).block) / 1000);
  }

  async recordAuthFailure(keyValue: string, limit: AuthFailureLimit): Promise<boolean> {
    const keys = authFailureKeys('', keyValue);
    const assessment = assessBucket(
      this.liveBucket(this.authFailures, keys.failures),
      this.nowUs(),
      limit.limit,
      limit.periodSeconds,
    );
    if (assessment.next !== null) {
      this.keepBucket(this.authFailures, keys.failures, assessment.next, assessment.ttlMs);
      return false;
    }
    if (this.msLeft(this.authBlocks, keys.block) > 0) return false;
    this.authBlocks.set(keys.block, this.nowMs() + limit.blockSeconds * 1000);
    return true;
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

  async listDenylist(): Promise<DenylistEntries> {
    this.dropExpired();
    return sortEntries({
      jti: [...this.revokedTokenIds].map(([jti, expiresAtMs]) => ({ jti, exp: Math.round(expiresAtMs / 1000) })),
      sub: [...this.revokedSubjects].map(([sub, before]) => ({ sub, before })),
    });
  }

  async deleteDenylistEntry(entry: { jti: string } | { sub: string }): Promise<boolean> {
    if ('jti' in entry) return this.isTokenIdRevoked(entry.jti) && this.revokedTokenIds.delete(entry.jti);
    return this.revokedSubjects.delete(entry.sub);
  }

  /** Live buckets (for tests and diagnostics). */
  get bucketCount(): number {
    const now = this.nowMs();
    for (const [key, entry] of this.buckets.entries())
      if (entry === undefined || entry.expiresAtMs < now) this.buckets.delete(key);
    return this.buckets.size;
  }

  get revokedTokenIdCount(): number {
    this.dropExpired();
    return this.revokedTokenIds.size;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.buckets.clear();
    this.revokedTokenIds.clear();
    this.overrides.clear();
    this.penalties.clear();
    this.authBlocks.clear();
    this.authFailures.clear();
  }
}
