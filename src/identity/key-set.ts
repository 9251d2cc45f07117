// What verification needs from a provider's keys, whatever their origin (a file or an IdP's JWKS URL).
import * as errors from 'jose/errors';
import { createLocalJWKSet } from 'jose/jwks/local';
import type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters } from 'jose';
import { JwksInvalidError } from './errors.js';

/** Resolves the verification key for a token's protected header (jose's JWTVerifyGetKey shape). */
export type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface JwksStatus {
  origin: 'file' | 'remote';
  /** Keys in the set in use now (0 when none was ever loaded). */
  keys: number;
  /** Fetch attempts and failed attempts since start (remote only; a file counts its one load). */
  fetches: number;
  failures: number;
  /** Failures since the last successful fetch: >0 while the IdP is down and the last good set is served. */
  consecutiveFailures: number;
  /** Unix ms of the last successful load, or null. */
  loadedAt: number | null;
}

export interface KeySet {
  readonly getKey: KeyLookup;
  status(): JwksStatus;
  close(): void;
}

/** A parsed key set: jose's lookup plus what is needed to notice a change. */
export interface LoadedJwks {
  lookup: KeyLookup;
  keyCount: number;
  /** Equal fingerprints mean the same keys, so a refetch returning them keeps jose's imported-key cache. */
  fingerprint: string;
}

/** Parses a JWKS document; `origin` names the file or URL in the error. */
export function parseJwks(text: string, origin: string): LoadedJwks {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new JwksInvalidError(`${origin}: not JSON; expected a JSON Web Key Set {"keys": [...]}`, { cause });
  }
  let lookup: KeyLookup;
  try {
    lookup = createLocalJWKSet(document as JSONWebKeySet);
  } catch (cause) {
    throw new JwksInvalidError(`${origin}: not a JSON Web Key Set; expected {"keys": [ {"kty": ...}, ... ]}`, {
      cause,
    });
  }
  const keys = (document as JSONWebKeySet).keys;
  return { lookup, keyCount: keys.length, fingerprint: JSON.stringify(keys) };
}

export function isNoMatchingKey(error: unknown): boolean {
  return error instanceof errors.JWKSNoMatchingKey;
}
