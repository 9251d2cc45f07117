// OPA bundles: gzipped tarballs holding `/policy.wasm`, `/data.json` (data may also sit in nested
// `<path>/data.json` files, placed at that path) and `/.manifest`. Written by `portcullis policy build`, read
// from there or from `opa build -t wasm` (which may name entries without the leading slash and add the .rego
// sources and other files). Entries are untrusted: names are normalised and checked, sizes are capped.
import { Header, Pack, Parser, ReadEntry } from 'tar';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export { dataConflict } from './dataConflicts.js';

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

const manifestSchema = z.looseObject({
  revision: z.string().optional(),
  roots: z.array(z.string()).optional(),
  wasm: z.array(z.looseObject({ entrypoint: z.string(), module: z.string() })).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type BundleManifest = z.infer<typeof manifestSchema>;

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

/** Packs files into a deterministic `.tar.gz` (fixed mtimes and modes), in the order given. */
export async function packBundleFiles(files: ReadonlyArray<readonly [string, Uint8Array]>): Promise<Uint8Array> {
  // preservePaths keeps the leading `/` that OPA writes in its own bundles.
  const pack = new Pack({ gzip: true, preservePaths: true, portable: true });
  const chunks: Buffer[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk: Buffer) => chunks.push(chunk));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const [path, bytes] of files) {
    const entry = new ReadEntry(
      new Header({ path, size: bytes.length, type: 'File', mode: 0o644, mtime: new Date(0) }),
    );
    pack.add(entry);
    entry.end(Buffer.from(bytes));
  }
  pack.end();
  await finished;
  return new Uint8Array(Buffer.concat(chunks));
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

/** Every regular-file entry by normalised name; rejects traversal, duplicates, links and oversize entries. */
async function extractFiles(archive: Uint8Array, limits: BundleLimits): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  let total = 0;
  let count = 0;
  const parser = new Parser({ strict: true });
  const failure: { error?: BundleError } = {};
  const fail = (error: BundleError): void => {
    if (failure.error === undefined) failure.error = error;
    parser.abort(error);
  };

  parser.on('entry', (entry: ReadEntry) => {
    if (failure.error !== undefined) return entry.resume();
    count++;
    if (count > limits.maxEntries) return fail(new BundleError(null, `has more than ${limits.maxEntries} entries`));
    if (entry.type === 'Directory') return entry.resume();
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      return fail(new BundleError(entry.path, `is a ${entry.type} entry; bundles may only hold regular files`));
    }
    let name: string;
    try {
      name = normaliseEntryName(entry.path, null);
    } catch (error) {
      return fail(error as BundleError);
    }
    if (entry.size > limits.maxEntryBytes) {
      return fail(
        new BundleError(entry.path, `is ${entry.size} bytes, over the ${limits.maxEntryBytes}-byte limit per entry`),
      );
    }
    total += entry.size;
    if (total > limits.maxTotalBytes)
      return fail(new BundleError(null, `holds more than ${limits.maxTotalBytes} bytes in total`));
    if (files.has(name)) return fail(new BundleError(entry.path, 'appears twice in the bundle'));
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => files.set(name, new Uint8Array(Buffer.concat(chunks))));
  });

  await new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('abort', () => resolve());
    parser.on('error', (error: Error) => reject(error));
    parser.on('warn', (code: string, message: string | Error) => {
      // A truncated or corrupt archive only warns in tar; treat it as an error.
      const text = typeof message === 'string' ? message : message.message;
      fail(new BundleError(null, `is not a valid tar archive (${code}: ${text})`));
    });
    parser.end(Buffer.from(archive));
  }).catch((error: unknown) => {
    if (failure.error === undefined) {
      failure.error = new BundleError(
        null,
        `is not a readable .tar.gz: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  });
  if (failure.error !== undefined) throw failure.error;
  return files;
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
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError('.manifest', `field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
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
