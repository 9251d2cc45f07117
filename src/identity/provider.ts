// A configured provider made ready for checks: its key set loaded and its lookups precomputed.
import type { Logger } from 'pino';
import type { ProviderConfig } from '../config/schema.js';
import { ProviderConfigError } from './errors.js';
import { loadJwksFile } from './jwks-file.js';
import { RemoteKeySet } from './jwks-remote.js';
import type { RemoteJwksOptions } from './jwks-remote.js';
import type { KeySet } from './key-set.js';
import { sourceKey } from './token-source.js';

export interface Provider {
  name: string;
  issuer: string;
  audiences: string[] | undefined;
  algorithms: readonly string[];
  clockSkewSeconds: number;
  typ: string | undefined;
  /** sourceKey()s of the `from` entries: where this provider's tokens may be taken from. */
  acceptedSources: ReadonlySet<string>;
  /** header name (lower-case) -> claim name */
  forwardClaims: Readonly<Record<string, string>>;
  keySet: KeySet;
}

const SYMMETRIC = /^HS/;

export async function createProvider(
  config: ProviderConfig,
  options: RemoteJwksOptions,
  logger: Logger,
  onKeysChanged: (provider: string) => void,
): Promise<Provider> {
  const symmetric = config.algorithms.filter((alg) => SYMMETRIC.test(alg));
  if (symmetric.length > 0) {
    // A JWKS publishes public keys; HMAC would need the shared secret in it, which jose refuses.
    throw new ProviderConfigError(
      `jwt.providers[${config.name}].algorithms: ${symmetric.join(', ')} cannot be verified with a JSON Web Key Set; ` +
        'use an asymmetric algorithm (RS256, PS256, ES256, EdDSA, ...)',
    );
  }
  const keySet = await createKeySet(config, options, logger, () => onKeysChanged(config.name));
  return {
    name: config.name,
    issuer: config.issuer,
    audiences: config.audiences,
    algorithms: config.algorithms,
    clockSkewSeconds: config.clockSkewSeconds,
    typ: config.typ,
    acceptedSources: new Set(config.from.map(sourceKey)),
    forwardClaims: Object.fromEntries(
      Object.entries(config.forwardClaims).map(([header, claim]) => [header.toLowerCase(), claim]),
    ),
    keySet,
  };
}

async function createKeySet(
  config: ProviderConfig,
  options: RemoteJwksOptions,
  logger: Logger,
  onKeysChanged: () => void,
): Promise<KeySet> {
  if (config.jwksFile !== undefined) return loadJwksFile(config.jwksFile, config.name);
  if (config.jwksUri === undefined) {
    throw new ProviderConfigError(`jwt.providers[${config.name}]: set jwksUri or jwksFile`);
  }
  const remote = new RemoteKeySet(config.name, config.jwksUri, options, logger, onKeysChanged);
  await remote.start();
  return remote;
}
