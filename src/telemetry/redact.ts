// Removes credentials from text that is about to be logged or shown: the userinfo of a URL
// (`redis://user:pw@host` → `redis://***@host`) and the values of query parameters whose name says they carry
// a credential (`?access_token=…`, `&api_key=…`, configured token parameters). Pure functions, shared by every
// place a URL or request path is printed: start-up errors, JWKS retries, the decision log's input copy.
import { isRecord } from '../json/records.js';

/** What a redacted value is replaced by. */
export const REDACTED = '[redacted]';

/**
 * Words that mark a query parameter as a credential when they appear in its name, split on `-`, `_`, `.` and
 * camelCase (`access_token`, `X-Amz-Signature`, `apiKey`, `client_secret`, `sessionId`, OAuth's `code`).
 * Broad on purpose: a parameter wrongly hidden costs a log reader a value, one wrongly shown leaks a token.
 */
const SECRET_WORDS = new Set([
  'token',
  'secret',
  'password',
  'passwd',
  'pwd',
  'pass',
  'apikey',
  'key',
  'auth',
  'authorization',
  'signature',
  'sig',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'sid',
  'jwt',
  'bearer',
  'code',
  'otp',
  'assertion',
]);

/** True for a parameter name in `configured` (exact) or whose words include a credential word. */
export function isSecretParameter(name: string, configured: ReadonlySet<string> = new Set()): boolean {
  if (configured.has(name)) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((word) => SECRET_WORDS.has(word)) || SECRET_WORDS.has(name.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

/** `a=1&access_token=x` → `a=1&access_token=[redacted]`; order, separators and other values are kept. */
export function redactQueryString(query: string, configured: ReadonlySet<string> = new Set()): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals === -1 ? pair : pair.slice(0, equals);
      if (equals === -1 || !isSecretParameter(decodeName(rawName), configured)) return pair;
      return `${rawName}=${REDACTED}`;
    })
    .join('&');
}

/**
 * A URL or a request path (`/x?token=…`, `https://u:p@host/x?sig=…#access_token=…`) with its userinfo and
 * credential parameters redacted, in the query and in a fragment (OAuth's implicit flow puts tokens there).
 * Anything else comes back unchanged, so it is safe on any header value.
 */
export function redactUrl(text: string, configured: ReadonlySet<string> = new Set()): string {
  const withoutUserinfo = text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, `$1***@`);
  const hash = withoutUserinfo.indexOf('#');
  const beforeHash = hash === -1 ? withoutUserinfo : withoutUserinfo.slice(0, hash);
  const fragment = hash === -1 ? undefined : withoutUserinfo.slice(hash + 1);
  const question = beforeHash.indexOf('?');
  const base = question === -1 ? beforeHash : beforeHash.slice(0, question);
  const query = question === -1 ? undefined : beforeHash.slice(question + 1);
  return (
    base +
    (query === undefined ? '' : `?${redactQueryString(query, configured)}`) +
    (fragment === undefined ? '' : `#${redactQueryString(fragment, configured)}`)
  );
}

/** `scheme://user:password@host` → the URL without userinfo plus the credentials it held (decoded). */
export function splitUserinfo(url: string): { url: string; username: string; password: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.username === '' && parsed.password === '') return null;
  const username = decodeUserinfo(parsed.username);
  const password = decodeUserinfo(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), username, password };
}

/** A query name is form-encoded (`+` is a space); userinfo is percent-encoded only. */
function decodeUserinfo(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function decodeName(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export interface SecretLocations {
  /** lower-case header names that carry credentials (the whole cookie header is always one) */
  headers: ReadonlySet<string>;
  /** query parameters configured as token sources; names that look like credentials are added by pattern */
  queryParameters: ReadonlySet<string>;
}

export const ALWAYS_SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

/**
 * A copy of the policy input fit for a log (the input itself is not changed): credential headers removed,
 * and every place a URL or the request path appears — `:path`, `x-envoy-original-path`, `referer` or any
 * other header, `attributes.request.http.path` and `.query`, `parsed_query` — with the same credential
 * parameters redacted, so a token hidden from one place cannot be read from another.
 */
export function redactInput(input: unknown, secrets: SecretLocations): unknown {
  if (!isRecord(input)) return input;
  const copy = copyJson(input) as Record<string, unknown>;
  const names = secrets.queryParameters;
  const attributes = copy['attributes'];
  const http = isRecord(attributes) && isRecord(attributes['request']) ? attributes['request']['http'] : undefined;
  if (isRecord(http)) {
    const headers = http['headers'];
    if (isRecord(headers)) {
      for (const [name, value] of Object.entries(headers)) {
        if (secrets.headers.has(name.toLowerCase())) delete headers[name];
        else if (typeof value === 'string') headers[name] = redactUrl(value, names);
      }
    }
    // Same headers again, in Envoy's other shape; the copy above is what a reader needs.
    delete http['headerMap'];
    if (typeof http['path'] === 'string') http['path'] = redactUrl(http['path'], names);
    if (typeof http['query'] === 'string') http['query'] = redactQueryString(http['query'], names);
  }
  const query = copy['parsed_query'];
  if (isRecord(query)) {
    for (const [name, values] of Object.entries(query)) {
      if (isSecretParameter(name, names)) query[name] = Array.isArray(values) ? values.map(() => REDACTED) : REDACTED;
    }
  }
  return copy;
}

/**
 * A deep copy of a JSON-shaped value: arrays and plain objects are copied, anything else (an ExactNumber
 * holding a number's exact digits) is kept as it is. structuredClone would turn such a number into a
 * plain `{isLosslessNumber, value}` object in the log.
 */
export function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyJson);
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, { value: copyJson(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
