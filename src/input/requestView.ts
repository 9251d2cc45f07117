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
  const headers = Object.create(null) as Record<string, string>;
  const map = http.headers;
  // Object.keys, not Object.entries: no [name, value] array per header on every check
  if (map !== undefined) for (const name of Object.keys(map)) headers[name.toLowerCase()] = map[name]!;
  for (const entry of http.headerMap?.headers ?? []) {
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
