// Finishes the protobuf-JSON form of the decoded attributes: proto-loader already gives lowerCamelCase
// names, int64/bytes as strings and enum names; the well-known types Envoy puts in AttributeContext
// (Timestamp, Struct inside Metadata, Any) still need their JSON mapping so policies see what OPA-Envoy
// policies see (`input.attributes.request.time` is an RFC 3339 string, metadata is plain JSON).
import type { DecodedAttributes } from './checkRequest.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function attributesToProtoJson(attributes: DecodedAttributes | undefined): Record<string, unknown> {
  if (attributes === undefined) return {};
  const out: Record<string, unknown> = { ...attributes };
  const request = attributes.request;
  if (request !== undefined && request.time !== undefined) {
    out['request'] = { ...request, time: timestampToJson(request.time) };
  }
  for (const field of ['metadataContext', 'routeMetadataContext']) {
    const metadata = attributes[field];
    if (isRecord(metadata)) out[field] = metadataToJson(metadata);
  }
  return out;
}

/** google.protobuf.Timestamp -> `2026-01-02T03:04:05.123Z` (0, 3, 6 or 9 fractional digits, as protojson). */
export function timestampToJson(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const seconds = Number(value['seconds'] ?? 0);
  const nanos = Number(value['nanos'] ?? 0);
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  const fraction = digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits;
  return `${base}.${fraction}Z`;
}

function metadataToJson(metadata: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const filterMetadata = metadata['filterMetadata'];
  if (isRecord(filterMetadata)) {
    out['filterMetadata'] = Object.fromEntries(
      Object.entries(filterMetadata).map(([ns, struct]) => [ns, structToJson(struct)]),
    );
  }
  const typed = metadata['typedFilterMetadata'];
  if (isRecord(typed)) {
    // An Any's JSON form needs its message type; without it only the type URL is meaningful to a policy.
    out['typedFilterMetadata'] = Object.fromEntries(
      Object.entries(typed).map(([ns, any]) => [ns, { '@type': isRecord(any) ? any['typeUrl'] ?? '' : '' }]),
    );
  }
  return out;
}

export function structToJson(struct: unknown): { [key: string]: Json } {
  const fields = isRecord(struct) && isRecord(struct['fields']) ? struct['fields'] : {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToJson(v)]));
}

function valueToJson(value: unknown): Json {
  if (!isRecord(value)) return null;
  if ('stringValue' in value) return String(value['stringValue']);
  if ('numberValue' in value) return Number(value['numberValue']);
  if ('boolValue' in value) return Boolean(value['boolValue']);
  if ('structValue' in value) return structToJson(value['structValue']);
  if ('listValue' in value) {
    const list = value['listValue'];
    const values = isRecord(list) && Array.isArray(list['values']) ? (list['values'] as unknown[]) : [];
    return values.map(valueToJson);
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
