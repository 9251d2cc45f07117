// Rate-limit rules -> the LimitRequests of one check. Rules are compiled once at start-up into closures so
// the hot path only reads the request.
import type { RateLimitRule } from '../config/schema.js';
import type { HttpRequestView } from '../input/types.js';
import { pathWithoutQuery } from '../input/parsePath.js';
import { joinKeyParts } from './keys.js';
import type { LimitRequest, LimitRule } from './types.js';

type KeyPartReader = (request: HttpRequestView, claims: Readonly<Record<string, unknown>> | null) => string | null;

export interface CompiledRule {
  rule: RateLimitRule;
  applies(request: HttpRequestView): boolean;
  /** The key value, or null when a part does not resolve (the rule then does not apply to this check). */
  keyValue(request: HttpRequestView, claims: Readonly<Record<string, unknown>> | null): string | null;
  /** The rule with the limit in force for these claims (limitFrom's tier, else `limit`). */
  limitRule(claims: Readonly<Record<string, unknown>> | null): LimitRule;
}

/** Path without the query string: a query must not open a fresh bucket per request. */
export function pathOf(request: HttpRequestView): string {
  return pathWithoutQuery(request.path);
}

function claimText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `jwt.a.b`: the claim named `a.b` when present, else the nested claim a -> b. */
function readClaim(claims: Readonly<Record<string, unknown>> | null, name: string): string | null {
  if (claims === null) return null;
  if (Object.hasOwn(claims, name)) return claimText(claims[name]);
  let current: unknown = claims;
  for (const segment of name.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return null;
    if (!Object.hasOwn(current, segment)) return null;
    current = (current as Record<string, unknown>)[segment];
  }
  return claimText(current);
}

function compileKeyPart(part: string): KeyPartReader {
  if (part.startsWith('jwt.')) {
    const claim = part.slice('jwt.'.length);
    return (_request, claims) => readClaim(claims, claim);
  }
  if (part.startsWith('header.')) {
    const header = part.slice('header.'.length).toLowerCase();
    return (request) => request.headers[header] ?? null;
  }
  switch (part) {
    case 'source.address':
      return (request) => (request.sourceAddress === '' ? null : request.sourceAddress);
    case 'request.method':
      return (request) => request.method.toUpperCase();
    case 'request.path':
      return (request) => pathOf(request);
    default:
      // The config schema only admits the parts above; reaching here is a schema/matcher mismatch.
      throw new Error(`unsupported rate-limit key part "${part}"`);
  }
}

/** limitFrom: one rule object per tier, made once, so a check picks its limit without allocating. */
function compileLimitFrom(rule: RateLimitRule): (claims: Readonly<Record<string, unknown>> | null) => LimitRule {
  const limitFrom = rule.limitFrom;
  if (limitFrom === undefined) return () => rule;
  const tiers = new Map<string, LimitRule>();
  for (const [tier, limit] of Object.entries(limitFrom.tiers)) tiers.set(tier, { ...rule, limit });
  return (claims) => {
    const tier = readClaim(claims, limitFrom.claim);
    return (tier === null ? undefined : tiers.get(tier)) ?? rule;
  };
}

/** Key parts -> a reader of the joined key value (null when a part does not resolve). */
export function compileKey(parts: readonly string[]): CompiledRule['keyValue'] {
  const readers = parts.map(compileKeyPart);
  return (request, claims) => {
    const values: string[] = [];
    for (const read of readers) {
      const value = read(request, claims);
      if (value === null) return null;
      values.push(value);
    }
    return joinKeyParts(values);
  };
}

export function compileRule(rule: RateLimitRule): CompiledRule {
  const keyValue = compileKey(rule.key);
  const limitRule = compileLimitFrom(rule);
  const prefix = rule.when?.pathPrefix;
  const methods = rule.when?.methods ? new Set(rule.when.methods) : null;
  return {
    rule,
    applies(request) {
      if (methods !== null && !methods.has(request.method.toUpperCase())) return false;
      // A plain string prefix, as Envoy's route `prefix` matches.
      if (prefix !== undefined && !pathOf(request).startsWith(prefix)) return false;
      return true;
    },
    keyValue,
    limitRule,
  };
}

export function compileRules(rules: readonly RateLimitRule[]): CompiledRule[] {
  return rules.map(compileRule);
}

/** Every rule whose `when` matches and whose key resolves, in configuration order. */
export function matchLimits(
  rules: readonly CompiledRule[],
  request: HttpRequestView,
  claims: Readonly<Record<string, unknown>> | null,
): LimitRequest[] {
  const matched: LimitRequest[] = [];
  for (const compiled of rules) {
    if (!compiled.applies(request)) continue;
    const keyValue = compiled.keyValue(request, claims);
    if (keyValue !== null) matched.push({ rule: compiled.limitRule(claims), keyValue });
  }
  return matched;
}
