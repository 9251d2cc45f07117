// Assembles the running sidecar from a validated Config: telemetry, the stages, the policy runtime, and
// the two network shells. `shutdown()` (SIGTERM) and `close()` drain in the order that loses no check.
import type { DestinationStream, Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ContractDeps, ContractStage, OpenApiSettings } from '../contract/types.js';
import { createIdentityStage, forwardClaimHeaderNames } from '../identity/index.js';
import { createLimitsStage, createStore } from '../limits/index.js';
import type { IdentityDeps } from '../identity/types.js';
import type { LimitsDeps } from '../limits/types.js';
import { createPolicyRuntime, type PolicyRuntime, type PolicyRuntimeDeps } from '../policy/runtime.js';
import type { LoadedPolicy, PolicySettings } from '../policy/engine.js';
import type { EvaluatorObserver } from '../policy/evaluator.js';
import type { BundleStatus } from '../bundle/runtime.js';
import { createDecisionLogger, ALWAYS_SECRET_HEADERS } from '../telemetry/decisionLog.js';
import type { GrpcBodyStage } from '../input/protoDescriptor.js';
import { createLogger } from '../telemetry/logger.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { loadTracer } from '../telemetry/tracing.js';
import { startAdminServer } from './adminServer.js';
import { startGrpcServer } from './grpcServer.js';
import { createHealthState } from './health.js';
import { adminExposureWarning, plaintextExposureWarning } from './listenAddress.js';
import type { startRateLimitService } from './rateLimitService.js';
import { createCheckPipeline } from './pipeline.js';
import { readiness } from './readiness.js';
import { createStoreMonitor } from './storeMonitor.js';
import type { StageTimes } from './stageTimes.js';
import { clientCertOptions, readTlsFiles, reloadTlsOnChange } from './tlsFiles.js';

export interface SidecarOptions {
  logger?: Logger;
  /** where logs go when no logger is given (tests capture them) */
  logDestination?: DestinationStream;
  /** process metrics (event loop, memory) on /metrics; off in tests that start many sidecars */
  processMetrics?: boolean;
  /** debounce of policy reloads on file changes */
  watchDebounceMs?: number;
  /** how often the store is pinged for /readyz and portcullis_store_up */
  storePingIntervalMs?: number;
  /** what /metrics answers instead of this process's registry (a worker: the aggregate over all workers) */
  metricsSource?: { metrics(): Promise<string>; contentType: string };
  /** substitutes the policy loader (tests) */
  loadPolicy?: (settings: PolicySettings, observer?: EvaluatorObserver) => Promise<LoadedPolicy>;
  /** how often grpc.tls / admin.tls files are checked for a change (default 1000 ms) */
  tlsWatchIntervalMs?: number;
  /** the pipeline's per-stage CPU time (bench:check) */
  stageTimes?: StageTimes;
}

export interface Sidecar {
  grpcPort: number;
  adminPort: number;
  logger: Logger;
  metrics: Metrics;
  policy: PolicyRuntime;
  /**
   * The SIGTERM sequence: unready at once (gRPC health NOT_SERVING, /readyz 503) while checks are still
   * answered for shutdown.delaySeconds, then stop accepting, let in-flight checks finish (up to
   * shutdown.timeoutSeconds), close the store.
   */
  shutdown(): Promise<void>;
  /** The same without the delay; during a shutdown's delay it cuts the delay short (a second signal). */
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
    countPenalty: (rule) => metrics.penalties.inc({ rule }),
    countAuthFailureBlocked: () => metrics.authFailuresBlocked.inc(),
  };

  const policySettings = {
    path: config.policy.path,
    entrypoint: config.policy.entrypoint,
    data: config.policy.data,
    limits: config.policy.limits,
  };
  const policyDeps: PolicyRuntimeDeps = {
    logger: logger.child({ stage: 'policy' }),
    countReload: (result) => metrics.policyReloads.inc({ result }),
    setRevision: (revision) => metrics.setPolicyRevision(revision),
    countWatchProblem: (kind) => metrics.policyWatchProblems.inc({ kind }),
    observeEvaluator: {
      evalFailed: (reason) => metrics.policyEvalFailures.inc({ reason }),
      instanceReset: (reason) => metrics.policyInstanceResets.inc({ reason }),
    },
    ...(options.loadPolicy === undefined ? {} : { load: options.loadPolicy }),
  };
  // The bundle client is loaded only when policy.bundle is configured.
  let bundleStatus: (() => BundleStatus) | undefined;
  let policy: PolicyRuntime;
  if (config.policy.bundle === undefined) {
    policy = await createPolicyRuntime(policySettings, policyDeps);
  } else {
    const { createBundleRuntime } = await import('../bundle/runtime.js');
    const bundleRuntime = await createBundleRuntime(policySettings, config.policy.bundle, {
      ...policyDeps,
      countFetch: (result) => metrics.bundleFetches.inc({ result }),
      setLastSuccess: (unixSeconds) => metrics.bundleLastSuccess.set(unixSeconds),
    });
    bundleStatus = () => bundleRuntime.status();
    policy = bundleRuntime;
  }
  opened.push(() => policy.close());
  metrics.setPolicyMemorySource(() => policy.loaded()?.memoryBytes?.());
  const store = await createStore(config, limitsDeps);
  opened.push(() => store.close());
  logStore(logger, config, store.kind);
  const storeMonitor = createStoreMonitor(store, {
    intervalMs: options.storePingIntervalMs ?? 1000,
    onChange: (health) => metrics.storeUp.set(health.up ? 1 : 0),
  });
  opened.push(() => storeMonitor.stop());
  await storeMonitor.refresh();
  const identity = await createIdentityStage(config.jwt, identityDeps);
  opened.push(() => identity.close());
  metrics.watchJwksRefresh(() =>
    Object.fromEntries(Object.entries(identity.jwksStatus()).map(([name, status]) => [name, status.loadedAt])),
  );
  const limits = createLimitsStage(config, store, limitsDeps);
  const rateLimitService =
    config.rateLimitService === undefined
      ? null
      : await loadRateLimitService(
          {
            ...config.rateLimitService,
            failOpen: config.redis?.onError === 'allow',
            watchDebounceMs: options.watchDebounceMs ?? 200,
            watchPollMs: config.policy.watchPollSeconds * 1000,
          },
          store,
          metrics,
          logger.child({ component: 'ratelimit-service' }),
        );
  if (rateLimitService !== null) opened.push(() => rateLimitService.close());
  const contract =
    config.openapi === undefined
      ? undefined
      : await loadContractStage(config.openapi, {
          logger: logger.child({ stage: 'openapi' }),
          countRequest: (operation, result) => metrics.openapiRequests.inc({ operation, result }),
          countUnknown: (method) => metrics.unknownOperations.inc({ method }),
          countReload: (result) => metrics.openapiReloads.inc({ result }),
        });
  if (contract !== undefined) opened.push(() => contract.close());
  const grpcBody =
    config.input.protoDescriptor === undefined
      ? undefined
      : await loadGrpcBodyStage(config.input.protoDescriptor, logger.child({ component: 'grpc-body' }));
  if (grpcBody !== undefined) opened.push(() => grpcBody.close());

  const tracer = await loadTracer(config.tracing, logger.child({ component: 'tracing' }));
  if (tracer !== null) opened.push(() => tracer.shutdown());

  const check = createCheckPipeline({
    ...(options.stageTimes === undefined ? {} : { stageTimes: options.stageTimes }),
    tracer,
    identity,
    limits,
    ...(contract === undefined ? {} : { contract }),
    policy: () => policy.current(),
    forwardHeaderNames: forwardClaimHeaderNames(config.jwt),
    input: { skipRequestBodyParse: config.input.skipRequestBodyParse, grpcBody },
    logger,
    decisionLog: createDecisionLogger(logger, {
      enabled: config.decisionLog.enabled,
      includeInput: config.decisionLog.includeInput ?? config.decisionLog.format === 'opa',
      secrets: secretLocations(config),
      format: config.decisionLog.format,
      entrypoint: config.policy.entrypoint,
    }),
    policyModes: {
      dryRun: config.policy.dryRun,
      onError: config.policy.onError,
      onUndefined: config.policy.onUndefined,
    },
    countDryRunDenial: (reason) => metrics.dryRunDenials.inc({ reason }),
    observeCheck: (result, reason, seconds) => {
      metrics.checks.inc({ result, reason });
      metrics.checkDuration.observe(seconds);
    },
    observePolicyEval: (seconds) => metrics.policyEvalDuration.observe(seconds),
  });

  // Read before anything listens: files that do not make a TLS context fail start-up, naming them.
  const grpcTls =
    config.grpc.tls === undefined
      ? undefined
      : { ...(await readTlsFiles('grpc', config.grpc.tls)), ...clientCertOptions(config.grpc.tls) };
  const adminTls =
    config.admin.tls === undefined
      ? undefined
      : { ...(await readTlsFiles('admin', config.admin.tls)), ...clientCertOptions(config.admin.tls) };
  const health = createHealthState();
  let draining = false;
  const checkEnded = (): void => metrics.checksInFlight.dec();
  const grpcShell = await startGrpcServer({
    ...(grpcTls === undefined ? {} : { tls: grpcTls }),
    address: config.grpc.address,
    maxReceiveMessageBytes: config.grpc.maxReceiveMessageBytes,
    connections: config.grpc,
    onConnectionRefused: () => metrics.grpcConnectionsRefused.inc(),
    onConnections: (open) => metrics.grpcConnections.set(open),
    check: (request, connection) => {
      metrics.checksInFlight.inc();
      const pending = check(request, connection);
      // not an async wrapper: one promise and one turn of the microtask queue fewer per check
      pending.then(checkEnded, checkEnded);
      return pending;
    },
    health,
    logger,
    services: rateLimitService === null ? [] : [rateLimitService],
  });
  opened.push(() => grpcShell.shutdown(0));
  const adminShell = await startAdminServer({
    address: config.admin.address,
    token: config.admin.token,
    store,
    readiness: () =>
      readiness({
        policy: policy.loaded(),
        ...(bundleStatus === undefined ? {} : { bundle: bundleStatus() }),
        draining,
        store: storeMonitor.health(),
        storeOnError: config.redis?.onError ?? null,
        jwks: identity.jwksStatus(),
        nowMs: Date.now(),
      }),
    registry: options.metricsSource ?? metrics.registry,
    policyInfo: () => policy.loaded(),
    ...(bundleStatus === undefined ? {} : { bundleStatus }),
    isDraining: () => draining,
    inventory: () => contract?.inventory() ?? null,
    logger: logger.child({ component: 'admin' }),
    overridableRules: config.rateLimits,
    ...(adminTls === undefined ? {} : { tls: adminTls }),
  });
  const tlsReloadDeps = {
    logger,
    count: (listener: 'grpc' | 'admin', result: 'ok' | 'error') =>
      metrics.tlsCertificateReloads.inc({ listener, result }),
    intervalMs: options.tlsWatchIntervalMs,
  };
  const tlsWatches = [
    ...(config.grpc.tls === undefined ? [] : [reloadTlsOnChange('grpc', config.grpc.tls, grpcShell, tlsReloadDeps)]),
    ...(config.admin.tls === undefined
      ? []
      : [reloadTlsOnChange('admin', config.admin.tls, adminShell, tlsReloadDeps)]),
  ];
  opened.push(() => tlsWatches.forEach((w) => w.stop()));
  if (config.policy.watch) {
    await policy.watch({ debounceMs: options.watchDebounceMs, pollMs: config.policy.watchPollSeconds * 1000 });
  }
  if (config.policy.watch) {
    await contract?.watch({ debounceMs: options.watchDebounceMs, pollMs: config.policy.watchPollSeconds * 1000 });
    await grpcBody?.watch({ debounceMs: options.watchDebounceMs, pollMs: config.policy.watchPollSeconds * 1000 });
  }
  const exposure = plaintextExposureWarning(config.grpc);
  if (exposure !== null) logger.warn({ grpc: config.grpc.address }, exposure);
  const adminExposure = adminExposureWarning(config.admin);
  if (adminExposure !== null) logger.warn({ admin: config.admin.address }, adminExposure);
  logger.info(
    { grpc: config.grpc.address, grpcPort: grpcShell.port, admin: config.admin.address, adminPort: adminShell.port },
    'portcullis serving',
  );

  const { delaySeconds, timeoutSeconds } = config.shutdown;
  const timeoutMs = timeoutSeconds * 1000;
  let cutDelay: (() => void) | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (delayMs: number): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      health.setServing(false);
      if (delayMs > 0) {
        logger.info({ delaySeconds, timeoutSeconds }, 'unready; still answering checks for shutdown.delaySeconds');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          cutDelay = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const deadline = Date.now() + timeoutMs;
      policy.close();
      rateLimitService?.close();
      contract?.close();
      grpcBody?.close();
      // Stops accepting; in-flight checks get until the deadline, then their calls are cancelled.
      await grpcShell.shutdown(timeoutMs);
      const remaining = (): number => Math.max(deadline - Date.now(), 100);
      await withinMs(adminShell.close(), remaining(), () => logger.warn('admin server did not close in time'));
      await identity.close();
      storeMonitor.stop();
      for (const watch of tlsWatches) watch.stop();
      await withinMs(store.close(), remaining(), () => logger.warn('store did not close in time'));
      // Last, so the spans of the checks drained above are exported too.
      if (tracer !== null)
        await withinMs(tracer.shutdown(), remaining(), () => logger.warn('traces not exported in time'));
      logger.info('portcullis stopped');
    })();
    return stopping;
  };
  return {
    grpcPort: grpcShell.port,
    adminPort: adminShell.port,
    logger,
    metrics,
    policy,
    shutdown: () => stop(delaySeconds * 1000),
    close() {
      cutDelay?.();
      return stop(0);
    },
  };
}

/** Imported only when `openapi` is configured: ajv, the OpenAPI schemas and the ref parser weigh ~6 MB. */
async function loadContractStage(settings: OpenApiSettings, deps: ContractDeps): Promise<ContractStage> {
  const { createContractStage } = await import('../contract/index.js');
  return createContractStage(settings, deps);
}

/** Imported only when `rateLimitService` is configured: its rule files' parser (yaml, zod) and its protos. */
async function loadRateLimitService(
  ...args: Parameters<typeof startRateLimitService>
): ReturnType<typeof startRateLimitService> {
  const { startRateLimitService } = await import('./rateLimitService.js');
  return startRateLimitService(...args);
}

/** Imported only when `input.protoDescriptor` is configured: @bufbuild/protobuf is not needed otherwise. */
async function loadGrpcBodyStage(file: string, logger: Logger): Promise<GrpcBodyStage> {
  const { createGrpcBodyStage } = await import('../input/protoDescriptor.js');
  return createGrpcBodyStage(file, logger);
}

/** Waits for `pending` at most `ms`; past that, reports and goes on (shutdown must not hang on a dependency). */
function withinMs(pending: Promise<void>, ms: number, onLate: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onLate();
      resolve();
    }, ms);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    pending.then(done, done);
  });
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
