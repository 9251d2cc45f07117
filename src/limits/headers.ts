// Rate-limit response headers as draft-ietf-httpapi-ratelimit-headers defines them: structured-field lists
// with one item per matching rule, e.g.
//   ratelimit-policy: "per-user";q=100;w=60
//   ratelimit: "per-user";r=0;t=17
import type { LimitResult } from './types.js';

// Rule names come from the configuration, so this stays as small as the rule list; it spares the hot path
// re-escaping the same names on every check.
const quotedNames = new Map<string, string>();

function sfString(value: string): string {
  let quoted = quotedNames.get(value);
  if (quoted === undefined) {
    quoted = `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    if (quotedNames.size < 10_000) quotedNames.set(value, quoted);
  }
  return quoted;
}

export function rateLimitPolicyHeader(results: readonly LimitResult[]): string {
  return results.map((r) => `${sfString(r.rule)};q=${r.limit};w=${r.periodSeconds}`).join(', ');
}

export function rateLimitHeader(results: readonly LimitResult[]): string {
  return results.map((r) => `${sfString(r.rule)};r=${r.remaining};t=${r.resetSeconds}`).join(', ');
}

/** Headers of an allowed response (empty when no rule matched). */
export function allowedHeaders(results: readonly LimitResult[]): Record<string, string> {
  if (results.length === 0) return {};
  return { 'ratelimit-policy': rateLimitPolicyHeader(results), ratelimit: rateLimitHeader(results) };
}

/**
 * The draft-03 headers envoyproxy/ratelimit and Envoy's rate_limit filter send (`x-ratelimit-*`): limit and
 * reset of the rule closest to refusing (fewest remaining), then every rule's quota policy.
 *   x-ratelimit-limit: 10, 10;w=60;name="per-user", 1000;w=3600;name="per-day"
 */
export function draft03Headers(results: readonly LimitResult[]): Record<string, string> {
  if (results.length === 0) return {};
  let closest = results[0]!;
  for (const r of results) if (r.remaining < closest.remaining) closest = r;
  const policies = results.map((r) => `${r.limit};w=${r.periodSeconds};name=${sfString(r.rule)}`).join(', ');
  return {
    'x-ratelimit-limit': `${closest.limit}, ${policies}`,
    'x-ratelimit-remaining': String(closest.remaining),
    'x-ratelimit-reset': String(closest.resetSeconds),
  };
}

/** Headers of a 429: retry-after is the longest wait among the rules that refused, so a retry then passes all. */
export function limitedHeaders(results: readonly LimitResult[]): Record<string, string> {
  const retryAfter = Math.max(1, ...results.filter((r) => !r.allowed).map((r) => r.retryAfterSeconds));
  return { 'retry-after': String(retryAfter), ...allowedHeaders(results) };
}
