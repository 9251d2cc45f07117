// Signs bundle files the way `opa build --signing-key` does, so `portcullis policy build --signing-key` makes
// bundles that OPA and Portcullis both verify: one JWT whose payload lists every file (name without the
// leading `/`, SHA-256 digest, algorithm) and, when a key id is given, the `kid` header plus the deprecated
// `keyid` claim OPA still writes; stored as `{"signatures": [jwt]}` in `/.signatures.json`.
import type { KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import type { SigningAlgorithm } from '../config/bundle-schema.js';
import { DEFAULT_HASH_ALGORITHM, hashBundleFile } from './fileHash.js';

export interface SigningOptions {
  key: KeyObject | Uint8Array;
  algorithm: SigningAlgorithm;
  keyId?: string | undefined;
  /** the `scope` claim a verifier may require */
  scope?: string | undefined;
}

/** The `.signatures.json` for these files (named as in the archive, with or without a leading `/`). */
export async function signBundleFiles(
  files: ReadonlyArray<readonly [string, Uint8Array]>,
  options: SigningOptions,
): Promise<Uint8Array> {
  const listed = files.map(([path, bytes]) => {
    const name = path.replace(/^\/+/, '');
    return { name, hash: hashBundleFile(name, bytes, DEFAULT_HASH_ALGORITHM), algorithm: DEFAULT_HASH_ALGORITHM };
  });
  const payload: Record<string, unknown> = { files: listed };
  if (options.keyId !== undefined) payload['keyid'] = options.keyId;
  if (options.scope !== undefined) payload['scope'] = options.scope;
  const header = { alg: options.algorithm, ...(options.keyId === undefined ? {} : { kid: options.keyId }) };
  const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(options.key);
  return new TextEncoder().encode(JSON.stringify({ signatures: [token] }, null, 1));
}
