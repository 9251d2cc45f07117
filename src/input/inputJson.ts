// The policy input as the JSON text the engine loads, in pieces that the engine writes one after the other into
// the policy's memory (never joined into one more string), with two parts kept out of JSON.stringify:
// - the verified identity's text is reused: a cached token's identity is the same deep-frozen object on every
//   check (src/identity), and its claims are a third of a typical input, so they are serialized once per
//   verification instead of once per check;
// - long header values (the bearer token in `authorization`, 2 KB and more; big cookies) that need no escaping
//   go in as they are: JSON.stringify copies a string character by character through its escape table
//   (2.2 µs for a 2.3 KB token) and builds the text in parts that are then copied again, where testing that
//   the value holds nothing to escape is one regular expression (~1 µs). The value is swapped for a marker
//   while the rest is stringified (synchronously, restored before anyone else runs) and the text is cut at
//   the marker, so nothing of the input is copied.
import { stringifyInput } from './exactJson.js';

/** JSON text of frozen identities, dropped with them */
const identityJson = new WeakMap<object, string>();

/** Header values this long or longer are written as they are when they need no escaping. */
export const LONG_HEADER_VALUE = 256;

/**
 * A character JSON.stringify would escape, or one outside printable ASCII (which also rules out the lone
 * surrogates it escapes): a value without any is its own JSON text between quotes.
 */
const NEEDS_ESCAPING = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** What a long value is replaced with while the rest is stringified; JSON.stringify writes it as it is. */
const MARKER = '@portcullis:long-header-value@';

/**
 * stringifyInput(input) as pieces to concatenate, except that a frozen `identity` is written from its cached
 * text (as the object's last key: key order means nothing in JSON) and long header values as they are.
 * Unfrozen identities (policy tests build their own) are serialized as they are, since nothing says they stay
 * unchanged.
 */
export function policyInputJson(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [stringifyInput(input)];
  const { identity, ...rest } = input as Record<string, unknown>;
  if (typeof identity !== 'object' || identity === null || !Object.isFrozen(identity)) return withLongValues(input);
  let text = identityJson.get(identity);
  if (text === undefined) {
    text = stringifyInput(identity);
    identityJson.set(identity, text);
  }
  const pieces = withLongValues(rest);
  // the rest is an object's text, `{...}`: its closing brace moves after the identity
  const last = pieces.length - 1;
  const restEnd = pieces[last]!;
  if (pieces.length === 1 && restEnd === '{}') return ['{"identity":', text, '}'];
  pieces[last] = restEnd.slice(0, -1);
  pieces.push(',"identity":', text, '}');
  return pieces;
}

/** stringifyInput(input) in pieces, a long header value without escaping being one piece on its own. */
function withLongValues(input: object): string[] {
  const headers = headersOf(input);
  if (headers === undefined) return [stringifyInput(input)];
  let name: string | undefined;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (typeof value === 'string' && value.length >= LONG_HEADER_VALUE && !NEEDS_ESCAPING.test(value)) {
      name = key;
      break;
    }
  }
  if (name === undefined || !isPlainDataProperty(headers, name)) return [stringifyInput(input)];
  const value = headers[name] as string;
  let text: string;
  headers[name] = MARKER;
  try {
    text = stringifyInput(input);
  } finally {
    headers[name] = value;
  }
  const at = text.indexOf(MARKER);
  // The marker is the value's text only where it occurs once: some other string of the input could hold it.
  if (at < 0 || text.indexOf(MARKER, at + MARKER.length) >= 0) return [stringifyInput(input)];
  return [text.slice(0, at), value, text.slice(at + MARKER.length)];
}

/** `attributes.request.http.headers` as protobuf decoding and buildPolicyInput make it: a plain object. */
function headersOf(input: object): Record<string, unknown> | undefined {
  const attributes = (input as { attributes?: unknown }).attributes;
  if (typeof attributes !== 'object' || attributes === null) return undefined;
  const request = (attributes as { request?: unknown }).request;
  if (typeof request !== 'object' || request === null) return undefined;
  const http = (request as { http?: unknown }).http;
  if (typeof http !== 'object' || http === null) return undefined;
  const headers = (http as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return undefined;
  return headers as Record<string, unknown>;
}

/** The value can be swapped and put back unnoticed: a writable own data property of an unfrozen object. */
function isPlainDataProperty(object: Record<string, unknown>, name: string): boolean {
  if (Object.isFrozen(object)) return false;
  const descriptor = Object.getOwnPropertyDescriptor(object, name);
  return descriptor !== undefined && descriptor.writable === true && 'value' in descriptor;
}
