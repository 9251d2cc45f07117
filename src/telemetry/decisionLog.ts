// One log line per check, in Portcullis's shape or in OPA's decision-log shape (`decisionLog.format: opa`,
// what OPA-Envoy's `decision_logs.console` writes), so existing log pipelines keep working. Credentials never
// enter the record: the path is logged without its query (tokens may travel as query parameters), and the
// optional input copy goes through redactInput (./redact.ts): token-bearing headers and cookies removed,
// credential query parameters redacted wherever a URL or the path appears in it.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { copyJson, redactInput, type SecretLocations } from './redact.js';
import { pathWithoutQuery } from '../input/parsePath.js';
import { isRecord } from '../json/records.js';

export interface DecisionRecord {
  decisionId: string;
  result: string;
  /** the HTTP status the client gets; null when the check ended in a gRPC error and Envoy chooses it */
  status: number | null;
  reason: string;
  /** finer cause: an identity failure code, the decision key of a type error, ... */
  detail?: string | undefined;
  method: string;
  /** request path, query included; stripped here */
  path: string;
  subject: string | null;
  revision: string | null;
  durationMs: number;
  input?: unknown;
  /** policy.dryRun: the outcome above was logged and counted, and the request allowed */
  dryRun?: boolean;
  /** the gRPC status the Check ended with instead of a CheckResponse (policy.onError / onUndefined: error) */
  grpcStatus?: string;
  /** what the policy itself gave, when it ran: its value (undefined: no value) or its error, and its time */
  policy?: { defined: boolean; value?: unknown; error?: string; evalSeconds: number };
  /** grpc.tls with a client CA: the verified client certificate the check came over */
  peer?: DecisionPeer;
}

/** A verified mTLS client: certificate subject, SANs as Node prints them, URI SANs (a SPIFFE id) apart. */
export interface DecisionPeer {
  subject: string;
  san: string | undefined;
  uris: string[];
}

export interface DecisionLogger {
  log(record: DecisionRecord): void;
}

export { ALWAYS_SECRET_HEADERS, type SecretLocations } from './redact.js';

export interface DecisionLogOptions {
  enabled: boolean;
  includeInput: boolean;
  secrets: SecretLocations;
  /** portcullis (default) or opa: OPA's decision-log event */
  format?: 'portcullis' | 'opa';
  /** the policy entrypoint (`path` of an OPA event) */
  entrypoint?: string;
}

export function createDecisionLogger(logger: Logger, options: DecisionLogOptions): DecisionLogger {
  if (!options.enabled) return { log: () => undefined };
  if (options.format === 'opa') return opaDecisionLogger(logger, options);
  const decisions = logger.child({ log: 'decision' });
  return {
    log(record) {
      const line: Record<string, unknown> = {
        decision_id: record.decisionId,
        result: record.result,
        status: record.status,
        reason: record.reason,
        method: record.method,
        path: pathWithoutQuery(record.path),
        subject: record.subject,
        revision: record.revision,
        duration_ms: Math.round(record.durationMs * 1000) / 1000,
      };
      if (record.detail !== undefined) line['detail'] = record.detail;
      if (record.dryRun === true) line['dry_run'] = true;
      if (record.grpcStatus !== undefined) line['grpc_status'] = record.grpcStatus;
      if (record.peer !== undefined) line['peer'] = record.peer;
      if (options.includeInput && record.input !== undefined)
        line['input'] = withoutSecrets(record.input, options.secrets);
      decisions.info(line, 'check');
    },
  };
}

/** `labels.id` of OPA's events: one id per running process, as OPA's instance id. */
const INSTANCE_ID = randomUUID();
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * OPA's decision-log event (plugins/logs EventV1, as OPA-Envoy fills it): `labels`, `decision_id`, `path`,
 * `input`, `result` or `error`, `timestamp`, `metrics`, plus `type` and `msg` as OPA's console logger writes
 * them. `result` is the entrypoint's value; `error` is OPA-Envoy's for an evaluation error, an undefined
 * decision or a decision of the wrong type. Portcullis's own view (its answer and reason, also for checks refused before the policy ran,
 * which have neither) is under `portcullis`.
 */
function opaDecisionLogger(logger: Logger, options: DecisionLogOptions): DecisionLogger {
  const labels = { id: INSTANCE_ID, version: VERSION, app: 'portcullis' };
  return {
    log(record) {
      const event: Record<string, unknown> = {
        type: 'openpolicyagent.org/decision_logs',
        labels,
        decision_id: record.decisionId,
        path: options.entrypoint ?? 'envoy/authz/allow',
      };
      if (record.revision !== null) event['revision'] = record.revision;
      if (options.includeInput && record.input !== undefined)
        event['input'] = withoutSecrets(record.input, options.secrets);
      const policy = record.policy;
      if (policy?.error !== undefined) event['error'] = { message: policy.error };
      else if (policy !== undefined && !policy.defined) event['error'] = { message: 'undefined decision' };
      // OPA-Envoy logs a decision it cannot act on as an error, not as a result
      else if (record.reason === 'decision_type')
        event['error'] = { message: record.detail ?? 'decision of the wrong type' };
      else if (policy !== undefined) event['result'] = resultWithoutSecrets(policy.value, options.secrets);
      event['timestamp'] = new Date().toISOString();
      const metrics: Record<string, number> = { timer_server_handler_ns: Math.round(record.durationMs * 1e6) };
      if (policy !== undefined) metrics['timer_rego_query_eval_ns'] = Math.round(policy.evalSeconds * 1e9);
      event['metrics'] = metrics;
      const portcullis: Record<string, unknown> = {
        result: record.result,
        status: record.status,
        reason: record.reason,
      };
      if (record.detail !== undefined) portcullis['detail'] = record.detail;
      if (record.dryRun === true) portcullis['dry_run'] = true;
      if (record.grpcStatus !== undefined) portcullis['grpc_status'] = record.grpcStatus;
      if (record.peer !== undefined) portcullis['peer'] = record.peer;
      event['portcullis'] = portcullis;
      logger.info(event, 'Decision Log');
    },
  };
}

/** A copy of the policy input fit for a log; see redactInput. */
export function withoutSecrets(input: unknown, secrets: SecretLocations): unknown {
  return redactInput(input, secrets);
}

/**
 * The decision value with the headers it sets under a credential's name removed (a policy may forward an
 * `authorization` header upstream): OPA would log it whole unless a mask policy erased it.
 */
function resultWithoutSecrets(value: unknown, secrets: SecretLocations): unknown {
  if (!isRecord(value) || !setsSecretHeader(value, secrets)) return value;
  const copy = copyJson(value) as Record<string, unknown>;
  for (const key of ['headers', 'response_headers_to_add']) {
    const held = copy[key];
    for (const object of Array.isArray(held) ? held : [held]) {
      if (!isRecord(object)) continue;
      for (const name of Object.keys(object)) if (secrets.headers.has(name.toLowerCase())) delete object[name];
    }
  }
  return copy;
}

/** Whether the decision sets a header under a credential's name (rare: most results are logged as they are). */
function setsSecretHeader(decision: Record<string, unknown>, secrets: SecretLocations): boolean {
  return ['headers', 'response_headers_to_add'].some((key) => {
    const held = decision[key];
    return (Array.isArray(held) ? held : [held]).some(
      (object) => isRecord(object) && Object.keys(object).some((name) => secrets.headers.has(name.toLowerCase())),
    );
  });
}
