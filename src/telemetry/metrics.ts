// The metrics README.md lists, on a registry of their own (not prom-client's global one), so several sidecars
// in one process (tests, benchmarks) never collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  checks: Counter<'result' | 'reason'>;
  checkDuration: Histogram;
  checksInFlight: Gauge;
  policyEvalDuration: Histogram;
  jwtVerifications: Counter<'provider' | 'result'>;
  rateLimitDecisions: Counter<'rule' | 'result'>;
  storeErrors: Counter;
  rateLimitServiceDecisions: Counter<'domain' | 'result'>;
  penalties: Counter<'rule'>;
  authFailuresBlocked: Counter;
  policyReloads: Counter<'result'>;
  policyWatchProblems: Counter<'kind'>;
  grpcConnections: Gauge;
  grpcConnectionsRefused: Counter;
  policyInfo: Gauge<'revision'>;
  setPolicyRevision(revision: string): void;
  policyEvalFailures: Counter<'reason'>;
  policyInstanceResets: Counter<'reason'>;
  /** where `policy_memory_bytes` reads the live instance's memory at scrape time */
  setPolicyMemorySource(read: () => number | undefined): void;
  /** 1 while the decision store answers its health ping, 0 while it does not (never a readiness input). */
  storeUp: Gauge;
  /** tls_certificate_reloads_total{listener,result}: grpc|admin, ok|error */
  tlsCertificateReloads: Counter<'listener' | 'result'>;
  /** Reads each provider's last successful JWKS load (unix ms, null: never) whenever /metrics is scraped. */
  watchJwksRefresh(source: () => Record<string, number | null>): void;
  dryRunDenials: Counter<'reason'>;
  openapiRequests: Counter<'operation' | 'result'>;
  unknownOperations: Counter<'method'>;
  openapiReloads: Counter<'result'>;
  /** bundle_fetches_total{result}: ok | not_modified | error | refused (policy.bundle) */
  bundleFetches: Counter<'result'>;
  /** unix seconds of the bundle server's last answer that left a current bundle in force (200 activated or 304) */
  bundleLastSuccess: Gauge;
}

const PREFIX = 'portcullis_';

/** Checks take well under a millisecond to tens of milliseconds (a Redis round trip, a JWKS fetch). */
const CHECK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];
  const policyInfo = new Gauge({
    name: `${PREFIX}policy_info`,
    help: 'The policy revision in force (value 1)',
    labelNames: ['revision'] as const,
    registers,
  });
  let readPolicyMemory: () => number | undefined = () => undefined;
  new Gauge({
    name: `${PREFIX}policy_memory_bytes`,
    help: 'Wasm memory of the policy instance in force (a fresh instance replaces one that failed or grew far)',
    registers,
    collect() {
      const bytes = readPolicyMemory();
      if (bytes !== undefined) this.set(bytes);
    },
  });
  let jwksRefreshSource: () => Record<string, number | null> = () => ({});
  new Gauge({
    name: `${PREFIX}jwks_last_refresh_timestamp_seconds`,
    help: 'Unix time of the last successful JWKS load per provider (0: never loaded)',
    labelNames: ['provider'] as const,
    registers,
    collect() {
      for (const [provider, loadedAtMs] of Object.entries(jwksRefreshSource())) {
        this.set({ provider }, loadedAtMs === null ? 0 : loadedAtMs / 1000);
      }
    },
  });
  // Each process reports 1; on /metrics the workers' registries are summed (node:cluster), so the value is the count.
  new Gauge({ name: `${PREFIX}workers`, help: 'Worker processes (event loops) answering checks', registers }).set(1);
  return {
    registry,
    checks: new Counter({
      name: `${PREFIX}checks_total`,
      help: 'Authorization checks by result (allowed, denied, unavailable) and reason',
      labelNames: ['result', 'reason'] as const,
      registers,
    }),
    checkDuration: new Histogram({
      name: `${PREFIX}check_duration_seconds`,
      help: 'Time to answer one Check, from request decoded to response built',
      buckets: CHECK_BUCKETS,
      registers,
    }),
    checksInFlight: new Gauge({
      name: `${PREFIX}checks_in_flight`,
      help: 'Checks received and not yet answered (what a graceful shutdown waits for)',
      registers,
    }),
    policyEvalDuration: new Histogram({
      name: `${PREFIX}policy_eval_duration_seconds`,
      help: 'Time spent evaluating the policy for one check',
      buckets: CHECK_BUCKETS,
      registers,
    }),
    jwtVerifications: new Counter({
      name: `${PREFIX}jwt_verifications_total`,
      help: 'JWT verifications by provider and result (valid or the failure code)',
      labelNames: ['provider', 'result'] as const,
      registers,
    }),
    rateLimitDecisions: new Counter({
      name: `${PREFIX}ratelimit_decisions_total`,
      help: 'Rate-limit rule decisions by rule and result (allowed, limited, shadow_limited)',
      labelNames: ['rule', 'result'] as const,
      registers,
    }),
    rateLimitServiceDecisions: new Counter({
      name: `${PREFIX}ratelimit_service_decisions_total`,
      help: 'Rate limit service (ShouldRateLimit) calls by domain and result (ok, over_limit, shadow_over_limit, error)',
      labelNames: ['domain', 'result'] as const,
      registers,
    }),
    penalties: new Counter({
      name: `${PREFIX}penalties_total`,
      help: 'Rate-limit penalties started, by rule',
      labelNames: ['rule'] as const,
      registers,
    }),
    authFailuresBlocked: new Counter({
      name: `${PREFIX}auth_failures_blocked_total`,
      help: 'Checks refused (429) because their key failed authentication too often (authFailures)',
      registers,
    }),
    storeErrors: new Counter({
      name: `${PREFIX}store_errors_total`,
      help: 'Denylist/rate-limit store calls that failed or timed out',
      registers,
    }),
    policyReloads: new Counter({
      name: `${PREFIX}policy_reloads_total`,
      help: 'Policy reloads by result (success, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    policyWatchProblems: new Counter({
      name: `${PREFIX}policy_watch_problems_total`,
      help: 'Policy file-watch problems by kind (missed: a change only the periodic check found; error: a directory that could not be watched)',
      labelNames: ['kind'] as const,
      registers,
    }),
    policyEvalFailures: new Counter({
      name: `${PREFIX}policy_eval_failures_total`,
      help: 'Policy evaluations that failed, by reason (fuel, memory: a policy.limits cap; error: anything else)',
      labelNames: ['reason'] as const,
      registers,
    }),
    policyInstanceResets: new Counter({
      name: `${PREFIX}policy_instance_resets_total`,
      help: 'Policy instances replaced by a fresh one, by reason (failure: after a failed evaluation; memory: grown far)',
      labelNames: ['reason'] as const,
      registers,
    }),
    setPolicyMemorySource(read) {
      readPolicyMemory = read;
    },
    grpcConnections: new Gauge({
      name: `${PREFIX}grpc_connections`,
      help: 'Open gRPC connections',
      registers,
    }),
    grpcConnectionsRefused: new Counter({
      name: `${PREFIX}grpc_connections_refused_total`,
      help: 'gRPC connections refused because grpc.maxConnections were open',
      registers,
    }),
    dryRunDenials: new Counter({
      name: `${PREFIX}dry_run_denials_total`,
      help: 'Checks policy.dryRun allowed that the policy stage would have refused, by the reason it would have given',
      labelNames: ['reason'] as const,
      registers,
    }),
    policyInfo,
    openapiRequests: new Counter({
      name: `${PREFIX}openapi_requests_total`,
      help: 'Requests that matched an OpenAPI operation, by operation (operationId, or METHOD template) and result (valid, invalid)',
      labelNames: ['operation', 'result'] as const,
      registers,
    }),
    unknownOperations: new Counter({
      name: `${PREFIX}unknown_operations_total`,
      help: 'Requests that matched no OpenAPI operation, by method (GET /v1/inventory lists their path shapes)',
      labelNames: ['method'] as const,
      registers,
    }),
    openapiReloads: new Counter({
      name: `${PREFIX}openapi_reloads_total`,
      help: 'OpenAPI document reloads by result (success, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    setPolicyRevision(revision: string) {
      policyInfo.reset();
      policyInfo.set({ revision }, 1);
    },
    storeUp: new Gauge({
      name: `${PREFIX}store_up`,
      help: 'Whether the denylist/rate-limit store answers (1) or not (0); checks then follow redis.onError',
      registers,
    }),
    tlsCertificateReloads: new Counter({
      name: `${PREFIX}tls_certificate_reloads_total`,
      help: 'TLS certificate reloads after the files changed, by listener (grpc, admin) and result (ok; error: the last good certificate stays)',
      labelNames: ['listener', 'result'] as const,
      registers,
    }),
    watchJwksRefresh(source) {
      jwksRefreshSource = source;
    },
    bundleFetches: new Counter({
      name: `${PREFIX}bundle_fetches_total`,
      help: 'Bundle server requests (policy.bundle) by result: ok (new bundle activated), not_modified (304), error (no answer, HTTP error), refused (unreadable, unsigned, tampered or not compiling: the policy in force stays)',
      labelNames: ['result'] as const,
      registers,
    }),
    bundleLastSuccess: new Gauge({
      name: `${PREFIX}bundle_last_success_timestamp_seconds`,
      help: 'Unix time of the last bundle server answer that left a current bundle in force (activated or 304); 0 before the first',
      registers,
    }),
  };
}
