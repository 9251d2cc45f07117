// Tokens verified recently, so a hot token skips signature verification. It holds verification results
// only, never decisions: the denylist and rate limits still run on every check.
import * as crypto from 'node:crypto';
import { LRU } from 'tiny-lru';
import type { IdentityOutcome } from './types.js';

export type VerifiedOutcome = Extract<IdentityOutcome, { kind: 'verified' }>;

interface Entry {
  outcome: VerifiedOutcome;
  /** Which sources the token may come from (its provider's `from`), checked on every hit. */
  acceptedSources: ReadonlySet<string>;
  /** Reused until then (ms, on the caller's clock): the token's `exp`, or sooner by maxTtlMs. */
  reuseUntilMs: number;
}

/**
 * The cache key: the raw token never sits in memory longer than the check that carried it. One-shot
 * crypto.hash (Node 20.12+) where it exists: no Hash object per check.
 */
export const tokenDigest: (token: string) => string =
  typeof crypto.hash === 'function'
    ? (token) => crypto.hash('sha256', token, 'base64url')
    : (token) => crypto.createHash('sha256').update(token).digest('base64url');

export class VerifiedTokenCache {
  private readonly entries: LRU<Entry> | null;

  /** maxEntries 0 disables the cache. maxTtlMs bounds how long a verification is reused at all. */
  constructor(
    maxEntries: number,
    private readonly maxTtlMs: number,
  ) {
    this.entries = maxEntries > 0 ? new LRU<Entry>(maxEntries) : null;
  }

  get(digest: string, nowMs: number): Entry | undefined {
    const entry = this.entries?.get(digest);
    if (entry === undefined) return undefined;
    // Expiry runs on the injected clock (tiny-lru's own TTL would read Date.now()).
    if (entry.reuseUntilMs <= nowMs || entry.outcome.expiresAt * 1000 <= nowMs) {
      this.entries?.delete(digest);
      return undefined;
    }
    return entry;
  }

  set(digest: string, outcome: VerifiedOutcome, acceptedSources: ReadonlySet<string>, nowMs: number): void {
    if (this.entries === null) return;
    const ttl = Math.min(Math.floor(outcome.expiresAt * 1000 - nowMs), this.maxTtlMs);
    if (ttl <= 0) return;
    this.entries.set(digest, { outcome, acceptedSources, reuseUntilMs: nowMs + ttl });
  }

  /** Forget a provider's tokens, e.g. after its key set changed and a key may have been retired. */
  dropProvider(provider: string): void {
    if (this.entries === null) return;
    for (const [digest, entry] of this.entries.entries()) {
      if (entry?.outcome.identity.provider === provider) this.entries.delete(digest);
    }
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
