// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit: a call's descriptors -> one store call for
// every descriptor that has a limit (one round trip, all or nothing like a check), then one status per
// descriptor, the overall code, and response headers as `rateLimitService.headers` asks.
import type { Logger } from 'pino';
import { allowedHeaders, draft03Headers, limitedHeaders } from './headers.js';
import { descriptorKeyValue, planDescriptors, type DescriptorPlan, type RequestDescriptor } from './service-match.js';
import { UNIT_SECONDS, type RateLimitUnit, type ServiceRules } from './service-rules.js';
import type { DecisionStore, LimitRequest, LimitResult } from './types.js';

/** What proto-loader decodes from rls.proto (camelCase, enums as names, defaults omitted). */
export interface DecodedRateLimitRequest {
  domain?: string;
  descriptors?: Array<{
    entries?: Array<{ key?: string; value?: string }>;
    limit?: { requestsPerUnit?: number; unit?: string } | null;
  }>;
  hitsAddend?: number;
}

export type DescriptorCode = 'OK' | 'OVER_LIMIT';

export interface DescriptorStatusMessage {
  code: DescriptorCode;
  currentLimit?: { name?: string; requestsPerUnit: number; unit: RateLimitUnit };
  limitRemaining?: number;
  durationUntilReset?: { seconds: number };
}

export interface RateLimitResponseMessage {
  overallCode: DescriptorCode;
  statuses: DescriptorStatusMessage[];
  responseHeadersToAdd: Array<{ key: string; value: string }>;
}

export type ServiceDecision = 'ok' | 'over_limit' | 'shadow_over_limit' | 'error';

export interface RateLimitServiceDeps {
  logger: Logger;
  /** ratelimit_service_decisions_total{domain,result}; domain is 'unknown' for a domain no file names */
  countDecision(domain: string, result: ServiceDecision): void;
  /** store_errors_total */
  countStoreError(): void;
}

export interface RateLimitServiceOptions {
  /** the rules in force (hot-reloaded) */
  rules: () => ServiceRules;
  headers: 'ietf' | 'draft03' | 'none';
  /** redis.onError: allow */
  failOpen: boolean;
}

/** A call ratelimit refuses too (no domain, no descriptors, an entry without key): INVALID_ARGUMENT. */
export class RateLimitRequestError extends Error {
  readonly code = 'RATELIMIT_REQUEST';
}

/** ratelimit answers an unlimited descriptor with the largest uint32 as limit_remaining. */
const UNLIMITED_REMAINING = 4_294_967_295;
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

function toDescriptors(request: DecodedRateLimitRequest): RequestDescriptor[] {
  const descriptors = request.descriptors ?? [];
  if (descriptors.length === 0) throw new RateLimitRequestError('rate limit descriptor list must not be empty');
  return descriptors.map((d) => {
    const entries = (d.entries ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));
    if (entries.length === 0 || entries.some((e) => e.key === '')) {
      throw new RateLimitRequestError('every descriptor needs entries, each with a key');
    }
    const unit = d.limit?.unit;
    if (d.limit != null && unit !== undefined && Object.hasOwn(UNIT_SECONDS, unit)) {
      return { entries, limit: { requestsPerUnit: d.limit.requestsPerUnit ?? 0, unit: unit as RateLimitUnit } };
    }
    return { entries };
  });
}

export function createRateLimitService(
  options: RateLimitServiceOptions,
  store: DecisionStore,
  deps: RateLimitServiceDeps,
): (request: DecodedRateLimitRequest) => Promise<RateLimitResponseMessage> {
  let lastErrorLogAt = -Infinity;

  function onStoreError(error: unknown, domainLabel: string, plans: DescriptorPlan[]): RateLimitResponseMessage {
    deps.countStoreError();
    deps.countDecision(domainLabel, 'error');
    const now = Date.now();
    if (now - lastErrorLogAt >= STORE_ERROR_LOG_INTERVAL_MS) {
      lastErrorLogAt = now;
      deps.logger.warn(
        { err: error, onError: options.failOpen ? 'allow' : 'deny' },
        options.failOpen
          ? 'store unavailable: rate limit service answers OK (redis.onError: allow)'
          : 'store unavailable: rate limit service answers OVER_LIMIT (redis.onError: deny)',
      );
    }
    const code: DescriptorCode = options.failOpen ? 'OK' : 'OVER_LIMIT';
    return { overallCode: code, statuses: plans.map(() => ({ code })), responseHeadersToAdd: [] };
  }

  return async function shouldRateLimit(request: DecodedRateLimitRequest): Promise<RateLimitResponseMessage> {
    const domain = request.domain ?? '';
    if (domain === '') throw new RateLimitRequestError('rate limit domain must not be empty');
    const descriptors = toDescriptors(request);
    const rules = options.rules();
    const domainLabel = rules.domains.has(domain) ? domain : 'unknown';
    const plans = planDescriptors(rules, domain, descriptors);
    // Envoy leaves hits_addend 0 when the request counts once.
    const cost = request.hitsAddend !== undefined && request.hitsAddend > 0 ? request.hitsAddend : 1;

    const limits: LimitRequest[] = [];
    const planIndexes: number[] = [];
    plans.forEach((plan, i) => {
      if (plan.kind !== 'limited') return;
      limits.push({ rule: plan.limit.storeRule, keyValue: descriptorKeyValue(descriptors[i]!.entries), cost });
      planIndexes.push(i);
    });

    let results: LimitResult[] = [];
    if (limits.length > 0) {
      try {
        results = (await store.check(null, limits)).limits;
      } catch (error) {
        return onStoreError(error, domainLabel, plans);
      }
    }

    const statuses: DescriptorStatusMessage[] = plans.map((plan) =>
      plan.kind === 'unlimited' ? { code: 'OK', limitRemaining: UNLIMITED_REMAINING } : { code: 'OK' },
    );
    const shown: LimitResult[] = [];
    let over = false;
    let shadowOver = false;
    results.forEach((result, j) => {
      const index = planIndexes[j]!;
      const plan = plans[index] as Extract<DescriptorPlan, { kind: 'limited' }>;
      const refused = !result.allowed && !result.shadow;
      if (refused) over = true;
      if (!result.allowed && result.shadow) shadowOver = true;
      statuses[index] = {
        code: refused ? 'OVER_LIMIT' : 'OK',
        currentLimit: { name: plan.name, requestsPerUnit: result.limit, unit: plan.limit.unit },
        limitRemaining: result.remaining,
        durationUntilReset: { seconds: result.resetSeconds },
      };
      if (!result.shadow) shown.push({ ...result, rule: plan.name });
    });
    deps.countDecision(domainLabel, over ? 'over_limit' : shadowOver ? 'shadow_over_limit' : 'ok');
    if (shadowOver) deps.logger.debug({ domain }, 'shadow_mode descriptor over its limit; answered OK');
    return {
      overallCode: over ? 'OVER_LIMIT' : 'OK',
      statuses,
      responseHeadersToAdd: responseHeaders(options.headers, shown, over),
    };
  };
}

function responseHeaders(
  mode: RateLimitServiceOptions['headers'],
  shown: LimitResult[],
  over: boolean,
): Array<{ key: string; value: string }> {
  if (mode === 'none' || shown.length === 0) return [];
  const headers = mode === 'draft03' ? draft03Headers(shown) : over ? limitedHeaders(shown) : allowedHeaders(shown);
  return Object.entries(headers).map(([key, value]) => ({ key, value }));
}
