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
  /** state to store if the whole check goes through (null: nothing to store) */
  next: BucketState | null;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
  /** how long the stored state matters: after this the bucket is full again and may be forgotten */
  ttlMs: number;
}

/** `cost`: tokens the request takes (1, or the rate limit service's hits_addend). A limit of 0 refuses all. */
export function assessBucket(
  state: BucketState | undefined,
  nowUs: number,
  limit: number,
  periodSeconds: number,
  cost = 1,
): BucketAssessment {
  const periodUs = periodSeconds * 1_000_000;
  if (limit <= 0) {
    return {
      allowed: false,
      next: null,
      remaining: 0,
      resetSeconds: 0,
      retryAfterSeconds: Math.ceil(periodSeconds),
      ttlMs: 0,
    };
  }
  let tokens = limit;
  if (state !== undefined) {
    const elapsedUs = Math.max(0, nowUs - state.updatedAtUs);
    tokens = Math.min(limit, state.tokens + (elapsedUs * limit) / periodUs);
  }
  const allowed = tokens >= cost;
  const after = allowed ? tokens - cost : tokens;
  const usPerToken = periodUs / limit;
  let retryAfterSeconds = 0;
  if (!allowed)
    retryAfterSeconds = cost > limit ? Math.ceil(periodSeconds) : Math.ceil(((cost - tokens) * usPerToken) / 1_000_000);
  return {
    allowed,
    next: allowed ? { tokens: after, updatedAtUs: nowUs } : null,
    remaining: Math.floor(after),
    resetSeconds: Math.ceil(((limit - after) * usPerToken) / 1_000_000),
    retryAfterSeconds,
    ttlMs: Math.ceil(((limit - after) * usPerToken) / 1000) + 1,
  };
}
