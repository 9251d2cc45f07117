// Static keys from `jwksFile`, read once at start-up (path relative to the process cwd). A file that could
// verify no token (only a private key, only a symmetric `oct` key) is refused here rather than accepted
// and then failing every request; a private key is refused even beside public ones: it has no business in
// a verifier's configuration.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { JwksInvalidError } from './errors.js';
import { parseJwks } from './key-set.js';
import type { KeySet } from './key-set.js';

/** JWK members that only a private (or symmetric) key has (RFC 7518 section 6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export async function loadJwksFile(file: string, providerName: string): Promise<KeySet> {
  const path = resolve(process.cwd(), file);
  const origin = `jwt.providers[${providerName}].jwksFile ${path}`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new JwksInvalidError(
      `jwt.providers[${providerName}].jwksFile: cannot read ${path}; check the path (relative to ${process.cwd()})`,
      { cause },
    );
  }
  const loaded = parseJwks(text, origin);
  checkVerificationKeys(JSON.parse(text) as { keys: unknown[] }, origin);
  const loadedAt = Date.now();
  return {
    getKey: loaded.lookup,
    status: () => ({
      origin: 'file',
      keys: loaded.keyCount,
      fetches: 1,
      failures: 0,
      consecutiveFailures: 0,
      loadedAt,
    }),
    close: () => {},
  };
}

/** Why a JWK can never verify a token, or null when it can. */
export function unusableKeyReason(key: unknown): string | null {
  if (typeof key !== 'object' || key === null) return 'is not a JSON object';
  const jwk = key as Record<string, unknown>;
  if (jwk['kty'] === 'oct')
    return 'is a symmetric (kty "oct") key; a JWKS verifies with public keys only (RSA, EC, OKP)';
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
    return 'holds private key material; put only the public key in a jwksFile (e.g. `jose`/`step` export the public JWK)';
  }
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return `has "use": ${JSON.stringify(jwk['use'])}, not "sig"`;
  if (Array.isArray(jwk['key_ops']) && !jwk['key_ops'].includes('verify')) return 'has "key_ops" without "verify"';
  return null;
}

function checkVerificationKeys(document: { keys: unknown[] }, origin: string): void {
  const problems = document.keys.map((key, i) => ({ i, key, reason: unusableKeyReason(key) }));
  const name = (p: { i: number; key: unknown }): string => {
    const kid = (p.key as { kid?: unknown } | null)?.kid;
    return typeof kid === 'string' ? `key ${p.i} (kid "${kid}")` : `key ${p.i}`;
  };
  const privateKey = problems.find((p) => p.reason?.startsWith('holds private key material'));
  if (privateKey !== undefined) throw new JwksInvalidError(`${origin}: ${name(privateKey)} ${privateKey.reason}`);
  if (problems.every((p) => p.reason !== null)) {
    const listed = problems.map((p) => `${name(p)} ${p.reason}`).join('; ');
    throw new JwksInvalidError(`${origin}: no key can verify a token: ${listed || 'the set is empty'}`);
  }
}
