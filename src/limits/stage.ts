// Step 2 and 3 of a check (README.md): denylist and rate limits, one store call, outcome and headers.
import type { Config } from '../config/schema.js';
import type { HttpRequestView } from '../input/types.js';
import { allowedHeaders, limitedHeaders } from './headers.js';
import { compileRules, matchLimits } from './match.js';
import type { DecisionStore, LimitsDeps, LimitsOutcome, LimitsStage, StoreCheckResult, TokenFacts } from './types.js';

/** One warning per this many ms while the store keeps failing: an outage must not flood the log. */
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

export function createLimitsStage(config: Config, store: DecisionStore, deps: LimitsDeps): LimitsStage {
  const rules = compileRules(config.rateLimits);
  const denylistEnabled = config.denylist.enabled;
  // The in-process store cannot be unreachable; fail closed should it ever throw.
  const failOpen = config.redis?.onError === 'allow';
  let lastErrorLogAt = -Infinity;

  function onStoreError(error: unknown): LimitsOutcome {
    deps.countStoreError();
    const now = Date.now();
    if (now - lastErrorLogAt >= STORE_ERROR_LOG_INTERVAL_MS) {
      lastErrorLogAt = now;
      deps.logger.warn(
        { err: error, onError: failOpen ? 'allow' : 'deny' },
        failOpen ? 'store unavailable: skipping denylist and rate limits (redis.onError: allow)' : 'store unavailable: refusing checks (redis.onError: deny)',
      );
    }
    if (failOpen) return { kind: 'pass', headers: {} };
    return { kind: 'unavailable', description: 'rate-limit and denylist store unavailable' };
  }

  return {
    async evaluate(request: HttpRequestView, identity): Promise<LimitsOutcome> {
      const limits = matchLimits(rules, request, identity?.claims ?? null);
      const token: TokenFacts | null = denylistEnabled && identity !== null ? identity.facts : null;
      const hasDenylistLookup = token !== null && (token.jti !== null || token.subject !== null);
      if (limits.length === 0 && !hasDenylistLookup) return { kind: 'pass', headers: {} };

      let result: StoreCheckResult;
      try {
        result = await store.check(token, limits);
      } catch (error) {
        return onStoreError(error);
      }
      if (result.revoked !== null) return { kind: 'revoked', by: result.revoked };

      for (const limit of result.limits) deps.countRateLimit(limit.rule, limit.allowed ? 'allowed' : 'limited');
      const refused = result.limits.find((limit) => !limit.allowed);
      if (refused !== undefined) return { kind: 'limited', rule: refused.rule, headers: limitedHeaders(result.limits) };
      return { kind: 'pass', headers: allowedHeaders(result.limits) };
    },
  };
}
