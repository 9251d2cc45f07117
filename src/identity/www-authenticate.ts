// The `www-authenticate` value of a 401 (RFC 6750 §3), built in one place for every identity rejection.
import type { IdentityFailure } from './types.js';

export const REALM = 'portcullis';

/** Makes text safe inside a quoted-string: escape `"` and `\`, and drop what a header cannot carry. */
export function quoteHeaderParameter(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * A request that simply lacks a token gets no `error` attribute (RFC 6750 §3.1); any other rejection,
 * including `revoked`, is `invalid_token` with a description of what failed.
 */
export function wwwAuthenticate(outcome: { failure: IdentityFailure; description: string }): string {
  const realm = `Bearer realm=${quoteHeaderParameter(REALM)}`;
  if (outcome.failure === 'missing') return realm;
  return `${realm}, error="invalid_token", error_description=${quoteHeaderParameter(outcome.description)}`;
}
