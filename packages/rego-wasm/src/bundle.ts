// OPA bundles: gzipped tarballs holding `/policy.wasm`, `/data.json` (data may also sit in nested
// `<path>/data.json` files, placed at that path) and `/.manifest`. Written by `portcullis policy build`, read
// from there or from `opa build -t wasm` (which may name entries without the leading slash and add the .rego
// sources and other files). Entries are untrusted: names are normalised and checked, sizes are capped.
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { packTar, unpackTar, type TarHeader } from 'modern-tar';
import { parseYaml } from './lazyYaml.js';

export { dataConflict } from './dataConflicts.js';

// zlib's own threads do the (de)compression, off the event loop.
const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

export class BundleError extends Error {
  readonly code = 'POLICY_BUNDLE';
  constructor(
    /** The entry at fault (as named in the archive), when there is one. */
    readonly entry: string | null,
    /** What is wrong, without the entry's name. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(entry === null ? detail : `${entry}: ${detail}`, options);
    this.name = 'BundleError';
  }
}

/** `/.manifest`: these fields, when present, have these types; other fields are kept as they are. */
export interface BundleManifest {
  [key: string]: unknown;
  revision?: string;
  roots?: string[];
  wasm?: Array<{ [key: string]: unknown; entrypoint: string; module: string }>;
  metadata?: Record<string, unknown>;
}

export interface BundleContents {
  manifest: BundleManifest | undefined;
  /** The policy module: the manifest's `wasm[].module`, else `/policy.wasm`. */
  wasm: Uint8Array | undefined;
  /** All `data.json` / `data.yaml` files merged at their directories' paths; undefined when there are none. */
  data: unknown;
  /** `.rego` files, so a bundle without Wasm can still be compiled. Paths are bundle-relative. */
  regoFiles: Array<{ path: string; source: string }>;
}

export interface BundleLimits {
  /** Largest single entry, in bytes. */
  maxEntryBytes: number;
  /** Largest sum of all entries, in bytes (guards against decompression bombs). */
  maxTotalBytes: number;
  maxEntries: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxEntries: 10_000,
};

export interface BundleSpec {
  wasm: Uint8Array;
  data?: unknown;
  revision: string;
  /** Entrypoints as `envoy/authz/allow`; each is listed in the manifest against `/policy.wasm`. */
  entrypoints: string[];
  /** Data paths the bundle owns; `[""]` (everything) by default. */
  roots?: string[];
}

const WASM_ENTRY = '/policy.wasm';

/** Builds a bundle in memory. The output is deterministic (fixed mtimes) so equal inputs give equal bytes. */
export async function writeBundle(spec: BundleSpec): Promise<Uint8Array> {
  return packBundleFiles(bundleFiles(spec));
}

/**
 * The files `writeBundle` packs, named as OPA names them (`/.manifest`, `/data.json`, `/policy.wasm`), so a
 * caller can add files computed over them (a `.signatures.json`) before packing.
 */
export function bundleFiles(spec: BundleSpec): Array<[string, Uint8Array]> {
  const manifest: BundleManifest = {
    revision: spec.revision,
    roots: spec.roots ?? [''],
    wasm: spec.entrypoints.map((entrypoint) => ({ entrypoint, module: WASM_ENTRY })),
  };
  return [
    ['/.manifest', new Uint8Array(Buffer.from(JSON.stringify(manifest)))],
    ['/data.json', new Uint8Array(Buffer.from(JSON.stringify(spec.data ?? {})))],
    [WASM_ENTRY, spec.wasm],
  ];
}

/** Packs files into a deterministic `.tar.gz` (fixed mtimes, modes and owners), in the order given. */
export async function packBundleFiles(files: ReadonlyArray<readonly [string, Uint8Array]>): Promise<Uint8Array> {
  // Names keep the leading `/` that OPA writes in its own bundles.
  const tar = await packTar(
    files.map(([path, bytes]) => ({
      header: { name: path, size: bytes.length, type: 'file', mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 },
      body: bytes,
    })),
  );
  return new Uint8Array(await gzip(tar));
}

/** Reads a bundle `.tar.gz` (or plain `.tar`) from memory. */
export async function readBundle(
  archive: Uint8Array,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<BundleContents> {
  return bundleFromFiles(await readBundleFiles(archive, limits));
}

/**
 * Every regular file of a bundle archive by normalised name (`data.json`, `authz/policy.rego`, `.manifest`,
 * `.signatures.json`), with the same checks as readBundle: what a signature verifier hashes.
 */
export function readBundleFiles(
  archive: Uint8Array,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<Map<string, Uint8Array>> {
  return extractFiles(archive, limits);
}

/** The bundle held by files from readBundleFiles (read once, verified, then interpreted). */
export function bundleFromFiles(files: ReadonlyMap<string, Uint8Array>): BundleContents {
  const manifestBytes = files.get('.manifest');
  const manifest = manifestBytes === undefined ? undefined : parseManifest(manifestBytes);

  const modulePaths = [
    ...new Set((manifest?.wasm ?? []).map((entry) => normaliseEntryName(entry.module, '.manifest'))),
  ];
  if (modulePaths.length > 1) {
    throw new BundleError(
      '.manifest',
      `lists ${modulePaths.length} Wasm modules (${modulePaths.join(', ')}); Portcullis loads one module per bundle — build the entrypoints into one module`,
    );
  }
  const modulePath = modulePaths[0] ?? 'policy.wasm';
  const wasm = files.get(modulePath);
  if (modulePaths.length === 1 && wasm === undefined) {
    throw new BundleError('.manifest', `names the Wasm module /${modulePath}, but the bundle has no such file`);
  }

  let data: unknown;
  const regoFiles: BundleContents['regoFiles'] = [];
  // In code-unit order, as the directory reader (regoDir.ts) lists files: localeCompare would load ICU's
  // collation data into every process that reads a bundle, ~2.5 MB of a serving sidecar's resident memory.
  for (const [name, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const segments = name.split('/');
    const base = segments[segments.length - 1] as string;
    if (base === 'data.json' || base === 'data.yaml' || base === 'data.yml') {
      const value = parseDataFile(name, bytes);
      data = mergeAt(data ?? {}, segments.slice(0, -1), value, name);
    } else if (base.endsWith('.rego')) {
      regoFiles.push({ path: name, source: decodeUtf8(name, bytes) });
    }
  }
  return { manifest, wasm, data, regoFiles };
}

// Entry types as users of tar know them, for the refusal message.
const ENTRY_TYPE_NAMES: Readonly<Record<string, string>> = {
  link: 'hard link',
  symlink: 'symbolic link',
  'character-device': 'character device',
  'block-device': 'block device',
  fifo: 'FIFO',
};

/** Every regular-file entry by normalised name; rejects traversal, duplicates, links and oversize entries. */
async function extractFiles(archive: Uint8Array, limits: BundleLimits): Promise<Map<string, Uint8Array>> {
  const tar = isGzip(archive) ? await gunzipBounded(archive, limits) : archive;
  const names = new Set<string>();
  let total = 0;
  let count = 0;
  // Every header is checked before its body is read; a BundleError thrown here ends the reading.
  const admit = (header: TarHeader): boolean => {
    count++;
    if (count > limits.maxEntries) throw new BundleError(null, `has more than ${limits.maxEntries} entries`);
    if (header.type === 'directory') return false;
    if (header.type !== undefined && header.type !== 'file') {
      const kind = ENTRY_TYPE_NAMES[header.type] ?? header.type;
      throw new BundleError(header.name, `is a ${kind} entry; bundles may only hold regular files`);
    }
    const name = normaliseEntryName(header.name, null);
    if (header.size > limits.maxEntryBytes) {
      throw new BundleError(
        header.name,
        `is ${header.size} bytes, over the ${limits.maxEntryBytes}-byte limit per entry`,
      );
    }
    total += header.size;
    if (total > limits.maxTotalBytes)
      throw new BundleError(null, `holds more than ${limits.maxTotalBytes} bytes in total`);
    if (names.has(name)) throw new BundleError(header.name, 'appears twice in the bundle');
    names.add(name);
    return true;
  };
  let entries: Awaited<ReturnType<typeof unpackTar>>;
  try {
    // strict: a bad header checksum or magic is an error, not a skipped entry.
    entries = await unpackTar(tar, { strict: true, filter: admit });
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(
      null,
      `is not a valid tar archive (${error instanceof Error ? error.message : String(error)})`,
      {
        cause: error,
      },
    );
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of entries) {
    files.set(normaliseEntryName(entry.header.name, null), new Uint8Array(entry.data ?? new Uint8Array(0)));
  }
  return files;
}

const isGzip = (bytes: Uint8Array): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Decompresses at most what the limits allow (the entries plus their tar headers and padding), so a small
 * archive that inflates to gigabytes is refused without inflating it (a decompression bomb).
 */
async function gunzipBounded(archive: Uint8Array, limits: BundleLimits): Promise<Uint8Array> {
  const overhead = (limits.maxEntries + 2) * 3 * 512;
  try {
    return await gunzip(archive, { maxOutputLength: limits.maxTotalBytes + overhead });
  } catch (error) {
    if (error instanceof RangeError || (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BundleError(null, `holds more than ${limits.maxTotalBytes} bytes in total`, { cause: error });
    }
    throw new BundleError(
      null,
      `is not a readable .tar.gz: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * `/a/b.json`, `./a/b.json` and `a/b.json` all name `a/b.json`. Names that could escape the bundle root
 * (`..` segments, backslashes, NUL) are refused rather than cleaned, because a bundle carrying them is
 * malformed or hostile.
 */
export function normaliseEntryName(raw: string, referencedFrom: string | null): string {
  const refuse = (why: string): never => {
    throw new BundleError(
      referencedFrom ?? raw,
      referencedFrom === null ? why : `entry name ${JSON.stringify(raw)} ${why}`,
    );
  };
  if (raw.includes('\0') || raw.includes('\\'))
    refuse('contains a backslash or NUL; entry names must be plain /-separated paths');
  const segments = raw.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) refuse('contains `..`; bundle entries must stay inside the bundle');
  if (segments.length === 0) refuse('is empty');
  if (/^[A-Za-z]:$/.test(segments[0] as string)) refuse('is a drive-letter path');
  return segments.join('/');
}

function parseManifest(bytes: Uint8Array): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(decodeUtf8('.manifest', bytes)) as unknown;
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError('.manifest', `is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const issue = manifestIssue(json);
  if (issue !== null) throw new BundleError('.manifest', `field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return json as BundleManifest;
}

interface ManifestIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * The first field of a parsed manifest that does not have its BundleManifest type, or null. Checked by hand,
 * not with zod: a server that reads bundles would otherwise keep zod loaded (~3 MB of its idle memory) for four
 * fields. It refuses what the zod schema it replaced (z.looseObject of the same fields) refused, first issue and
 * message alike: test/bundleManifest.test.ts compares the two.
 */
function manifestIssue(json: unknown): ManifestIssue | null {
  const expected = (path: Array<string | number>, type: string, value: unknown): ManifestIssue => ({
    path,
    message: `Invalid input: expected ${type}, received ${jsonType(value)}`,
  });
  if (!isRecord(json)) return expected([], 'object', json);
  const { revision, roots, wasm, metadata } = json;
  if (revision !== undefined && typeof revision !== 'string') return expected(['revision'], 'string', revision);
  if (roots !== undefined) {
    if (!Array.isArray(roots)) return expected(['roots'], 'array', roots);
    const at = roots.findIndex((root) => typeof root !== 'string');
    if (at >= 0) return expected(['roots', at], 'string', roots[at]);
  }
  if (wasm !== undefined) {
    if (!Array.isArray(wasm)) return expected(['wasm'], 'array', wasm);
    for (const [at, entry] of wasm.entries()) {
      if (!isRecord(entry)) return expected(['wasm', at], 'object', entry);
      for (const key of ['entrypoint', 'module']) {
        if (typeof entry[key] !== 'string') return expected(['wasm', at, key], 'string', entry[key]);
      }
    }
  }
  if (metadata !== undefined && !isRecord(metadata)) return expected(['metadata'], 'record', metadata);
  return null;
}

/** A parsed JSON value's type as zod's messages name it. */
function jsonType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function parseDataFile(name: string, bytes: Uint8Array): unknown {
  const text = decodeUtf8(name, bytes);
  try {
    return name.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    throw new BundleError(
      name,
      `is not valid ${name.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function decodeUtf8(name: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new BundleError(name, 'is not valid UTF-8', { cause: error });
  }
}

// The package's own guard (it depends on nothing of the sidecar, which has its own in src/json/records.ts).
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Places `value` at `path` inside `base`, merging objects key by key. Two files giving different non-object
 * values for the same key is an error, as in OPA.
 */
export function mergeAt(base: unknown, path: string[], value: unknown, source: string): unknown {
  if (path.length === 0) return mergeValues(base, value, source, []);
  const [head, ...rest] = path as [string, ...string[]];
  if (!isRecord(base)) throw new BundleError(source, `cannot place data under ${head}: the parent is not an object`);
  return { ...base, [head]: mergeAt(base[head] ?? {}, rest, value, source) };
}

function mergeValues(base: unknown, over: unknown, source: string, at: string[]): unknown {
  if (isRecord(base) && isRecord(over)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) {
      merged[key] = key in merged ? mergeValues(merged[key], value, source, [...at, key]) : value;
    }
    return merged;
  }
  if (isRecord(base) && Object.keys(base).length === 0) return over;
  throw new BundleError(source, `data at ${at.join('.') || '(root)'} conflicts with data from another file`);
}
