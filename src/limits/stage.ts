// Step 2 and 3 of a check (README.md): denylist and rate limits, one store call, outcome and headers; plus
// the failed-authentication gate the pipeline asks before verifying a token.
import type { Config } from '../config/schema.js';
import type { HttpRequestView } from '../input/types.js';
import { allowedHeaders, limitedHeaders } from './headers.js';
import { compileKey, compileRules, matchLimits } from './match.js';
import type {
  AuthGateOutcome,
  DecisionStore,
  LimitRequest,
  LimitResult,
  LimitsDeps,
  LimitsOutcome,
  LimitsStage,
  StoreCheckResult,
  TokenFacts,
} from './types.js';

/** One warning per this many ms while the store keeps failing: an outage must not flood the log. */
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

const PASS: AuthGateOutcome = { kind: 'pass' };
const PASSED: Promise<AuthGateOutcome> = Promise.resolve(PASS);

export function createLimitsStage(config: Config, store: DecisionStore, deps: LimitsDeps): LimitsStage {
  const rules = compileRules(config.rateLimits);
  const denylistEnabled = config.denylist.enabled;
  // The in-process store cannot be unreachable; fail closed should it ever throw.
  const failOpen = config.redis?.onError === 'allow';
  const authFailures = config.authFailures;
  const authKey = authFailures === undefined ? null : compileKey(authFailures.key);
  let lastErrorLogAt = -Infinity;

  function onStoreError(error: unknown): LimitsOutcome {
    deps.countStoreError();
    const now = Date.now();
    if (now - lastErrorLogAt >= STORE_ERROR_LOG_INTERVAL_MS) {
      lastErrorLogAt = now;
      deps.logger.warn(
        { err: error, onError: failOpen ? 'allow' : 'deny' },
        failOpen
          ? 'store unavailable: skipping denylist and rate limits (redis.onError: allow)'
          : 'store unavailable: refusing checks (redis.onError: deny)',
      );
    }
    if (failOpen) return { kind: 'pass', headers: {} };
    return { kind: 'unavailable', description: 'rate-limit and denylist store unavailable' };
  }

  // Shadow refusals are logged once per rule per interval (with the count since), not once per request.
  const shadowLog = new Map<string, { at: number; since: number }>();
  function logShadow(result: LimitResult): void {
    const now = Date.now();
    const entry = shadowLog.get(result.rule) ?? { at: -Infinity, since: 0 };
    entry.since++;
    if (now - entry.at >= STORE_ERROR_LOG_INTERVAL_MS) {
      deps.logger.info(
        { rule: result.rule, limit: result.limit, wouldRefuse: entry.since },
        'shadow rate limit: requests over this rule were let through (rateLimits[].shadow)',
      );
      entry.at = now;
      entry.since = 0;
    }
    shadowLog.set(result.rule, entry);
  }

  function count(result: LimitResult): void {
    if (result.allowed) deps.countRateLimit(result.rule, 'allowed');
    else if (result.shadow) {
      deps.countRateLimit(result.rule, 'shadow_limited');
      logShadow(result);
    } else deps.countRateLimit(result.rule, 'limited');
    if (result.penalty === 'started') {
      deps.countPenalty?.(result.rule);
      deps.logger.warn({ rule: result.rule }, 'rate limit penalty started for a key that exceeded the rule');
    }
  }

  function authFailureKey(request: HttpRequestView): string | null {
    return authKey === null ? null : authKey(request, null);
  }

  function authFailed(request: HttpRequestView): void {
    const key = authFailureKey(request);
    if (key === null || authFailures === undefined) return;
    store.recordAuthFailure(key, authFailures).then(
      (started) => {
        if (started)
          deps.logger.warn(
            { blockSeconds: authFailures.blockSeconds },
            'too many failed authentications from one key: blocked',
          );
      },
      (error: unknown) => void onStoreError(error),
    );
  }

  /** authFailures: is this key blocked for failed authentications? */
  async function gate(key: string): Promise<AuthGateOutcome> {
    let seconds: number;
    try {
      seconds = await store.authBlockSeconds(key);
    } catch (error) {
      // The gate only ever refuses; a store outage leaves it to the checks after it (redis.onError).
      onStoreError(error);
      return PASS;
    }
    if (seconds <= 0) return PASS;
    deps.countAuthFailureBlocked?.();
    return { kind: 'blocked', headers: { 'retry-after': String(seconds) } };
  }

  function outcomeOf(request: HttpRequestView, result: StoreCheckResult): LimitsOutcome {
    if (result.revoked !== null) {
      authFailed(request);
      return { kind: 'revoked', by: result.revoked };
    }
    for (const limit of result.limits) count(limit);
    // A shadow rule is counted and logged, never seen by the client: no refusal, no header.
    const enforced = result.limits.filter((limit) => !limit.shadow);
    const refused = enforced.find((limit) => !limit.allowed);
    if (refused !== undefined) return { kind: 'limited', rule: refused.rule, headers: limitedHeaders(enforced) };
    return { kind: 'pass', headers: allowedHeaders(enforced) };
  }

  return {
    // Not an async function: the check waits on the store's promise and one continuation, not on a suspended
    // function (its frame and a second promise, held per check while Redis answers).
    evaluate(request: HttpRequestView, identity): Promise<LimitsOutcome> {
      let limits: LimitRequest[];
      let token: TokenFacts | null;
      try {
        limits = matchLimits(rules, request, identity?.claims ?? null);
        token = denylistEnabled && identity !== null ? identity.facts : null;
      } catch (error) {
        return Promise.reject(error as Error);
      }
      const hasDenylistLookup = token !== null && (token.jti !== null || token.subject !== null);
      if (limits.length === 0 && !hasDenylistLookup) return Promise.resolve({ kind: 'pass', headers: {} });
      let pending: Promise<StoreCheckResult>;
      try {
        pending = store.check(token, limits);
      } catch (error) {
        return Promise.resolve(onStoreError(error));
      }
      return pending.then((result) => outcomeOf(request, result), onStoreError);
    },

    authGate(request: HttpRequestView): Promise<AuthGateOutcome> {
      const key = authFailureKey(request);
      // Without authFailures (the common case) every check shares one settled promise.
      return key === null ? PASSED : gate(key);
    },

    authFailed,
  };
}
