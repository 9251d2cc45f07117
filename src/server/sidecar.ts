// Assembles the running sidecar from a validated Config: telemetry, the stages, the policy runtime, and
// the two network shells. `close()` drains in the order that loses no check.
import type { DestinationStream, Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createIdentityStage, forwardClaimHeaderNames } from '../identity/index.js';
import { createLimitsStage, createStore } from '../limits/index.js';
import type { IdentityDeps } from '../identity/types.js';
import type { LimitsDeps } from '../limits/types.js';
import { createPolicyRuntime, type PolicyRuntime } from '../policy/runtime.js';
import type { LoadedPolicy, PolicySettings } from '../policy/engine.js';
import type { EvaluatorObserver } from '../policy/evaluator.js';
import { createDecisionLogger, ALWAYS_SECRET_HEADERS } from '../telemetry/decisionLog.js';
import { createLogger } from '../telemetry/logger.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { startAdminServer } from './adminServer.js';
import { startGrpcServer } from './grpcServer.js';
import { createHealthState } from './health.js';
import { createCheckPipeline } from './pipeline.js';

export interface SidecarOptions {
  logger?: Logger;
  /** where logs go when no logger is given (tests capture them) */
  logDestination?: DestinationStream;
  /** process metrics (event loop, memory) on /metrics; off in tests that start many sidecars */
  processMetrics?: boolean;
  /** debounce of policy reloads on file changes */
  watchDebounceMs?: number;
  /** how long close() waits for in-flight checks */
  drainMs?: number;
  /** substitutes the policy loader (tests) */
  loadPolicy?: (settings: PolicySettings, observer?: EvaluatorObserver) => Promise<LoadedPolicy>;
}

export interface Sidecar {
  grpcPort: number;
  adminPort: number;
  logger: Logger;
  metrics: Metrics;
  policy: PolicyRuntime;
  close(): Promise<void>;
}

export async function startSidecar(config: Config, options: SidecarOptions = {}): Promise<Sidecar> {
  const logger = options.logger ?? createLogger(config.logLevel, options.logDestination);
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? true });
  // What is open so far, closed in reverse if a later step fails (a bound port or a Redis connection left
  // open would keep a failed start-up from exiting).
  const opened: Array<() => Promise<void> | void> = [];
  try {
    return await assemble(config, options, logger, metrics, opened);
  } catch (error) {
    for (const close of opened.reverse()) {
      await Promise.resolve(close()).catch(() => undefined);
    }
    throw error;
  }
}

async function assemble(
  config: Config,
  options: SidecarOptions,
  logger: Logger,
  metrics: Metrics,
  opened: Array<() => Promise<void> | void>,
): Promise<Sidecar> {

  const identityDeps: IdentityDeps = {
    logger: logger.child({ stage: 'identity' }),
    countVerification: (provider, result) => metrics.jwtVerifications.inc({ provider, result }),
  };
  const limitsDeps: LimitsDeps = {
    logger: logger.child({ stage: 'limits' }),
    countRateLimit: (rule, result) => metrics.rateLimitDecisions.inc({ rule, result }),
    countStoreError: () => metrics.storeErrors.inc(),
  };

  const policy = await createPolicyRuntime(
    { path: config.policy.path, entrypoint: config.policy.entrypoint, data: config.policy.data, limits: config.policy.limits },
    {
      logger: logger.child({ stage: 'policy' }),
      countReload: (result) => metrics.policyReloads.inc({ result }),
      setRevision: (revision) => metrics.setPolicyRevision(revision),
      countWatchProblem: (kind) => metrics.policyWatchProblems.inc({ kind }),
      observeEvaluator: {
        evalFailed: (reason) => metrics.policyEvalFailures.inc({ reason }),
        instanceReset: (reason) => metrics.policyInstanceResets.inc({ reason }),
      },
      ...(options.loadPolicy === undefined ? {} : { load: options.loadPolicy }),
    },
  );
  opened.push(() => policy.close());
  metrics.setPolicyMemorySource(() => policy.current().memoryBytes?.());
  const store = await createStore(config, limitsDeps);
  opened.push(() => store.close());
  logStore(logger, config, store.kind);
  const identity = await createIdentityStage(config.jwt, identityDeps);
  opened.push(() => identity.close());
  const limits = createLimitsStage(config, store, limitsDeps);

  const check = createCheckPipeline({
    identity,
    limits,
    policy: () => policy.current(),
    forwardHeaderNames: forwardClaimHeaderNames(config.jwt),
    logger,
    decisionLog: createDecisionLogger(logger, {
      enabled: config.decisionLog.enabled,
      includeInput: config.decisionLog.includeInput,
      secrets: secretLocations(config),
    }),
    observeCheck: (result, reason, seconds) => {
      metrics.checks.inc({ result, reason });
      metrics.checkDuration.observe(seconds);
    },
    observePolicyEval: (seconds) => metrics.policyEvalDuration.observe(seconds),
  });

  const health = createHealthState();
  let draining = false;
  const grpcShell = await startGrpcServer({
    address: config.grpc.address,
    maxReceiveMessageBytes: config.grpc.maxReceiveMessageBytes,
    check: async (request) => {
      metrics.checksInFlight.inc();
      try {
        return await check(request);
      } finally {
        metrics.checksInFlight.dec();
      }
    },
    health,
    logger,
  });
  opened.push(() => grpcShell.shutdown(0));
  const adminShell = await startAdminServer({
    address: config.admin.address,
    token: config.admin.token,
    store,
    storeFailOpen: config.redis?.onError === 'allow',
    registry: metrics.registry,
    policyInfo: () => policy.current(),
    isDraining: () => draining,
    logger: logger.child({ component: 'admin' }),
  });
  if (config.policy.watch) {
    await policy.watch({ debounceMs: options.watchDebounceMs, pollMs: config.policy.watchPollSeconds * 1000 });
  }
  logger.info(
    { grpc: config.grpc.address, grpcPort: grpcShell.port, admin: config.admin.address, adminPort: adminShell.port },
    'portcullis serving',
  );

  let closing: Promise<void> | undefined;
  return {
    grpcPort: grpcShell.port,
    adminPort: adminShell.port,
    logger,
    metrics,
    policy,
    close() {
      closing ??= (async () => {
        draining = true;
        policy.close();
        await grpcShell.shutdown(options.drainMs ?? 10_000);
        await adminShell.close();
        await identity.close();
        await store.close();
        logger.info('portcullis stopped');
      })();
      return closing;
    },
  };
}

function logStore(logger: Logger, config: Config, kind: 'memory' | 'redis'): void {
  // The in-process store announces itself (a warning: limits are per-instance) when it is created.
  if (kind === 'memory') return;
  const redis = config.redis;
  const shape = redis?.cluster !== undefined ? 'cluster' : redis?.sentinel !== undefined ? 'sentinel' : 'standalone';
  logger.info({ store: 'redis', shape, keyPrefix: redis?.keyPrefix, onError: redis?.onError }, 'redis store');
}

/** Every place a configured provider reads a token from, plus the always-secret headers. */
function secretLocations(config: Config): { headers: Set<string>; queryParameters: Set<string> } {
  const headers = new Set(ALWAYS_SECRET_HEADERS);
  const queryParameters = new Set(['access_token']);
  for (const provider of config.jwt.providers) {
    for (const from of provider.from) {
      if ('header' in from) headers.add(from.header.toLowerCase());
      if ('query' in from) queryParameters.add(from.query);
    }
  }
  return { headers, queryParameters };
}
