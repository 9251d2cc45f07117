// Envoy's HeaderValueOption, set the way ext_authz users expect.

/** One header to send; `append: false` replaces any value the request/response already has. */
export interface HeaderEntry {
  name: string;
  value: string;
  append: boolean;
}

export interface HeaderValueOptionMessage {
  header: { key: string; value: string };
  append: { value: boolean };
  appendAction: 'APPEND_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS_OR_ADD';
}

/**
 * Both fields are set and agree: Envoy versions that only know the deprecated `append` BoolValue read it
 * (ext_authz treats an explicit value as authoritative), newer ones read it too when present, and
 * `append_action` states the same intent for tools that read only the new field.
 */
export function toHeaderValueOption(entry: HeaderEntry): HeaderValueOptionMessage {
  return {
    header: { key: entry.name, value: entry.value },
    append: { value: entry.append },
    appendAction: entry.append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD',
  };
}

/** Headers that replace: `{name: value}` -> entries with append false. */
export function setHeaders(headers: Readonly<Record<string, string>>): HeaderEntry[] {
  return Object.entries(headers).map(([name, value]) => ({ name: name.toLowerCase(), value, append: false }));
}

/**
 * `www-authenticate` of RFC 6750: no `error` when the token is simply missing; `insufficient_scope` names
 * the scopes the operation needs.
 */
export function bearerChallenge(
  kind: 'bare' | 'invalid_token' | 'insufficient_scope',
  description?: string,
  scope?: string,
): string {
  const realm = 'Bearer realm="portcullis"';
  if (kind === 'bare') return realm;
  if (kind === 'insufficient_scope')
    return `${realm}, error="insufficient_scope"${scope === undefined ? '' : `, scope="${quoteSafe(scope)}"`}`;
  const detail = description === undefined ? '' : `, error_description="${quoteSafe(description)}"`;
  return `${realm}, error="invalid_token"${detail}`;
}

/**
 * A quoted-string may not hold `"` or `\` unescaped; anything outside printable ASCII (control characters
 * that could split a header, non-ASCII a proxy may reject) becomes `?`.
 */
function quoteSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (c) => `\\${c}`);
}
