import type { HttpRequestView } from './types.js';
import type { DecodedAttributes } from './checkRequest.js';

/**
 * The request facts every stage reads, taken once per check. Envoy sends either the `headers` map or,
 * with `encode_raw_headers`, a `header_map` list; both become one lower-case map (repeated headers are
 * joined with "," as HTTP allows). The map has no prototype, so a header named `constructor` or
 * `__proto__` is an ordinary header.
 */
export function toRequestView(attributes: DecodedAttributes | undefined): HttpRequestView {
  const http = attributes?.request?.http ?? {};
  const entries = http.headerMap?.headers;
  const headers =
    entries === undefined || entries.length === 0 ? ownHeaders(http.headers) : lowerCaseHeaders(http.headers);
  for (const entry of entries ?? []) {
    if (entry.key === undefined) continue;
    const name = entry.key.toLowerCase();
    const value =
      entry.value ?? (entry.rawValue !== undefined ? Buffer.from(entry.rawValue, 'base64').toString('utf8') : '');
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return {
    method: http.method ?? headers[':method'] ?? '',
    path: http.path ?? headers[':path'] ?? '',
    headers,
    sourceAddress: attributes?.source?.address?.socketAddress?.address ?? '',
  };
}

/**
 * The decoded `headers` map itself when it already is what lowerCaseHeaders would build (Envoy sends HTTP/2 and
 * HTTP/1 header names in lower case): an ordinary object of the check's own, lower-case names only. It is cut
 * from Object.prototype in place, so the view and the request share one map instead of a copy per check.
 */
function ownHeaders(map: Record<string, string> | undefined): Record<string, string> {
  if (map === undefined || Object.getPrototypeOf(map) !== Object.prototype || !Object.isExtensible(map))
    return lowerCaseHeaders(map);
  for (const name in map) {
    if (!Object.hasOwn(map, name) || name !== name.toLowerCase()) return lowerCaseHeaders(map);
  }
  return Object.setPrototypeOf(map, null) as Record<string, string>;
}

/**
 * Envoy's `headers` map with lower-case names, in a map without a prototype. Built as an ordinary object and cut
 * from Object.prototype afterwards: V8 keeps such an object's properties in place (a hidden class shared by
 * requests with the same headers), where Object.create(null) starts a hash table (2.4 KB per check against 1 KB,
 * and slower to fill). A `__proto__` name cannot be set on an ordinary object; with one, the map is built as a
 * hash table from the start. Object.keys, not Object.entries: no [name, value] array per header.
 */
function lowerCaseHeaders(map: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (map !== undefined) {
    for (const name of Object.keys(map)) {
      const lower = name.toLowerCase();
      if (lower === '__proto__') return tableOf(map);
      headers[lower] = map[name]!;
    }
  }
  return Object.setPrototypeOf(headers, null) as Record<string, string>;
}

function tableOf(map: Record<string, string>): Record<string, string> {
  const headers = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(map)) headers[name.toLowerCase()] = map[name]!;
  return headers;
}
