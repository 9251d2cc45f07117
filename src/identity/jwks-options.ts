// The remote JWKS client's knobs and their production defaults (jwks-remote.ts), apart from the client so that
// the identity stage can name them without loading jose (index.ts imports the client only for a provider).

export interface RemoteJwksOptions {
  /** Whole request, headers and body. */
  fetchTimeoutMs: number;
  /** Least time between two fetches triggered by an unknown key. */
  refetchCooldownMs: number;
  /** Least time between two fetches triggered by a check while no key set was ever loaded. */
  emptyRetryMs: number;
  /** Freshness when the response has no Cache-Control max-age, and the bounds applied to one. */
  defaultMaxAgeMs: number;
  minMaxAgeMs: number;
  maxMaxAgeMs: number;
  /** Refresh when this fraction of the max-age has passed, leaving time for a retry before it ages out. */
  refreshAtFraction: number;
  maxBodyBytes: number;
  now: () => number;
}

export const defaultRemoteJwksOptions: RemoteJwksOptions = {
  fetchTimeoutMs: 3_000,
  refetchCooldownMs: 30_000,
  emptyRetryMs: 1_000,
  defaultMaxAgeMs: 5 * 60_000,
  minMaxAgeMs: 30_000,
  maxMaxAgeMs: 24 * 60 * 60_000,
  refreshAtFraction: 0.75,
  maxBodyBytes: 1024 * 1024,
  now: Date.now,
};
