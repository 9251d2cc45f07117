// Signature and claim verification of one token against the provider its `iss` selected, with jose.
// jose checks the signature, `alg` allowlist, `crit`, `iss`, `aud`, `exp`, `nbf` and `typ`; this file adds
// what jose leaves optional (a future `iat`, the types of `sub` and `jti`) and maps every failure to one
// IdentityFailure code.
import * as errors from 'jose/errors';
import { jwtVerify } from 'jose/jwt/verify';
import type { JWTPayload, JWTVerifyOptions } from 'jose';
import type { DecodedJws } from './compact-jws.js';
import { JwksUnavailableError, TokenRejectedError, claimDescription, failureDescriptions } from './errors.js';
import type { Provider } from './provider.js';

export async function verifyToken(
  token: string,
  decoded: DecodedJws,
  provider: Provider,
  now: Date,
): Promise<JWTPayload> {
  const alg = decoded.header['alg'];
  // Checked before any key lookup: `none`, HS256-with-a-public-key and friends never reach a key.
  if (typeof alg !== 'string' || !provider.algorithms.includes(alg)) {
    throw new TokenRejectedError('algorithm', failureDescriptions.algorithm, 'alg_not_allowed');
  }
  if (decoded.unsigned) throw new TokenRejectedError('signature', failureDescriptions.signature, 'no_signature');

  const options: JWTVerifyOptions = {
    algorithms: [...provider.algorithms],
    issuer: provider.issuer,
    audience: provider.audiences,
    clockTolerance: provider.clockSkewSeconds,
    requiredClaims: ['exp'],
    currentDate: now,
    typ: provider.typ,
  };
  let payload: JWTPayload;
  try {
    payload = await verifyWithAnyMatchingKey(token, provider, options);
  } catch (error) {
    throw toRejection(error);
  }
  assertIssuedInPast(payload, provider, now);
  assertStringClaim(payload, 'sub');
  assertStringClaim(payload, 'jti');
  return payload;
}

/**
 * A token without `kid` may match several keys of the set; jose then hands back each candidate and the
 * first whose signature holds wins.
 */
async function verifyWithAnyMatchingKey(
  token: string,
  provider: Provider,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, provider.keySet.getKey, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (attempt) {
        if (!(attempt instanceof errors.JWSSignatureVerificationFailed)) throw attempt;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

function assertIssuedInPast(payload: JWTPayload, provider: Provider, now: Date): void {
  const iat = payload.iat;
  if (iat === undefined) return;
  if (iat > now.getTime() / 1000 + provider.clockSkewSeconds) {
    throw new TokenRejectedError('not_yet_valid', failureDescriptions.issuedInFuture, 'iat');
  }
}

function assertStringClaim(payload: JWTPayload, claim: 'sub' | 'jti'): void {
  const value = payload[claim];
  if (value !== undefined && typeof value !== 'string') {
    throw new TokenRejectedError('claims', claimDescription(claim), claim);
  }
}

/** jose's error classes -> the contract's failure codes. JwksUnavailableError passes through (503). */
export function toRejection(error: unknown): TokenRejectedError | JwksUnavailableError {
  if (error instanceof TokenRejectedError || error instanceof JwksUnavailableError) return error;
  if (error instanceof errors.JWTExpired) {
    return new TokenRejectedError('expired', failureDescriptions.expired, error.claim);
  }
  if (error instanceof errors.JWTClaimValidationFailed) return claimRejection(error);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new TokenRejectedError('algorithm', failureDescriptions.algorithm, error.code);
  }
  if (error instanceof errors.JOSENotSupported) {
    // e.g. a `crit` header parameter jose does not understand (RFC 7515 §4.1.11 says reject).
    return new TokenRejectedError('malformed', failureDescriptions.unsupported, error.code);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenRejectedError('signature', failureDescriptions.signature, error.code);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new TokenRejectedError('no_matching_key', failureDescriptions.noMatchingKey, error.code);
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    // Includes an unrecognised `crit` parameter and a `b64: false` payload.
    return new TokenRejectedError('malformed', failureDescriptions.malformed, error.code);
  }
  if (error instanceof errors.JOSEError) {
    return new TokenRejectedError('no_matching_key', failureDescriptions.unverifiable, error.code);
  }
  // Anything else (e.g. a key below 2048 bits in the IdP's set) still must not let the token through.
  const detail = error instanceof Error ? error.name : 'unknown';
  return new TokenRejectedError('signature', failureDescriptions.unverifiable, detail);
}

function claimRejection(error: InstanceType<typeof errors.JWTClaimValidationFailed>): TokenRejectedError {
  // A claim of the wrong type or absent (reason 'missing' / 'invalid') is a claims failure whatever its name.
  if (error.reason === 'check_failed') {
    switch (error.claim) {
      case 'nbf':
        return new TokenRejectedError('not_yet_valid', failureDescriptions.notYetValid, 'nbf');
      case 'aud':
        return new TokenRejectedError('audience', failureDescriptions.audience, 'aud');
      case 'iss':
        return new TokenRejectedError('unknown_issuer', failureDescriptions.unknownIssuer, 'iss');
      case 'typ':
        return new TokenRejectedError('claims', failureDescriptions.type, 'typ');
    }
  }
  // jose names the claim from its own fixed list (exp, iat, nbf, ...), never from the token.
  return new TokenRejectedError('claims', claimDescription(knownClaim(error.claim)), `${error.claim}:${error.reason}`);
}

const KNOWN_CLAIMS = new Set(['exp', 'iat', 'nbf', 'iss', 'aud', 'sub', 'jti', 'typ']);

function knownClaim(claim: string): string {
  return KNOWN_CLAIMS.has(claim) ? claim : 'unknown';
}
