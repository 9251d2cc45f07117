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
    const { value, native } = name.endsWith('.yaml')
      ? { value: parseYaml(text) as unknown, native: false }
      : parseJson(text);
    // Already in Go's order (what Go's encoder writes): the native encoder writes the same text, much faster.
    if (native && inGoOrder(value)) hash.update(escapeLineSeparators(JSON.stringify(value)));
    else writeCanonical(value, (chunk) => hash.update(chunk));
  }
  return hash.digest('hex');
}

/**
 * JSON.parse when every number is written as JavaScript writes it (then a number's canonical text is the
 * file's), else the number-preserving parser (`1.50` and `1e3` stay as written, as in OPA).
 */
function parseJson(text: string): { value: unknown; native: boolean } {
  if (numbersAsJavaScriptWrites(text)) {
    try {
      return { value: JSON.parse(text) as unknown, native: true };
    } catch {
      // the parser below reports the error
    }
  }
  return { value: parseJsonKeepingNumbers(text), native: false };
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * Whether every object's keys already come in Go's order (UTF-8 bytes) and none is an array index (which
 * JavaScript enumerates first, whatever the text's order), so JSON.stringify writes the canonical text.
 */
function inGoOrder(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(inGoOrder);
  if (typeof node !== 'object' || node === null) return true;
  let previous: string | undefined;
  for (const [key, value] of Object.entries(node)) {
    if (ARRAY_INDEX.test(key) || /[\uD800-\uFFFF]/.test(key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    if (!inGoOrder(value)) return false;
    previous = key;
  }
  return true;
}

/** Whether every number literal outside strings reads back the same through Number and String. */
function numbersAsJavaScriptWrites(text: string): boolean {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x2d || (code >= 0x30 && code <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      const literal = text.slice(i, end);
      if (String(Number(literal)) !== literal) return false;
      i = end - 1;
    }
  }
  return true;
}

/** digits, `.`, `e`, `E`, `+`, `-` */
const isNumberChar = (code: number): boolean =>
  (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x65 || code === 0x45 || code === 0x2b || code === 0x2d;

function parseJsonKeepingNumbers(text: string): unknown {
  // Duplicate keys keep the last value, as Go's decoder does.
  return parseLossless(text, undefined, {
    parseNumber: (digits: string) => new LosslessNumber(digits),
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/** Feeds the canonical text of a value to `write` in chunks (a large data.json is never built as one string). */
function writeCanonical(value: unknown, write: (text: string) => void): void {
  let buffer = '';
  const emit = (text: string): void => {
    buffer += text;
    if (buffer.length > 65_536) {
      write(buffer);
      buffer = '';
    }
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      emit('[');
      for (let i = 0; i < node.length; i++) {
        if (i > 0) emit(',');
        walk(node[i]);
      }
      emit(']');
    } else if (node instanceof LosslessNumber) {
      emit(node.value);
    } else if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>;
      const keys = sortedKeys(record);
      emit('{');
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        if (i > 0) emit(',');
        emit(goString(key));
        emit(':');
        walk(record[key]);
      }
      emit('}');
    } else if (typeof node === 'string') {
      emit(goString(node));
    } else if (typeof node === 'number' || typeof node === 'boolean' || node === null) {
      emit(JSON.stringify(node));
    } else {
      throw new FileHashError(`cannot hash a ${typeof node} value`);
    }
  };
  walk(value);
  write(buffer);
}

/**
 * Keys in Go's order, by their UTF-8 bytes. JavaScript's default sort compares UTF-16 units, which agrees
 * unless a key holds a character from U+D800 up (surrogates sort below U+E000-U+FFFF in UTF-16, above in UTF-8).
 */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (!keys.some((key) => /[\uD800-\uFFFF]/.test(key))) return keys.sort();
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A string as Go's encoding/json writes it with SetEscapeHTML(false): JSON.stringify's, plus U+2028/U+2029. */
function goString(text: string): string {
  return escapeLineSeparators(JSON.stringify(text));
}

/** Go's encoder escapes U+2028 and U+2029 (JavaScript's does not). */
function escapeLineSeparators(json: string): string {
  return json.includes('\u2028') || json.includes('\u2029')
    ? json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
    : json;
}
