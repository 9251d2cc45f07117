// The entrypoint's value -> a typed decision (OPA-Envoy compatible). Pure: the response stage turns it into
// a CheckResponse. A key of the wrong type is an error naming the key, never a silent allow.
import { isEnvoyHttpStatus } from '../response/envoyHttpStatus.js';
import type { HeaderEntry } from '../response/headers.js';
import { DecisionTypeError } from './errors.js';
import { isRecord } from '../json/records.js';

export interface PolicyDecision {
  allowed: boolean;
  headers: HeaderEntry[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderEntry[];
  queryParametersToSet: Array<{ key: string; value: string }>;
  queryParametersToRemove: string[];
  body: string | undefined;
  httpStatus: number | undefined;
  dynamicMetadata: Record<string, unknown>;
}

/**
 * `value` is the entrypoint's result; call only when it is defined. Keys other than OPA-Envoy's are
 * ignored, as OPA-Envoy does, so policies may carry their own fields.
 *
 * Like OPA-Envoy (internal.go reads them per outcome), a key is read, and so can be wrong, only where it
 * applies: `headers` and `dynamic_metadata` always; `request_headers_to_remove`, `response_headers_to_add`
 * and the query parameter keys on an allow; `body` and `http_status` on a deny. A policy that sets
 * `"body": {...}` next to `"allowed": true` is allowed, as it is under OPA-Envoy, not turned into a 503.
 */
export function interpretDecision(value: unknown): PolicyDecision {
  if (typeof value === 'boolean') return emptyDecision(value);
  if (!isRecord(value)) throw new DecisionTypeError('(decision)', 'a boolean or an object with boolean "allowed"');
  const allowed = value['allowed'];
  if (typeof allowed !== 'boolean') throw new DecisionTypeError('allowed', 'a boolean');
  // emptyDecision's fields in its order, built in place rather than spread from it (a copy per check)
  const decision: PolicyDecision = {
    allowed,
    headers: headerEntries(value['headers'], 'headers'),
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    queryParametersToSet: [],
    queryParametersToRemove: [],
    body: undefined,
    httpStatus: undefined,
    dynamicMetadata: optionalObject(value['dynamic_metadata'], 'dynamic_metadata'),
  };
  if (allowed) {
    decision.requestHeadersToRemove = stringList(value['request_headers_to_remove'], 'request_headers_to_remove').map(
      (h) => h.toLowerCase(),
    );
    decision.responseHeadersToAdd = headerEntries(value['response_headers_to_add'], 'response_headers_to_add');
    decision.queryParametersToSet = queryParameters(value['query_parameters_to_set']);
    decision.queryParametersToRemove = stringList(value['query_parameters_to_remove'], 'query_parameters_to_remove');
  } else {
    decision.body = optionalString(value['body'], 'body');
    decision.httpStatus = optionalStatus(value['http_status']);
  }
  return decision;
}

function emptyDecision(allowed: boolean): PolicyDecision {
  return {
    allowed,
    headers: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    queryParametersToSet: [],
    queryParametersToRemove: [],
    body: undefined,
    httpStatus: undefined,
    dynamicMetadata: {},
  };
}

/**
 * `{name: value | [values]}`, or a list of such objects (OPA-Envoy's transformAnyInputToHeadersBag takes
 * both for `headers` and `response_headers_to_add`). The first value of a name replaces (append false)
 * and further values of the same name are appended, so `["a","b"]` reaches upstream as exactly those two.
 */
function headerEntries(value: unknown, key: string): HeaderEntry[] {
  // what the general case makes of it, without its lists and set
  if (value === undefined) return [];
  const objects = Array.isArray(value)
    ? value.map((item, i) => [item, `${key}[${i}]`] as const)
    : [[value, key] as const];
  const entries: HeaderEntry[] = [];
  const seen = new Set<string>();
  for (const [object, path] of objects) {
    for (const entry of multiValued(object, path)) {
      const name = entry.name.toLowerCase();
      entries.push({ name, value: entry.value, append: seen.has(name) });
      seen.add(name);
    }
  }
  return entries;
}

function multiValued(value: unknown, key: string): HeaderEntry[] {
  if (value === undefined) return [];
  if (!isRecord(value))
    throw new DecisionTypeError(key, 'an object of name -> string or [string], or a list of such objects');
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(value)) {
    const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every(isString) ? raw : undefined;
    if (values === undefined) throw new DecisionTypeError(`${key}.${name}`, 'a string or an array of strings');
    values.forEach((v, i) => entries.push({ name, value: v, append: i > 0 }));
  }
  return entries;
}

function queryParameters(value: unknown): Array<{ key: string; value: string }> {
  // Query parameter names are case-sensitive, unlike header names.
  return multiValued(value, 'query_parameters_to_set').map((e) => ({ key: e.name, value: e.value }));
}

function stringList(value: unknown, key: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isString)) throw new DecisionTypeError(key, 'an array of strings');
  return value;
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new DecisionTypeError(key, 'a string');
  return value;
}

/** Only statuses Envoy's StatusCode enum names: OPA-Envoy refuses the others (418, 451, 599, ...) too. */
function optionalStatus(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || !isEnvoyHttpStatus(value)) {
    throw new DecisionTypeError(
      'http_status',
      "an HTTP status Envoy's StatusCode enum names (e.g. 401, 403, 404, 429)",
    );
  }
  return value;
}

function optionalObject(value: unknown, key: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw new DecisionTypeError(key, 'an object');
  return value;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
