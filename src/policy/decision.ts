// The entrypoint's value -> a typed decision (OPA-Envoy compatible). Pure: the response stage turns it into
// a CheckResponse. A key of the wrong type is an error naming the key, never a silent allow.
import type { HeaderEntry } from '../response/headers.js';
import { DecisionTypeError } from './errors.js';

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
 */
export function interpretDecision(value: unknown): PolicyDecision {
  if (typeof value === 'boolean') return emptyDecision(value);
  if (!isRecord(value)) throw new DecisionTypeError('(decision)', 'a boolean or an object with boolean "allowed"');
  const allowed = value['allowed'];
  if (typeof allowed !== 'boolean') throw new DecisionTypeError('allowed', 'a boolean');
  return {
    allowed,
    headers: headerEntries(value['headers'], 'headers'),
    requestHeadersToRemove: stringList(value['request_headers_to_remove'], 'request_headers_to_remove').map((h) =>
      h.toLowerCase(),
    ),
    responseHeadersToAdd: responseHeaderEntries(value['response_headers_to_add']),
    queryParametersToSet: queryParameters(value['query_parameters_to_set']),
    queryParametersToRemove: stringList(value['query_parameters_to_remove'], 'query_parameters_to_remove'),
    body: optionalString(value['body'], 'body'),
    httpStatus: optionalStatus(value['http_status']),
    dynamicMetadata: optionalObject(value['dynamic_metadata'], 'dynamic_metadata'),
  };
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
 * `{name: value | [values]}`: the first value replaces (append false) and further values of the same
 * name are appended, so `["a","b"]` reaches upstream as exactly those two values.
 */
function headerEntries(value: unknown, key: string): HeaderEntry[] {
  return multiValued(value, key).map((e) => ({ ...e, name: e.name.toLowerCase() }));
}

function multiValued(value: unknown, key: string): HeaderEntry[] {
  if (value === undefined) return [];
  if (!isRecord(value)) throw new DecisionTypeError(key, 'an object of name -> string or [string]');
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(value)) {
    const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every(isString) ? raw : undefined;
    if (values === undefined) throw new DecisionTypeError(`${key}.${name}`, 'a string or an array of strings');
    values.forEach((v, i) => entries.push({ name, value: v, append: i > 0 }));
  }
  return entries;
}

/** OPA-Envoy also accepts a list of such objects here. */
function responseHeaderEntries(value: unknown): HeaderEntry[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => headerEntries(item, `response_headers_to_add[${i}]`));
  }
  return headerEntries(value, 'response_headers_to_add');
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

function optionalStatus(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 599) {
    throw new DecisionTypeError('http_status', 'an integer HTTP status between 100 and 599');
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
