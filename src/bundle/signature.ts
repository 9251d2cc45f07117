// Verifies a bundle's `.signatures.json` as OPA does: exactly one JWT, whose key is chosen by
// verification.keyId, else the JWT's `kid` header, else its deprecated `keyid` claim; its signature checked
// with that key's algorithm only; its `scope` equal to the configured one; and then every file of the bundle
// hashed and compared with the list the JWT signs. A file the list does not name, a file it names that the
// bundle lacks, and a digest that differs all refuse the bundle. Outcomes are values, never exceptions.
import { compactVerify, decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import { normaliseEntryName } from '@portcullis/rego-wasm/bundle';
import { hashBundleFile, isSupportedHashAlgorithm } from './fileHash.js';
import type { VerificationSettings } from './keys.js';

export const SIGNATURES_FILE = '.signatures.json';

export type SignatureOutcome = { ok: true; keyId: string; files: number } | { ok: false; reason: string };

const signaturesSchema = z.looseObject({
  signatures: z.array(z.string()).optional(),
  plugin: z.string().optional(),
});

const payloadSchema = z.looseObject({
  files: z.array(z.looseObject({ name: z.string(), hash: z.string(), algorithm: z.string().optional() })),
  keyid: z.string().optional(),
  scope: z.string().optional(),
});

const refuse = (reason: string): SignatureOutcome => ({ ok: false, reason });

export async function verifyBundleSignature(
  files: ReadonlyMap<string, Uint8Array>,
  settings: VerificationSettings,
): Promise<SignatureOutcome> {
  const signaturesBytes = files.get(SIGNATURES_FILE);
  if (signaturesBytes === undefined) {
    return refuse(`the bundle is not signed (no ${SIGNATURES_FILE}) and policy.bundle.verification is configured`);
  }
  let signatures;
  try {
    signatures = signaturesSchema.parse(JSON.parse(Buffer.from(signaturesBytes).toString('utf8')));
  } catch {
    return refuse(`${SIGNATURES_FILE} is not a JSON object with a "signatures" array of JWTs`);
  }
  if (signatures.plugin !== undefined && signatures.plugin !== '') {
    return refuse(
      `${SIGNATURES_FILE} names the signing plugin "${signatures.plugin}"; only OPA's default JWT signatures are verified`,
    );
  }
  const tokens = signatures.signatures ?? [];
  if (tokens.length !== 1) return refuse(`${SIGNATURES_FILE} holds ${tokens.length} JWTs; exactly one is expected`);
  const token = tokens[0] as string;

  let kid: unknown;
  let claimedKeyId: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
    const payloadPart = token.split('.')[1] ?? '';
    claimedKeyId = (JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as { keyid?: unknown }).keyid;
  } catch {
    return refuse(`${SIGNATURES_FILE}: the signature is not a compact JWS`);
  }
  const keyId =
    settings.keyId ??
    (typeof kid === 'string' && kid !== '' ? kid : typeof claimedKeyId === 'string' ? claimedKeyId : undefined);
  if (keyId === undefined || keyId === '') {
    return refuse('the signature names no key (no kid header, no keyid claim) and verification.keyId is not set');
  }
  const key = settings.keys.get(keyId);
  if (key === undefined) return refuse(`the signature names the key "${keyId}", which verification.keys lacks`);

  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(token, key.key, { algorithms: [key.algorithm] }));
  } catch (error) {
    return refuse(`the signature does not verify with key "${keyId}" (${key.algorithm}): ${(error as Error).message}`);
  }
  let payload;
  try {
    payload = payloadSchema.parse(JSON.parse(Buffer.from(payloadBytes).toString('utf8')));
  } catch {
    return refuse('the signed payload is not {"files": [{"name", "hash", "algorithm"}], ...}');
  }
  const scope = settings.scope ?? key.scope ?? '';
  if ((payload.scope ?? '') !== scope) {
    return refuse(`scope mismatch: the signature has "${payload.scope ?? ''}", the configuration expects "${scope}"`);
  }
  return checkFiles(files, payload.files, settings.exclude, keyId);
}

function checkFiles(
  files: ReadonlyMap<string, Uint8Array>,
  listed: ReadonlyArray<{ name: string; hash: string; algorithm?: string | undefined }>,
  exclude: readonly string[],
  keyId: string,
): SignatureOutcome {
  const expected = new Map<string, { hash: string; algorithm: string | undefined }>();
  for (const entry of listed) {
    let name: string;
    try {
      name = normaliseEntryName(entry.name, SIGNATURES_FILE);
    } catch {
      return refuse(`the signature lists an invalid file name ${JSON.stringify(entry.name)}`);
    }
    expected.set(name, { hash: entry.hash.toLowerCase(), algorithm: entry.algorithm });
  }
  const excluded = exclude.map(globToRegExp);
  let checked = 0;
  for (const [name, bytes] of files) {
    if (name === SIGNATURES_FILE) continue;
    if (excluded.some((pattern) => pattern.test(name))) {
      expected.delete(name);
      continue;
    }
    const entry = expected.get(name);
    if (entry === undefined) return refuse(`file ${name} is in the bundle but not in its signature`);
    if (entry.algorithm === undefined || entry.algorithm === '')
      return refuse(`the signature gives no hash algorithm for ${name}`);
    if (!isSupportedHashAlgorithm(entry.algorithm))
      return refuse(`the signature hashes ${name} with ${entry.algorithm}, which is not supported`);
    let digest: string;
    try {
      digest = hashBundleFile(name, bytes, entry.algorithm);
    } catch (error) {
      return refuse(`${name} cannot be hashed: ${(error as Error).message}`);
    }
    if (digest !== entry.hash) return refuse(`${name}: digest mismatch (the file differs from what was signed)`);
    expected.delete(name);
    checked += 1;
  }
  if (expected.size > 0) {
    return refuse(`the signature lists ${[...expected.keys()].sort().join(', ')}, missing from the bundle`);
  }
  return { ok: true, keyId, files: checked };
}

/** Go's filepath.Match on `/`-separated names: `*` and `?` never cross a `/`, `[...]` classes (`^` negates). */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i] as string);
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      source += body.startsWith('^') ? `[^${body.slice(1)}]` : `[${body}]`;
      i = end;
    } else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
