// The token bucket both stores implement (the Redis one in scripts/check.ts, line for line): a bucket holds
// up to `limit` tokens and refills continuously at limit/period, so a full budget may be spent at once but
// never twice in one window (no fixed-window double burst). Requests at one instant draw whole tokens from
// an integer count, which keeps N concurrent requests against limit L at exactly L allowed.

export interface BucketState {
  tokens: number;
  /** microseconds */
  updatedAtUs: number;
}

export interface BucketAssessment {
  allowed: boolean;
  /** state to store if the whole check goes through */
  next: BucketState;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
  /** how long the stored state matters: after this the bucket is full again and may be forgotten */
  ttlMs: number;
}

export function assessBucket(
  state: BucketState | undefined,
  nowUs: number,
  limit: number,
  periodSeconds: number,
): BucketAssessment {
  const periodUs = periodSeconds * 1_000_000;
  let tokens = limit;
  if (state !== undefined) {
    const elapsedUs = Math.max(0, nowUs - state.updatedAtUs);
    tokens = Math.min(limit, state.tokens + (elapsedUs * limit) / periodUs);
  }
  const allowed = tokens >= 1;
  const after = allowed ? tokens - 1 : tokens;
  const usPerToken = periodUs / limit;
  return {
    allowed,
    next: { tokens: after, updatedAtUs: nowUs },
    remaining: Math.floor(after),
    resetSeconds: Math.ceil(((limit - after) * usPerToken) / 1_000_000),
    retryAfterSeconds: allowed ? 0 : Math.ceil(((1 - tokens) * usPerToken) / 1_000_000),
    ttlMs: Math.ceil(((limit - after) * usPerToken) / 1000) + 1,
  };
}
