// Verified claims -> upstream request headers (`forwardClaims`). The orchestrator sets them with
// append: false; it must also remove every configured name the outcome does not set (anonymous requests,
// absent claims), which forwardClaimHeaderNames() lists, so a client can never forge one.
import type { JwtConfig } from '../config/schema.js';

/** Every header name any provider forwards, lower-case, for `headers_to_remove`. */
export function forwardClaimHeaderNames(config: JwtConfig): string[] {
  const names = new Set<string>();
  for (const provider of config.providers) {
    for (const header of Object.keys(provider.forwardClaims)) names.add(header.toLowerCase());
  }
  return [...names];
}

export function resolveForwardHeaders(
  forwardClaims: Readonly<Record<string, string>>,
  claims: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, claim] of Object.entries(forwardClaims)) {
    const value = headerValueOf(claimValue(claims, claim));
    if (value !== null) headers[header] = value;
  }
  return headers;
}

/**
 * A claim by exact name first (names like `https://example.com/roles` contain dots), then as a dotted path
 * into nested objects (`realm_access.roles`).
 */
export function claimValue(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let current: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Strings go as they are, numbers and booleans as text, arrays and objects as JSON. A string with a
 * control character is dropped: it cannot be a valid header value and could split one.
 */
export function headerValueOf(value: unknown): string | null {
  if (typeof value === 'string') return /[\x00-\x08\x0a-\x1f\x7f]/.test(value) ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return null;
}
