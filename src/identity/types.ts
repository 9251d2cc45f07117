import type { HttpRequestView } from '../input/types.js';

/** The verified token as policies see it in `input.identity`. */
export interface Identity {
  provider: string;
  subject: string | null;
  claims: Record<string, unknown>;
  token_id: string | null;
}

/** Stable failure codes: each maps to one status, one metric label and one log field. */
export type IdentityFailure =
  | 'missing' // no token and jwt.required
  | 'malformed' // not a compact JWS
  | 'unknown_issuer'
  | 'algorithm' // alg not in the provider's allowlist (or none)
  | 'signature'
  | 'no_matching_key'
  | 'expired'
  | 'not_yet_valid'
  | 'audience'
  | 'claims' // a required claim missing or of the wrong type
  | 'revoked'; // set by the limits stage's denylist, listed here so 401s share one table

export type IdentityOutcome =
  /** No token, and none required: the policy sees input.identity = null. */
  | { kind: 'anonymous' }
  | {
      kind: 'verified';
      identity: Identity;
      /** `iat` and `exp` in unix seconds (for the denylist); iat null when absent. */
      issuedAt: number | null;
      expiresAt: number;
      /** forwardClaims resolved: header name (lower-case) -> value, to set upstream with append: false. */
      forwardHeaders: Record<string, string>;
    }
  /** -> 401 with www-authenticate. `description` never contains the token. */
  | { kind: 'rejected'; failure: IdentityFailure; description: string; provider: string | null }
  /** The IdP cannot be reached and no keys are cached -> 503, not 401. */
  | { kind: 'unavailable'; description: string; provider: string };

export interface IdentityStage {
  verify(request: HttpRequestView): Promise<IdentityOutcome>;
  close(): Promise<void>;
}

/** What the identity stage needs from the shell: a logger and the jwt_verifications_total counter. */
export interface IdentityDeps {
  logger: import('pino').Logger;
  /** result: 'valid' or an IdentityFailure code or 'unavailable' */
  countVerification(provider: string, result: string): void;
}

// Implemented in src/identity/index.ts:
//   export function createIdentityStage(config: JwtConfig, deps: IdentityDeps): Promise<IdentityStage>
