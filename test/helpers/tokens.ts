// A test identity provider: an ES256 key pair, its JWKS (as a file or served over HTTP) and signed tokens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';

export interface TestIssuer {
  issuer: string;
  audience: string;
  jwks: { keys: object[] };
  sign(claims: JWTPayload & { sub?: string; jti?: string }, options?: { expiresInSeconds?: number }): Promise<string>;
  writeJwksFile(dir: string): string;
  /** a provider entry for the config's jwt.providers */
  provider(jwksFile: string, extra?: Record<string, unknown>): Record<string, unknown>;
}

export async function createTestIssuer(issuer = 'https://id.test', audience = 'orders-api'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const jwks = { keys: [jwk] };
  return {
    issuer,
    audience,
    jwks,
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(typeof claims.iat === 'number' ? claims.iat : now - 10)
        .setExpirationTime(now + (options.expiresInSeconds ?? 600))
        .sign(privateKey);
    },
    writeJwksFile(dir) {
      const path = join(dir, 'jwks.json');
      writeFileSync(path, JSON.stringify(jwks));
      return path;
    },
    provider(jwksFile, extra = {}) {
      return { name: 'test', issuer, audiences: [audience], algorithms: ['ES256'], jwksFile, ...extra };
    },
  };
}
