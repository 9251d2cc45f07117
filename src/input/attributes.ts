// Finishes the protobuf-JSON form of the decoded attributes: proto-loader already gives lowerCamelCase
// names, int64/bytes as strings and enum names; the well-known types Envoy puts in AttributeContext
// (Timestamp, Struct inside Metadata, Any) still need their JSON mapping so policies see what OPA-Envoy
// policies see (`input.attributes.request.time` is an RFC 3339 string, metadata is plain JSON,
// `request.http.size` a number).
import type { DecodedAttributes } from './checkRequest.js';
import { ExactNumber } from './exactJson.js';
import { MAX_JSON_DEPTH } from './limits.js';
import { isRecord } from '../json/records.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type AttributesOutcome = { ok: true; value: Record<string, unknown> } | { ok: false; detail: string };

/** Metadata nested deeper than this cannot reach the policy whole; the check is refused instead. */
class TooDeep extends Error {}

export function attributesToProtoJson(attributes: DecodedAttributes | undefined): AttributesOutcome {
  if (attributes === undefined) return { ok: true, value: {} };
  const out: Record<string, unknown> = { ...attributes };
  const request = attributes.request;
  if (request !== undefined) {
    const http = request.http === undefined ? undefined : { ...request.http, ...sizeOf(request.http.size) };
    out['request'] = {
      ...request,
      ...(request.time === undefined ? {} : { time: timestampToJson(request.time) }),
      ...(http === undefined ? {} : { http }),
    };
  }
  try {
    for (const field of ['metadataContext', 'routeMetadataContext']) {
      const metadata = attributes[field];
      if (isRecord(metadata)) out[field] = metadataToJson(metadata);
    }
  } catch (error) {
    if (error instanceof TooDeep) return { ok: false, detail: `metadata nested deeper than ${MAX_JSON_DEPTH} levels` };
    throw error;
  }
  return { ok: true, value: out };
}

/** int64 `size` as the number protojson readers (and OPA-Envoy's docs) show. */
function sizeOf(size: string | undefined): { size?: number | ExactNumber } {
  if (size === undefined || !/^-?\d+$/.test(size)) return {};
  const n = Number(size);
  return { size: Number.isSafeInteger(n) ? n : new ExactNumber(size) };
}

/** protojson's range for Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;

/**
 * google.protobuf.Timestamp -> `2026-01-02T03:04:05.123Z` (0, 3, 6 or 9 fractional digits, as protojson).
 * A timestamp protojson cannot write (outside years 1-9999, or nanos outside 0-999,999,999) is `null`.
 */
export function timestampToJson(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const seconds = Number(value['seconds'] ?? 0);
  const nanos = Number(value['nanos'] ?? 0);
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) return null;
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return null;
  const base = isoSeconds(seconds);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  const fraction = digits.endsWith('000000')
    ? digits.slice(0, 3)
    : digits.endsWith('000')
      ? digits.slice(0, 6)
      : digits;
  return `${base}.${fraction}Z`;
}

/** The last second formatted: checks arriving within one second share it (a Date and its ISO text per check otherwise). */
let lastSeconds = NaN;
let lastIso = '';

/** `2026-01-02T03:04:05`, the seconds of a protojson Timestamp. */
function isoSeconds(seconds: number): string {
  if (seconds !== lastSeconds) {
    lastIso = new Date(seconds * 1000).toISOString().slice(0, 19);
    lastSeconds = seconds;
  }
  return lastIso;
}

function metadataToJson(metadata: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const filterMetadata = metadata['filterMetadata'];
  if (isRecord(filterMetadata)) {
    out['filterMetadata'] = fromEntries(
      Object.entries(filterMetadata).map(([ns, struct]) => [ns, structToJson(struct)]),
    );
  }
  const typed = metadata['typedFilterMetadata'];
  if (isRecord(typed)) {
    // An Any's JSON form needs its message type; without it only the type URL is meaningful to a policy.
    out['typedFilterMetadata'] = fromEntries(
      Object.entries(typed).map(([ns, any]) => [ns, { '@type': isRecord(any) ? (any['typeUrl'] ?? '') : '' }]),
    );
  }
  return out;
}

/** Struct -> plain JSON; throws TooDeep past MAX_JSON_DEPTH levels. */
export function structToJson(struct: unknown, depth = 1): { [key: string]: Json } {
  if (depth > MAX_JSON_DEPTH) throw new TooDeep();
  const fields = isRecord(struct) && isRecord(struct['fields']) ? struct['fields'] : {};
  return fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToJson(v, depth)])) as { [key: string]: Json };
}

function valueToJson(value: unknown, depth: number): Json {
  if (!isRecord(value)) return null;
  if ('stringValue' in value) return String(value['stringValue']);
  if ('numberValue' in value) return Number(value['numberValue']);
  if ('boolValue' in value) return Boolean(value['boolValue']);
  if ('structValue' in value) return structToJson(value['structValue'], depth + 1);
  if ('listValue' in value) {
    if (depth + 1 > MAX_JSON_DEPTH) throw new TooDeep();
    const list = value['listValue'];
    const values = isRecord(list) && Array.isArray(list['values']) ? (list['values'] as unknown[]) : [];
    return values.map((v) => valueToJson(v, depth + 1));
  }
  return null;
}

/** Object.fromEntries into an object without a prototype, so any key is an ordinary key. */
function fromEntries<T>(entries: Array<[string, T]>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}
