// The gRPC face of the rate limit service: Envoy's rls.proto (envoy.service.ratelimit.v3.RateLimitService)
// on the same server as Check. Decoding and encoding only; the decisions are src/limits/service.ts's.
import type { Logger } from 'pino';
import {
  createRateLimitService,
  RateLimitRequestError,
  type DecodedRateLimitRequest,
  type RateLimitResponseMessage,
} from '../limits/service.js';
import { loadServiceRules } from '../limits/service-rules-source.js';
import type { DecisionStore } from '../limits/types.js';
import { watchPaths } from '../policy/watch.js';
import type { Metrics } from '../telemetry/metrics.js';
import { GrpcStatus } from './grpcFraming.js';
import { unary, type MethodHandler, type ServiceBinding, type ServiceDefinition } from './grpcService.js';
import { loadRateLimitProtos } from './protos.js';

export const RATE_LIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';

let cached: ServiceDefinition | undefined;

export function loadRateLimitServiceDefinition(): ServiceDefinition {
  cached ??= loadRateLimitProtos();
  return cached;
}

export function rateLimitServiceHandlers(
  shouldRateLimit: (request: DecodedRateLimitRequest) => Promise<RateLimitResponseMessage>,
  logger: Logger,
): Readonly<Record<string, MethodHandler>> {
  return {
    ShouldRateLimit: unary<DecodedRateLimitRequest>((request) =>
      shouldRateLimit(request).then(
        (response) => ({ message: response }),
        (error: unknown) => {
          if (error instanceof RateLimitRequestError) {
            return { error: { code: GrpcStatus.INVALID_ARGUMENT, details: error.message } };
          }
          // The service answers store failures itself (redis.onError); anything else is a bug, not a verdict.
          logger.error({ err: error }, 'rate limit service failed');
          return { error: { code: GrpcStatus.INTERNAL, details: 'rate limit service failed' } };
        },
      ),
    ),
  };
}

export interface RateLimitServiceShell extends ServiceBinding {
  close(): void;
}

/**
 * The service as the sidecar runs it: rule files loaded (a bad one stops start-up), always watched (a bad
 * edit keeps the last good rules), decisions counted in ratelimit_service_decisions_total.
 */
export async function startRateLimitService(
  settings: {
    config: readonly string[];
    headers: 'ietf' | 'draft03' | 'none';
    failOpen: boolean;
    watchDebounceMs: number;
    /** the stat poll's period (policy.watchPollSeconds); 0 turns it off */
    watchPollMs: number;
  },
  store: DecisionStore,
  metrics: Metrics,
  logger: Logger,
): Promise<RateLimitServiceShell> {
  const rules = await loadServiceRules(settings.config, logger);
  // Rule files are always watched (an edit, a write-and-rename, a ConfigMap's symlink swap), with the policy
  // watcher's stat poll as a fallback for a watch that went deaf.
  const watch = await watchPaths([...settings.config], () => void rules.reload(), {
    debounceMs: settings.watchDebounceMs,
    pollMs: settings.watchPollMs,
    onProblem: (problem) =>
      logger.warn(
        { problem: problem.kind },
        'rate limit service rule files: a change the file watch missed, or a directory it cannot watch; the stat poll covers it',
      ),
  });
  const service = createRateLimitService(
    { rules: rules.current, headers: settings.headers, failOpen: settings.failOpen },
    store,
    {
      logger,
      countDecision: (domain, result) => metrics.rateLimitServiceDecisions.inc({ domain, result }),
      countStoreError: () => metrics.storeErrors.inc(),
    },
  );
  return {
    definition: loadRateLimitServiceDefinition(),
    handlers: rateLimitServiceHandlers(service, logger),
    close: () => watch.close(),
  };
}
