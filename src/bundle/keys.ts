// Keys for bundle signatures, read once at start-up: a key that cannot verify (unreadable file, not a PEM,
// the wrong type for its algorithm) fails start-up naming it, instead of refusing every bundle later.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BundleVerificationConfig, SigningAlgorithm } from '../config/bundle-schema.js';

/** A verification or signing key that cannot be used; at start-up this exits with code 2. */
export class BundleKeyError extends Error {
  readonly code = 'BUNDLE_KEY';
}

export interface VerificationKey {
  algorithm: SigningAlgorithm;
  /** a public key, or the HMAC secret's bytes */
  key: KeyObject | Uint8Array;
  scope: string | undefined;
}

export interface VerificationSettings {
  keys: ReadonlyMap<string, VerificationKey>;
  keyId: string | undefined;
  scope: string | undefined;
  exclude: readonly string[];
}

export const isHmac = (algorithm: string): boolean => algorithm.startsWith('HS');

export async function loadVerificationSettings(config: BundleVerificationConfig): Promise<VerificationSettings> {
  const keys = new Map<string, VerificationKey>();
  for (const [id, spec] of Object.entries(config.keys)) {
    const where = spec.keyFile === undefined ? `verification.keys.${id}.key` : spec.keyFile;
    const text = spec.key ?? (await readKeyFile(spec.keyFile as string, `verification.keys.${id}.keyFile`));
    keys.set(id, { algorithm: spec.algorithm, key: verificationKey(text, spec.algorithm, where), scope: spec.scope });
  }
  return { keys, keyId: config.keyId, scope: config.scope, exclude: config.exclude };
}

/** A PEM public key, certificate or private key (its public half), checked against the algorithm. */
function verificationKey(text: string, algorithm: SigningAlgorithm, where: string): KeyObject | Uint8Array {
  if (isHmac(algorithm)) return new TextEncoder().encode(text);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (error) {
    throw new BundleKeyError(
      `${where}: not a PEM public key, certificate or private key (${(error as Error).message}); ${algorithm} needs one`,
      { cause: error },
    );
  }
  checkKeyType(key, algorithm, where);
  return key;
}

/** The key `policy build --signing-key` signs with: a PEM private key, or for HS* the secret (file or text). */
export async function loadSigningKey(value: string, algorithm: SigningAlgorithm): Promise<KeyObject | Uint8Array> {
  const fromFile = await readFile(value, 'utf8').catch(() => undefined);
  if (isHmac(algorithm)) return new TextEncoder().encode(fromFile === undefined ? value : trimNewline(fromFile));
  if (fromFile === undefined) throw new BundleKeyError(`--signing-key ${value}: cannot read the file`);
  let key: KeyObject;
  try {
    key = createPrivateKey(fromFile);
  } catch (error) {
    throw new BundleKeyError(`--signing-key ${value}: not a PEM private key (${(error as Error).message})`, {
      cause: error,
    });
  }
  checkKeyType(key, algorithm, `--signing-key ${value}`);
  return key;
}

const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

function checkKeyType(key: KeyObject, algorithm: SigningAlgorithm, where: string): void {
  const type = key.asymmetricKeyType;
  const fits =
    algorithm.startsWith('RS') || algorithm.startsWith('PS')
      ? type === 'rsa' || (algorithm.startsWith('PS') && type === 'rsa-pss')
      : algorithm.startsWith('ES')
        ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[algorithm]
        : type === 'ed25519' || type === 'ed448';
  if (!fits) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw new BundleKeyError(
      `${where}: a ${type ?? 'unknown'}${curve === undefined ? '' : ` (${curve})`} key cannot make ${algorithm} signatures`,
    );
  }
}

async function readKeyFile(path: string, where: string): Promise<string> {
  try {
    // An HMAC secret written with `echo` ends with a newline that is not part of it.
    return trimNewline(await readFile(path, 'utf8'));
  } catch (error) {
    throw new BundleKeyError(`${where}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

const trimNewline = (text: string): string => text.replace(/\r?\n$/, '');
