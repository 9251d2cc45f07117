// Seeded generator of hostile CheckRequests, shaped as Envoy's ext_authz v3 sends them (and as a client that
// is not Envoy could): odd paths and escapes, prototype member names, deep and huge JSON, broken multipart,
// partial bodies, out-of-range timestamps, Struct metadata. The same seed gives the same requests.
import { checkRequest } from '../helpers/checkClient.js';

/** mulberry32: small, fast and good enough to spread cases; not for anything secret. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number): boolean => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
  };
}

export type Random = ReturnType<typeof seededRandom>;

const PROTO_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  '__defineGetter__',
];
const NAME_PIECES = [...PROTO_NAMES, 'a', 'id', 'role', 'admin', 'x y', 'é', '', '%41', '+', '=', 'a.b', '0', '-1'];
const SEGMENTS = [
  'admin',
  'api',
  'orders',
  '',
  '.',
  '..',
  '%2F',
  '%2f',
  '%5C',
  '%C3%A9',
  '%00',
  '%FF',
  '+',
  ' ',
  'é',
  '😀',
  '\t',
  '#frag',
  ...PROTO_NAMES,
];
/** Malformed escapes and `;`: OPA-Envoy refuses such a path or query with 400. */
const BAD_PIECES = ['%zz', '%', '%4', ';', '%%41'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=BOUNDARY',
  'multipart/form-data; boundary="quoted boundary"',
  'multipart/form-data',
  'text/plain',
  'application/octet-stream',
  '',
];

function text(r: Random, max = 12): string {
  const alphabet = 'abcXYZ019 %&=;+/?#"\\\n\r\té😀{}[]:,';
  let out = '';
  for (let i = r.int(max); i > 0; i--)
    out += alphabet[r.int(alphabet.length)] === '😀' ? '😀' : alphabet.charAt(r.int(alphabet.length));
  return out;
}

function name(r: Random): string {
  return r.chance(0.7) ? r.pick(NAME_PIECES) : text(r, 6).replace(/[%;&=#?]/g, '');
}

export function path(r: Random): string {
  let out = '/'.repeat(r.int(4));
  const segments = r.int(8);
  for (let i = 0; i < segments; i++)
    out += (i > 0 ? '/' : '') + (r.chance(0.8) ? r.pick(SEGMENTS) : text(r, 5).replace(/[?%;]/g, ''));
  if (r.chance(0.6)) {
    const pairs = [];
    for (let i = r.int(6); i >= 0; i--) {
      const value = r.chance(0.5)
        ? r.pick(['1', '', '%C3%A9', 'a+b', 'x=y', ...PROTO_NAMES])
        : text(r, 4).replace(/[%;#]/g, '');
      pairs.push(r.chance(0.2) ? name(r) : `${name(r)}=${value}`);
    }
    out += `?${pairs.join(r.chance(0.9) ? '&' : '&&')}`;
  }
  if (r.chance(0.08)) {
    const at = r.int(out.length + 1);
    out = out.slice(0, at) + r.pick(BAD_PIECES) + out.slice(at);
  }
  return out;
}

function jsonValue(r: Random, depth: number): string {
  if (depth > 6 || r.chance(0.3)) {
    return r.pick([
      '1',
      '-0',
      '9007199254740993',
      '-9223372036854775809',
      '1e400',
      '0.1000000000000000055511151231257827',
      '1.5e18',
      'true',
      'null',
      '"s"',
      '"\\ud800"',
      '"\\u0000"',
      JSON.stringify(text(r)),
    ]);
  }
  if (r.chance(0.5)) return `[${Array.from({ length: r.int(4) }, () => jsonValue(r, depth + 1)).join(',')}]`;
  const members = Array.from({ length: r.int(4) }, () => `${JSON.stringify(name(r))}:${jsonValue(r, depth + 1)}`);
  return `{${members.join(',')}}`;
}

function deepJson(r: Random): string {
  const levels = r.pick([127, 128, 129, 200, 511, 512, 513, 600, 2000, 6000]);
  if (r.chance(0.5)) return '['.repeat(levels) + ']'.repeat(levels);
  return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
}

function json(r: Random): string {
  // Over the 2 MiB parsing limit (and under the 4 MiB gRPC message limit).
  if (r.chance(0.005)) return JSON.stringify({ big: 'x'.repeat(2 * 1024 * 1024 + 1) });
  const doc = r.chance(0.15) ? deepJson(r) : jsonValue(r, 0);
  return r.chance(0.1) ? doc.slice(0, r.int(doc.length + 1)) : doc;
}

function form(r: Random): string {
  const pairs = Array.from({ length: r.int(8) }, () => `${name(r)}=${r.chance(0.5) ? name(r) : text(r, 5)}`);
  if (r.chance(0.03)) for (let i = 0; i < 12_000; i++) pairs.push(`f${i}=v`);
  return pairs.join('&');
}

function multipart(r: Random, boundary: string): string {
  const nl = r.chance(0.3) ? '\n' : '\r\n';
  const lines: string[] = r.chance(0.2) ? ['preamble'] : [];
  for (let i = r.int(5); i >= 0; i--) {
    lines.push(`--${boundary}`);
    const disposition = r.pick([
      'form-data; name="NAME"',
      'form-data',
      'attachment; name="NAME"',
      'form-data; name=NAME',
      'form-data; name="NAME"; filename="f.txt"',
      '',
    ]);
    if (disposition !== '')
      lines.push(`Content-Disposition: ${disposition.replace('NAME', name(r).replace(/["\s]/g, ''))}`);
    if (r.chance(0.3)) lines.push('Content-Type: application/json');
    if (r.chance(0.2)) lines.push('Content-Transfer-Encoding: quoted-printable');
    if (r.chance(0.05)) lines.push('broken header line');
    lines.push('', r.chance(0.4) ? json(r) : r.pick(['caf=C3=A9 =', 'value', `--${boundary}x`, text(r, 20)]));
  }
  if (r.chance(0.03))
    for (let i = 0; i < 1_100; i++) lines.push(`--${boundary}`, 'Content-Disposition: form-data; name="p"', '', 'v');
  if (r.chance(0.9)) lines.push(`--${boundary}--`);
  return lines.join(nl);
}

function struct(r: Random, depth: number): unknown {
  const fields: Record<string, unknown> = {};
  for (let i = r.int(4); i > 0; i--) fields[name(r)] = structValue(r, depth + 1);
  return { fields };
}

function structValue(r: Random, depth: number): unknown {
  if (depth > 30 || r.chance(0.4)) {
    return r.pick([
      { stringValue: text(r) },
      { numberValue: r.next() * 1e20 },
      { boolValue: true },
      { nullValue: 'NULL_VALUE' },
    ]);
  }
  if (r.chance(0.5))
    return { listValue: { values: Array.from({ length: r.int(3) }, () => structValue(r, depth + 1)) } };
  return { structValue: struct(r, depth) };
}

/** One CheckRequest, and the facts a test needs to judge the answer. */
export function fuzzRequest(r: Random): { request: unknown; method: string; path: string } {
  const method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'constructor', '__proto__']);
  const requestPath = path(r);
  const headers: Record<string, string> = {};
  for (let i = r.int(6); i > 0; i--)
    headers[
      name(r)
        .toLowerCase()
        .replace(/[^a-z0-9_-]/g, '') || 'x'
    ] = text(r);
  const contentType = r.pick(CONTENT_TYPES);
  if (contentType !== '') headers['content-type'] = contentType;
  if (r.chance(0.15)) headers['x-envoy-auth-partial-body'] = r.pick(['true', 'false', 'TRUE', 'yes']);
  let body: string | undefined;
  if (r.chance(0.7)) {
    body = contentType.includes('json')
      ? json(r)
      : contentType.includes('form-urlencoded')
        ? form(r)
        : contentType.includes('multipart')
          ? multipart(r, contentType.includes('quoted') ? 'quoted boundary' : 'BOUNDARY')
          : text(r, 40);
  }
  if (body !== undefined && r.chance(0.2))
    headers['content-length'] = r.pick(['0', '-1', 'abc', '99999999', String(Buffer.byteLength(body))]);
  const raw = body !== undefined && r.chance(0.3);
  const request = checkRequest({
    method,
    path: requestPath,
    headers,
    ...(body === undefined ? {} : raw ? { rawBody: Buffer.from(body) } : { body }),
  }) as {
    attributes: Record<string, unknown> & { request: Record<string, unknown> & { http: Record<string, unknown> } };
  };
  const attributes = request.attributes;
  if (r.chance(0.2)) {
    attributes.request['time'] = r.pick([
      { seconds: '9223372036854775807', nanos: 999999999 },
      { seconds: '-9223372036854775808' },
      { seconds: '253402300800' },
      { seconds: '0', nanos: -1 },
      { seconds: '0', nanos: 2147483647 },
      { seconds: String(r.int(2 ** 31)), nanos: r.int(1e9) },
    ]);
  }
  if (r.chance(0.2)) attributes.request.http['size'] = r.pick(['-1', '0', '9223372036854775807', '9007199254740993']);
  if (r.chance(0.3)) attributes['metadataContext'] = { filterMetadata: { [name(r) || 'ns']: struct(r, 0) } };
  if (r.chance(0.3))
    attributes['contextExtensions'] = Object.fromEntries(Array.from({ length: r.int(4) }, () => [name(r), text(r)]));
  if (r.chance(0.1)) attributes.request.http['headerMap'] = { headers: [{ key: r.pick(PROTO_NAMES), value: text(r) }] };
  return { request, method, path: requestPath };
}

/** Keys `input` always has (policies/README.md); `source_principal` only when Envoy sent a principal. */
export const DOCUMENTED_INPUT_KEYS = [
  'attributes',
  'body_error',
  'identity',
  'openapi',
  'parsed_body',
  'parsed_path',
  'parsed_query',
  'truncated_body',
  'version',
];

export const BODY_ERRORS = [
  null,
  'truncated',
  'too_large',
  'too_deep',
  'too_many_fields',
  'too_many_parts',
  'invalid_json',
  'invalid_form',
  'invalid_multipart',
  'skipped',
];

/** What the policy reports back; any missing or ill-typed key makes the decision undefined (403). */
export const FUZZ_POLICY = `package fuzz

import rego.v1

decision := {"allowed": false, "http_status": 422, "body": json.marshal({
	"keys": sort([k | some k, _ in input]),
	"path_is_array": is_array(input.parsed_path),
	"query_is_object": is_object(input.parsed_query),
	"truncated_is_boolean": is_boolean(input.truncated_body),
	"body_error": input.body_error,
	"body_is_null": input.parsed_body == null,
	"version": input.version,
	"method": input.attributes.request.http.method,
})}
`;

/**
 * Whether the path must be refused with 400 before the policy (as OPA-Envoy refuses it): a `%` that does not
 * start a two-digit hex escape anywhere, or a `;` in the query. Written independently of src/input.
 */
export function mustBeRefused(requestPath: string): boolean {
  if (/%(?![0-9A-Fa-f]{2})/.test(requestPath)) return true;
  const q = requestPath.indexOf('?');
  return q !== -1 && requestPath.slice(q + 1).includes(';');
}
