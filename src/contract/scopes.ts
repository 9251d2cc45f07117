// RFC 6750 scope checks: the token's scopes against an operation's security alternatives.
import type { SecurityRequirement } from './types.js';

/** Scopes a verified token grants: `scope` (space-separated, RFC 8693/OAuth) and `scp` (a list, or a string). */
export function grantedScopes(claims: Readonly<Record<string, unknown>>): Set<string> {
  const granted = new Set<string>();
  for (const claim of [claims['scope'], claims['scp']]) {
    const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    for (const value of values) if (typeof value === 'string' && value !== '') granted.add(value);
  }
  return granted;
}

/**
 * null when one alternative is satisfied (all of its token scopes granted, or it needs none), otherwise the
 * scopes of the first alternative, for `www-authenticate: Bearer error="insufficient_scope", scope="..."`.
 * No alternatives at all (no `security`) needs nothing.
 */
export function missingScopes(
  alternatives: readonly SecurityRequirement[],
  granted: ReadonlySet<string>,
): string[] | null {
  if (alternatives.length === 0) return null;
  for (const alternative of alternatives) {
    if (Object.values(alternative).every((scopes) => scopes.every((scope) => granted.has(scope)))) return null;
  }
  return [...new Set(Object.values(alternatives[0] ?? {}).flat())];
}
