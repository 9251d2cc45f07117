import { describe, expect, it } from 'vitest';
import { allowedHeaders, limitedHeaders } from '../../src/limits/headers.js';
import type { LimitResult } from '../../src/limits/types.js';

const perUser: LimitResult = {
  rule: 'per-user',
  allowed: false,
  limit: 100,
  periodSeconds: 60,
  remaining: 0,
  resetSeconds: 17,
  retryAfterSeconds: 3,
  shadow: false,
  penalty: null,
};
const perIp: LimitResult = {
  rule: 'per-ip',
  allowed: true,
  limit: 1000,
  periodSeconds: 60,
  remaining: 998,
  resetSeconds: 1,
  retryAfterSeconds: 0,
  shadow: false,
  penalty: null,
};

describe('rate-limit headers', () => {
  it('formats ratelimit-policy and ratelimit as the README shows', () => {
    expect(allowedHeaders([perUser])).toEqual({
      'ratelimit-policy': '"per-user";q=100;w=60',
      ratelimit: '"per-user";r=0;t=17',
    });
  });

  it('lists every matching rule as one structured-field list', () => {
    expect(allowedHeaders([perUser, perIp])).toEqual({
      'ratelimit-policy': '"per-user";q=100;w=60, "per-ip";q=1000;w=60',
      ratelimit: '"per-user";r=0;t=17, "per-ip";r=998;t=1',
    });
  });

  it('adds retry-after on a 429: the longest wait among refusing rules', () => {
    const other: LimitResult = { ...perUser, rule: 'per-day', retryAfterSeconds: 40 };
    expect(limitedHeaders([perUser, perIp, other])['retry-after']).toBe('40');
  });

  it('adds no headers when no rule matched', () => {
    expect(allowedHeaders([])).toEqual({});
  });
});
