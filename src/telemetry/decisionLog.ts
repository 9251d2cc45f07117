// One log line per check. Credentials never enter the record: the path is logged without its query (tokens
// may travel as query parameters), and the optional input copy has token-bearing headers, cookies and
// query parameters removed before it reaches the logger.
import type { Logger } from 'pino';

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

export interface SecretLocations {
  /** lower-case header names that carry credentials (the whole cookie header is always one) */
  headers: ReadonlySet<string>;
  queryParameters: ReadonlySet<string>;
}

export const ALWAYS_SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

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
        path: stripQuery(record.path),
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

export function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

/** A copy of the policy input with every credential location removed (the input itself is not changed). */
export function withoutSecrets(input: unknown, secrets: SecretLocations): unknown {
  if (!isRecord(input)) return input;
  const copy = structuredClone(input);
  const attributes = copy['attributes'];
  const http = isRecord(attributes) && isRecord(attributes['request']) ? attributes['request']['http'] : undefined;
  if (isRecord(http)) {
    const headers = http['headers'];
    if (isRecord(headers)) {
      for (const name of Object.keys(headers)) {
        if (secrets.headers.has(name.toLowerCase())) delete headers[name];
      }
      // HTTP/2's :path carries the query string, where a token may travel.
      if (typeof headers[':path'] === 'string') headers[':path'] = stripQuery(headers[':path']);
    }
    delete http['headerMap'];
    if (typeof http['path'] === 'string') http['path'] = stripQuery(http['path']);
    delete http['query'];
  }
  const query = copy['parsed_query'];
  if (isRecord(query)) {
    for (const name of Object.keys(query)) if (secrets.queryParameters.has(name)) delete query[name];
  }
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
