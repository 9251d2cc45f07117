// The identity stage: find the bearer token, pick the provider by its `iss`, verify it with jose, and hand
// back the identity for the denylist, rate limits, forwarded headers and policy input. It returns outcomes;
// the check orchestrator maps them to statuses (rejected -> 401 with the challenge of src/response, unavailable -> 503).
import type { JwtConfig } from '../config/schema.js';
import type { HttpRequestView } from '../input/types.js';
import { MAX_TOKEN_LENGTH, decodeCompactJws } from './compact-jws.js';
import { JwksUnavailableError, TokenRejectedError, failureDescriptions } from './errors.js';
import { resolveForwardHeaders } from './forward-claims.js';
import { defaultRemoteJwksOptions } from './jwks-options.js';
import type { RemoteJwksOptions } from './jwks-options.js';
import type { JwksStatus } from './key-set.js';
import type { Provider } from './provider.js';
import { buildSearchOrder, findToken } from './token-source.js';
import type { FoundToken } from './token-source.js';
import type { IdentityDeps, IdentityOutcome, IdentityStage } from './types.js';
import { VerifiedTokenCache, tokenDigest } from './verified-cache.js';
import type { VerifiedOutcome } from './verified-cache.js';

export { forwardClaimHeaderNames } from './forward-claims.js';
export { IdentityError, JwksInvalidError, JwksUnavailableError, ProviderConfigError } from './errors.js';
export type { JwksStatus } from './key-set.js';
export { MAX_TOKEN_LENGTH } from './compact-jws.js';

/** Internal knobs with production defaults; tests and benchmarks shorten them. */
export interface IdentityTuning extends RemoteJwksOptions {
  /** Verified-token cache size (0 disables it) and the longest a verification is reused. */
  verifiedCacheEntries: number;
  verifiedCacheMaxTtlMs: number;
}

export const defaultIdentityTuning: IdentityTuning = {
  ...defaultRemoteJwksOptions,
  verifiedCacheEntries: 10_000,
  verifiedCacheMaxTtlMs: 10 * 60_000,
};

export interface IdentityStageWithStatus extends IdentityStage {
  /** Key-set health per provider (keys held, fetch failures while serving the last good set). */
  jwksStatus(): Record<string, JwksStatus>;
}

/** Metric/log label for failures found before a provider is known (malformed token, unknown issuer). */
const NO_PROVIDER = 'unknown';

export async function createIdentityStage(
  config: JwtConfig,
  deps: IdentityDeps,
  tuning: Partial<IdentityTuning> = {},
): Promise<IdentityStageWithStatus> {
  const settings: IdentityTuning = { ...defaultIdentityTuning, ...tuning };
  const cache = new VerifiedTokenCache(settings.verifiedCacheEntries, settings.verifiedCacheMaxTtlMs);
  // The shell already binds `stage: identity` on this logger; binding it again would repeat the key.
  const logger = deps.logger;

  // Without a provider no token reaches verification (its issuer is unknown): jose is not even loaded.
  const verification = config.providers.length === 0 ? undefined : await import('./verification.js');
  const started = await Promise.allSettled(
    config.providers.map((provider) =>
      verification!.createProvider(provider, settings, logger, (name) => {
        logger.info({ provider: name }, 'jwks keys changed; verified-token cache cleared for the provider');
        cache.dropProvider(name);
      }),
    ),
  );
  const providers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    // Stop the refresh timers of the providers that did start before reporting the bad one.
    for (const provider of providers) provider.keySet.close();
    throw failed.reason;
  }
  const byIssuer = new Map(providers.map((provider) => [provider.issuer, provider]));
  const searchOrder = buildSearchOrder(config.providers);

  function reject(error: TokenRejectedError, providerName: string | null, found: FoundToken): IdentityOutcome {
    const label = providerName ?? NO_PROVIDER;
    deps.countVerification(label, error.failure);
    // Never the token: only what failed and where the token came from.
    logger.info(
      { provider: label, failure: error.failure, detail: error.detail, source: found.sourceName },
      `token rejected: ${error.description}`,
    );
    return { kind: 'rejected', failure: error.failure, description: error.description, provider: providerName };
  }

  async function verifyFound(found: FoundToken): Promise<IdentityOutcome> {
    if (found.token.length > MAX_TOKEN_LENGTH) {
      // Refused before even hashing it for the cache lookup.
      return reject(new TokenRejectedError('malformed', failureDescriptions.tooLarge, 'too_large'), null, found);
    }
    const nowMs = settings.now();
    const digest = tokenDigest(found.token);
    const hit = cache.get(digest, nowMs);
    if (hit !== undefined) {
      const providerName = hit.outcome.identity.provider;
      if (!hit.acceptedSources.has(found.sourceKey)) {
        const wrongSource = new TokenRejectedError('unknown_issuer', failureDescriptions.issuerNotFromSource, 'source');
        return reject(wrongSource, providerName, found);
      }
      deps.countVerification(providerName, 'valid');
      return hit.outcome;
    }

    let provider: Provider | null = null;
    try {
      if (found.token.length === 0) throw new TokenRejectedError('malformed', failureDescriptions.malformed, 'empty');
      const decoded = decodeCompactJws(found.token);
      const issuer = decoded.payload['iss'];
      provider = typeof issuer === 'string' ? (byIssuer.get(issuer) ?? null) : null;
      if (provider === null) {
        const detail = typeof issuer === 'string' ? 'no_provider' : 'no_iss';
        throw new TokenRejectedError('unknown_issuer', failureDescriptions.unknownIssuer, detail);
      }
      if (!provider.acceptedSources.has(found.sourceKey)) {
        throw new TokenRejectedError('unknown_issuer', failureDescriptions.issuerNotFromSource, 'source');
      }
      // A provider was found, so one is configured and `verification` is loaded.
      const claims = await verification!.verifyToken(found.token, decoded, provider, new Date(nowMs));
      const outcome = verifiedOutcome(provider, claims as Record<string, unknown>);
      cache.set(digest, outcome, provider.acceptedSources, nowMs);
      deps.countVerification(provider.name, 'valid');
      return outcome;
    } catch (error) {
      const mapped = verification === undefined ? rejectionWithoutProviders(error) : verification.toRejection(error);
      if (mapped instanceof JwksUnavailableError) {
        // provider is set: only a provider's key lookup raises this.
        const name = provider?.name ?? NO_PROVIDER;
        deps.countVerification(name, 'unavailable');
        logger.warn({ provider: name, err: mapped }, 'token not verified: no keys for the issuer');
        return { kind: 'unavailable', description: 'identity provider keys unavailable', provider: name };
      }
      return reject(mapped, provider?.name ?? null, found);
    }
  }

  return {
    // Not async: an async function returning verifyFound's promise would settle two microtask turns later.
    verify(request: HttpRequestView): Promise<IdentityOutcome> {
      const found = findToken(request, searchOrder);
      if (found === null) {
        return Promise.resolve(
          config.required
            ? { kind: 'rejected', failure: 'missing', description: failureDescriptions.missing, provider: null }
            : { kind: 'anonymous' },
        );
      }
      return verifyFound(found);
    },
    async close(): Promise<void> {
      for (const provider of providers) provider.keySet.close();
    },
    jwksStatus(): Record<string, JwksStatus> {
      return Object.fromEntries(providers.map((provider) => [provider.name, provider.keySet.status()]));
    },
  };
}

/**
 * toRejection (verify.ts) for a stage without providers, which throws only TokenRejectedErrors (malformed
 * token, unknown issuer); anything else, as there, must not let the token through.
 */
function rejectionWithoutProviders(error: unknown): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error;
  return new TokenRejectedError(
    'signature',
    failureDescriptions.unverifiable,
    error instanceof Error ? error.name : 'unknown',
  );
}

function verifiedOutcome(provider: Provider, claims: Record<string, unknown>): VerifiedOutcome {
  const subject = typeof claims['sub'] === 'string' ? claims['sub'] : null;
  const tokenId = typeof claims['jti'] === 'string' ? claims['jti'] : null;
  const frozenClaims = deepFreeze(claims);
  // Shared between checks through the cache, so nobody downstream may change it.
  return Object.freeze({
    kind: 'verified',
    identity: Object.freeze({ provider: provider.name, subject, claims: frozenClaims, token_id: tokenId }),
    issuedAt: typeof claims['iat'] === 'number' ? claims['iat'] : null,
    expiresAt: claims['exp'] as number,
    forwardHeaders: Object.freeze(resolveForwardHeaders(provider.forwardClaims, frozenClaims)),
  }) as VerifiedOutcome;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
