// One log line per check. Credentials never enter the record: the path is logged without its query (tokens
// may travel as query parameters), and the optional input copy goes through redactInput (./redact.ts):
// token-bearing headers and cookies removed, credential query parameters redacted wherever a URL or the
// path appears in it.
import type { Logger } from 'pino';
import { redactInput, type SecretLocations } from './redact.js';
import { pathWithoutQuery } from '../input/parsePath.js';

export interface DecisionRecord {
  decisionId: string;
  result: string;
  status: number;
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
}

export interface DecisionLogger {
  log(record: DecisionRecord): void;
}

export { ALWAYS_SECRET_HEADERS, type SecretLocations } from './redact.js';

export function createDecisionLogger(
  logger: Logger,
  options: { enabled: boolean; includeInput: boolean; secrets: SecretLocations },
): DecisionLogger {
  if (!options.enabled) return { log: () => undefined };
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
      if (options.includeInput && record.input !== undefined) line['input'] = withoutSecrets(record.input, options.secrets);
      decisions.info(line, 'check');
    },
  };
}

/** A copy of the policy input fit for a log; see redactInput. */
export function withoutSecrets(input: unknown, secrets: SecretLocations): unknown {
  return redactInput(input, secrets);
}
