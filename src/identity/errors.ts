// Identity failures as typed exceptions. A token problem is a TokenRejectedError carrying the stable
// IdentityFailure code of the contract; the stage turns it into a `rejected` outcome, never a thrown error.
import type { IdentityFailure } from './types.js';

export type IdentityErrorCode = 'TOKEN_REJECTED' | 'JWKS_UNAVAILABLE' | 'JWKS_INVALID' | 'PROVIDER_INVALID';

export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The token failed verification. `description` goes to the client in `error_description`, so it is always
 * one of the fixed texts below and never contains anything taken from the token.
 */
export class TokenRejectedError extends IdentityError {
  constructor(
    readonly failure: IdentityFailure,
    readonly description: string,
    /** For the log only: what the underlying check reported (a jose error code, a claim name). */
    readonly detail?: string,
  ) {
    super('TOKEN_REJECTED', description);
  }
}

/** The provider's key set could not be fetched and no earlier copy exists: 503, not 401. */
export class JwksUnavailableError extends IdentityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('JWKS_UNAVAILABLE', message, options);
  }
}

/** A JWKS document (file or HTTP body) is not a usable JSON Web Key Set. */
export class JwksInvalidError extends IdentityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('JWKS_INVALID', message, options);
  }
}

/** A provider's configuration cannot work (found at start-up). */
export class ProviderConfigError extends IdentityError {
  constructor(message: string) {
    super('PROVIDER_INVALID', message);
  }
}

/** The client-facing texts, one per failure, so every 401 for the same cause reads the same. */
export const failureDescriptions = {
  missing: 'bearer token missing',
  malformed: 'token is not a well-formed JWS compact serialization',
  tooLarge: 'token is too large',
  duplicateKey: 'token header or payload repeats a JSON key',
  unknownIssuer: 'token issuer is not trusted',
  issuerNotFromSource: 'token issuer is not accepted from this token source',
  algorithm: 'token algorithm is not allowed',
  signature: 'token signature is invalid',
  noMatchingKey: 'no key of the issuer matches the token',
  expired: 'token expired',
  notYetValid: 'token is not yet valid',
  issuedInFuture: 'token issued in the future',
  audience: 'token audience is not accepted',
  type: 'token type (typ) is not accepted',
  unsupported: 'token uses a JOSE feature that is not supported',
  unverifiable: 'token could not be verified',
} as const;

/** A claim-shaped rejection: the claim name comes from a fixed list, never from the token. */
export function claimDescription(claim: string): string {
  return `token claim "${claim}" is missing or invalid`;
}
