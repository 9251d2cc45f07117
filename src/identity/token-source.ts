// Finding the bearer token in a request. Every provider's `from` list is merged, in configuration order,
// into one search order; the first source present in the request wins, and the token's issuer must then
// accept that source (a cookie-only provider's tokens are not taken from a header, and vice versa).
import type { HttpRequestView } from '../input/types.js';
import type { ProviderConfig, TokenSource } from '../config/schema.js';

/** A stable identity for a source, so providers can say which sources they accept. */
export function sourceKey(source: TokenSource): string {
  if ('header' in source) return `header:${source.header}:${(source.prefix ?? '').toLowerCase()}`;
  if ('cookie' in source) return `cookie:${source.cookie}`;
  return `query:${source.query}`;
}

/** A log-friendly name of a source (never its value). */
export function describeSource(source: TokenSource): string {
  if ('header' in source) return `header ${source.header}`;
  if ('cookie' in source) return `cookie ${source.cookie}`;
  return `query parameter ${source.query}`;
}

export interface SearchSource {
  key: string;
  source: TokenSource;
}

/** The union of all providers' sources, first occurrence first. */
export function buildSearchOrder(providers: readonly ProviderConfig[]): SearchSource[] {
  const seen = new Set<string>();
  const order: SearchSource[] = [];
  for (const provider of providers) {
    for (const source of provider.from) {
      const key = sourceKey(source);
      if (seen.has(key)) continue;
      seen.add(key);
      order.push({ key, source });
    }
  }
  return order;
}

export interface FoundToken {
  sourceKey: string;
  /** For logs: which source, never its value. */
  sourceName: string;
  /** The raw text after the prefix, trimmed; may be empty (then it is malformed, not missing). */
  token: string;
}

export function findToken(request: HttpRequestView, order: readonly SearchSource[]): FoundToken | null {
  for (const { key, source } of order) {
    const token = readSource(request, source);
    if (token !== null) return { sourceKey: key, sourceName: describeSource(source), token };
  }
  return null;
}

/** The token text of one source, or null when the source is absent from the request. */
export function readSource(request: HttpRequestView, source: TokenSource): string | null {
  if ('header' in source) return readHeader(request.headers, source.header, source.prefix ?? '');
  if ('cookie' in source) return readCookie(request.headers['cookie'], source.cookie);
  return readQuery(request.path, source.query);
}

function readHeader(headers: Readonly<Record<string, string>>, name: string, prefix: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  // Auth schemes are case-insensitive (RFC 9110 §11.1): "bearer x" carries a token like "Bearer x".
  // A header with another scheme (e.g. Basic) is not this source's token at all.
  if (value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return null;
  return value.slice(prefix.length).trim();
}

function readCookie(cookieHeader: string | undefined, name: string): string | null {
  if (cookieHeader === undefined) return null;
  for (const pair of cookieHeader.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    if (pair.slice(0, equals).trim() !== name) continue;
    const value = pair.slice(equals + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return null;
}

function readQuery(path: string, name: string): string | null {
  const question = path.indexOf('?');
  if (question < 0) return null;
  return new URLSearchParams(path.slice(question + 1)).get(name);
}
