// A directory of Rego read as one policy: every .rego file below it and the data.json / data.yaml files merged
// at their directory's path (as OPA bundles place them), in a stable order, with a revision hash. The one
// reader of policy directories: serving and building a policy, `policy check|test|fmt`, the policy tests and
// the benchmarks all use it. It loads no compiler code (the `./bundle` entry exports it).
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BundleError, mergeAt } from './bundle.js';
import { parseYaml } from './lazyYaml.js';
import type { RegoSource } from './index.js';

export interface RegoDir {
  /** The .rego files, each named by its path (the directory joined with its relative path). */
  sources: RegoSource[];
  /** The data files merged, each at its directory's path; undefined when there is none. */
  data: unknown;
  /** A short sha256 of every file read (names and bytes), so renames and moves change it too. */
  revision: string;
}

export interface RegoDirOptions {
  /** Include OPA's unit-test files (`*_test.rego`); a policy being served or built leaves them out. */
  tests?: boolean;
}

/** A file of the directory that cannot be listed, read or parsed, or data that conflicts; `path` names it. */
export class RegoDirError extends Error {
  readonly code = 'REGO_DIR';
  constructor(
    readonly path: string,
    /** What is wrong with it, without the path. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
    this.name = 'RegoDirError';
  }
}

/** Short enough to read in logs and metrics labels, long enough not to collide between two policy versions. */
const REVISION_HEX_CHARS = 12;
const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml']);

/** OPA's convention: `_test.rego` files hold unit tests, not policy. */
export const isRegoTestFile = (name: string): boolean => name.endsWith('_test.rego');

export async function readRegoDir(dir: string, options: RegoDirOptions = {}): Promise<RegoDir> {
  const sources: RegoSource[] = [];
  const hashed: Array<[string, Uint8Array]> = [];
  let data: unknown;
  for (const file of await listFiles(dir)) {
    const relativePath = relative(dir, file).split(sep).join('/');
    const segments = relativePath.split('/');
    const base = segments[segments.length - 1] as string;
    const isRego = base.endsWith('.rego') && (options.tests === true || !isRegoTestFile(base));
    if (!isRego && !DATA_FILES.has(base)) continue;
    const bytes = await readBytes(file);
    hashed.push([relativePath, bytes]);
    const text = decodeText(file, bytes);
    if (isRego) {
      sources.push({ path: file, source: text });
      continue;
    }
    try {
      data = mergeAt(data ?? {}, segments.slice(0, -1), parseData(file, text), file);
    } catch (error) {
      if (error instanceof BundleError) throw new RegoDirError(file, error.detail, { cause: error });
      throw error;
    }
  }
  return { sources, data, revision: revisionHash(hashed) };
}

/**
 * Every file under `dir`, sorted, skipping hidden entries (.git, editor swap files, and Kubernetes'
 * `..data` / `..<timestamp>` ConfigMap internals) and node_modules. Symbolic links are followed, because a
 * ConfigMap mounts each file as a link into `..data`; a directory reached twice is read once.
 */
async function listFiles(dir: string, visited = new Set<string>()): Promise<string[]> {
  let entries;
  try {
    const real = await realpath(dir);
    if (visited.has(real)) return [];
    visited.add(real);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new RegoDirError(dir, `cannot be listed: ${describeFsError(error)}`, { cause: error });
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(full).catch(() => undefined); // a dangling link is skipped like a missing file
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDirectory) files.push(...(await listFiles(full, visited)));
    else if (isFile) files.push(full);
  }
  return files;
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new RegoDirError(path, `cannot be read: ${describeFsError(error)}`, { cause: error });
  }
}

function decodeText(path: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new RegoDirError(path, 'is not valid UTF-8 text', { cause: error });
  }
}

function parseData(path: string, text: string): unknown {
  try {
    return path.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    const format = path.endsWith('.json') ? 'JSON' : 'YAML';
    throw new RegoDirError(path, `is not valid ${format}: ${(error as Error).message}`, { cause: error });
  }
}

/** sha256 over (name, length, bytes) of each input in order, so renames and moves change the revision too. */
export function revisionHash(inputs: Array<[string, Uint8Array]>): string {
  const hash = createHash('sha256');
  for (const [name, bytes] of inputs) {
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex').slice(0, REVISION_HEX_CHARS);
}

/** A file system error as a reader of the message wants it (the common codes in words). */
export function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
