// The digest a bundle signature lists for each file, computed as OPA computes it, so bundles signed by
// `opa build --signing-key` verify here and ours verify in OPA. Policy modules, Wasm and every other file
// are hashed as bytes. The structured documents (`data.json`, `data.yaml`, `.manifest`) are hashed on their
// parsed value, so whitespace and key order do not matter: objects as `{` + `"key":value` pairs in key order
// joined by `,` + `}`, arrays as `[` + values joined by `,` + `]`, strings as Go's encoder writes them (no
// HTML escaping), and numbers as the literal text of the file (OPA decodes them as json.Number).
import { createHash } from 'node:crypto';
import { LosslessNumber, parse as parseLossless } from 'lossless-json';
import { parse as parseYaml } from 'yaml';

/** OPA's names for the hash algorithms a signature may use, and node:crypto's. */
const ALGORITHMS: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256',
};

export const DEFAULT_HASH_ALGORITHM = 'SHA-256';

export class FileHashError extends Error {
  readonly code = 'BUNDLE_FILE_HASH';
}

export function isSupportedHashAlgorithm(name: string): boolean {
  return Object.hasOwn(ALGORITHMS, name);
}

/** OPA's IsStructuredDoc: these base names are hashed on their JSON value. */
export function isStructuredDocument(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base === 'data.json' || base === 'data.yaml' || base === '.manifest';
}

/** The hex digest of one bundle file (`name` as in the bundle, without a leading `/`). */
export function hashBundleFile(name: string, bytes: Uint8Array, algorithm: string): string {
  const nodeName = ALGORITHMS[algorithm];
  if (nodeName === undefined) throw new FileHashError(`unsupported hash algorithm ${algorithm}`);
  const hash = createHash(nodeName);
  if (!isStructuredDocument(name)) {
    hash.update(bytes);
  } else {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const value = name.endsWith('.yaml') ? (parseYaml(text) as unknown) : parseJsonKeepingNumbers(text);
    for (const piece of canonicalPieces(value)) hash.update(piece);
  }
  return hash.digest('hex');
}

function parseJsonKeepingNumbers(text: string): unknown {
  // Duplicate keys keep the last value, as Go's decoder does.
  return parseLossless(text, undefined, {
    parseNumber: (digits: string) => new LosslessNumber(digits),
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/** The canonical text of a value, in pieces (a large data.json is never built as one string). */
function* canonicalPieces(value: unknown): Generator<string> {
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      yield* canonicalPieces(value[i]);
    }
    yield ']';
  } else if (value instanceof LosslessNumber) {
    yield value.value;
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    yield '{';
    // Go sorts keys by their UTF-8 bytes; JavaScript's default sort compares UTF-16 units, which differs
    // for characters beyond the Basic Multilingual Plane.
    const keys = Object.keys(record).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0) yield ',';
      yield goString(key);
      yield ':';
      yield* canonicalPieces(record[key]);
    }
    yield '}';
  } else if (typeof value === 'string') {
    yield goString(value);
  } else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    yield JSON.stringify(value);
  } else {
    throw new FileHashError(`cannot hash a ${typeof value} value`);
  }
}

/** A string as Go's encoding/json writes it with SetEscapeHTML(false): JSON.stringify's, plus U+2028/U+2029. */
function goString(text: string): string {
  return JSON.stringify(text)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
