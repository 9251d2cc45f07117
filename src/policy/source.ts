// Turns `policy.path` into an OPA Wasm module plus base data, whatever the path holds: a directory of .rego
// files (compiled in a child process, see compileSources), a bare .wasm module, or a bundle .tar.gz (ours or
// `opa build -t wasm`'s). Serving a bundle or a .wasm module never loads the compiler.
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BundleError, mergeAt, readBundle, type BundleContents } from '@portcullis/rego-wasm/bundle';
import type { IsolatedCompileResult, RegoSource } from '@portcullis/rego-wasm/isolated';
import { MAX_POLICY_FILE_BYTES } from '../config/files.js';
import { PolicyLoadError } from './errors.js';

export interface PolicySource {
  wasm: Uint8Array;
  /** Base data shipped with the policy (data.json files, the bundle's data); undefined when there is none. */
  data: unknown;
  entrypoints: string[];
  /** The bundle manifest's revision, else a short sha256 of everything that went in. */
  revision: string;
  kind: 'rego' | 'wasm' | 'bundle';
  /** Paths of the rules compiled from Rego sources (unknown for a prebuilt module). */
  rules?: string[][];
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const GZIP_MAGIC = [0x1f, 0x8b];
/** Short enough to read in logs and metrics labels, long enough not to collide between two policy versions. */
const REVISION_HEX_CHARS = 12;

/** `print`: compile print() to host calls (`policy eval` shows them); the sidecar leaves it off. */
export interface SourceOptions {
  print?: boolean;
}

export async function loadPolicySource(
  path: string,
  entrypoints: string[],
  options: SourceOptions = {},
): Promise<PolicySource> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new PolicyLoadError(path, `cannot be read: ${describeFsError(error)}`, { cause: error });
  }
  if (info.isDirectory()) return loadRegoDirectory(path, entrypoints, options);
  // A FIFO would block the read forever and a device (/dev/zero) would never end: read regular files only.
  if (!info.isFile()) throw new PolicyLoadError(path, 'is neither a regular file nor a directory');
  if (info.size > MAX_POLICY_FILE_BYTES)
    throw new PolicyLoadError(path, `is ${info.size} bytes, more than the ${MAX_POLICY_FILE_BYTES} allowed`);

  const bytes = await readBytes(path);
  if (path.endsWith('.wasm') || startsWith(bytes, WASM_MAGIC)) {
    if (!startsWith(bytes, WASM_MAGIC))
      throw new PolicyLoadError(path, 'is not a WebAssembly module (missing the \\0asm header)');
    return { wasm: bytes, data: undefined, entrypoints, revision: shortHash([['module.wasm', bytes]]), kind: 'wasm' };
  }
  if (/\.(tar\.gz|tgz|tar)$/.test(path) || startsWith(bytes, GZIP_MAGIC))
    return loadBundle(path, bytes, entrypoints, options);
  throw new PolicyLoadError(path, 'is neither a directory of .rego files, a .wasm module nor a bundle .tar.gz');
}

async function loadBundle(
  path: string,
  archive: Uint8Array,
  entrypoints: string[],
  options: SourceOptions,
): Promise<PolicySource> {
  let bundle;
  try {
    bundle = await readBundle(archive);
  } catch (error) {
    if (error instanceof BundleError) throw new PolicyLoadError(path, `bundle ${error.message}`, { cause: error });
    throw error;
  }
  return policySourceFromBundle(path, bundle, archive, entrypoints, options);
}

/**
 * A bundle already read (the bundle service reads and verifies it first): its Wasm module as is, or its Rego
 * compiled in the isolated child like a directory. `name` is what errors call it; `archive` feeds the revision
 * when the manifest has none.
 */
export async function policySourceFromBundle(
  name: string,
  bundle: BundleContents,
  archive: Uint8Array,
  entrypoints: string[],
  options: SourceOptions = {},
): Promise<PolicySource> {
  const path = name;
  const revision = bundle.manifest?.revision || shortHash([['bundle', archive]]);
  if (bundle.wasm !== undefined) {
    const manifestEntrypoints = (bundle.manifest?.wasm ?? []).map((entry) => entry.entrypoint);
    return {
      wasm: bundle.wasm,
      data: bundle.data,
      entrypoints: entrypoints.length > 0 ? entrypoints : manifestEntrypoints,
      revision,
      kind: 'bundle',
    };
  }
  if (bundle.regoFiles.length === 0) {
    throw new PolicyLoadError(
      path,
      'bundle holds neither /policy.wasm nor any .rego file; build it with `portcullis policy build DIR -o OUT.tar.gz` or `opa build -t wasm`',
    );
  }
  // A source-only bundle (`opa build` without `-t wasm`): compile its Rego here. Errors name `bundle.tar.gz/x.rego`.
  const sources = bundle.regoFiles
    .filter((file) => !isTestFile(file.path))
    .map((file) => ({ path: `${path}/${file.path}`, source: file.source }));
  const compiled = await compileSources(path, sources, entrypoints, options);
  checkEntrypointsDefined(path, compiled.rules, bundle.data, compiled.entrypoints);
  return {
    wasm: compiled.wasm,
    data: bundle.data,
    entrypoints: compiled.entrypoints,
    revision,
    kind: 'bundle',
    rules: compiled.rules,
  };
}

export interface PolicyDirectory {
  /** The .rego files (test files ending _test.rego skipped), named by their path. */
  sources: RegoSource[];
  /** data.json / data.yaml files merged, each at its directory's path; undefined when there is none. */
  data: unknown;
  /** A short sha256 of every file read (names and bytes), so renames and moves change it too. */
  revision: string;
}

/**
 * A policy directory as the sidecar reads it: every .rego and data file below `dir` (see listFiles for what
 * is skipped and how links are followed), in a stable order. The one reader of policy directories: the
 * loader, the policy test harness and the policy benchmark all use it.
 */
export async function readPolicyDirectory(dir: string): Promise<PolicyDirectory> {
  const files = await listFiles(dir);
  const sources: RegoSource[] = [];
  const hashed: Array<[string, Uint8Array]> = [];
  let data: unknown;
  for (const file of files) {
    const relativePath = relative(dir, file).split(sep).join('/');
    const segments = relativePath.split('/');
    const base = segments[segments.length - 1] as string;
    const isRego = base.endsWith('.rego') && !isTestFile(base);
    const isData = base === 'data.json' || base === 'data.yaml' || base === 'data.yml';
    if (!isRego && !isData) continue;
    const bytes = await readBytes(file);
    hashed.push([relativePath, bytes]);
    const text = decodeText(file, bytes);
    if (isRego) {
      sources.push({ path: file, source: text });
    } else {
      try {
        data = mergeAt(data ?? {}, segments.slice(0, -1), parseDataText(file, text), file);
      } catch (error) {
        if (error instanceof BundleError)
          throw new PolicyLoadError(file, error.message.replace(`${file}: `, ''), { cause: error });
        throw error;
      }
    }
  }
  return { sources, data, revision: shortHash(hashed) };
}

async function loadRegoDirectory(dir: string, entrypoints: string[], options: SourceOptions): Promise<PolicySource> {
  const { sources, data, revision } = await readPolicyDirectory(dir);
  if (sources.length === 0) {
    throw new PolicyLoadError(dir, 'holds no .rego files (test files ending _test.rego are skipped)');
  }
  const compiled = await compileSources(dir, sources, entrypoints, options);
  checkEntrypointsDefined(dir, compiled.rules, data, compiled.entrypoints);
  return {
    wasm: compiled.wasm,
    data,
    entrypoints: compiled.entrypoints,
    revision,
    kind: 'rego',
    rules: compiled.rules,
  };
}

/**
 * Compiles in a child process that exits afterwards (the compiler package's `./isolated` entry): the serving
 * process never loads binaryen, its event loop keeps answering checks while a reload compiles, and the
 * compiler's memory goes back to the system. The entry is imported here, on the compile path only.
 * RegoCompileError is left as is: its message already names file:line:col and the construct.
 */
async function compileSources(
  path: string,
  sources: RegoSource[],
  entrypoints: string[],
  options: SourceOptions,
): Promise<IsolatedCompileResult> {
  const { compileIsolated, CompilerUnavailableError } = await import('@portcullis/rego-wasm/isolated');
  try {
    return await compileIsolated(sources, { entrypoints, print: options.print === true });
  } catch (error) {
    if (error instanceof CompilerUnavailableError && error.reason === 'backend-missing') {
      throw new PolicyLoadError(path, `holds Rego sources, which this installation cannot compile: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * An entrypoint that names no rule compiles to a module that is always undefined, so every request would
 * be denied; that is a typo to report at load time (as `opa build` does), not a policy to run.
 */
function checkEntrypointsDefined(dir: string, rulePaths: string[][], data: unknown, entrypoints: string[]): void {
  const related = (a: string[], b: string[]): boolean => a.every((segment, i) => i >= b.length || b[i] === segment);
  for (const entrypoint of entrypoints) {
    const path = entrypoint.split('/');
    if (rulePaths.some((rulePath) => related(path, rulePath)) || hasDataAt(data, path)) continue;
    const known = [...new Set(rulePaths.map((rulePath) => rulePath.join('/')))].sort();
    const shown = known.length > 10 ? `${known.slice(0, 10).join(', ')}, ...` : known.join(', ');
    throw new PolicyLoadError(
      dir,
      `entrypoint ${entrypoint} names no rule in the policy (rules: ${shown || 'none'}); check the package and rule name`,
    );
  }
}

function hasDataAt(data: unknown, path: string[]): boolean {
  let node = data;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || !(segment in node)) return false;
    node = (node as Record<string, unknown>)[segment];
  }
  return true;
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
    throw new PolicyLoadError(dir, `cannot be listed: ${describeFsError(error)}`, { cause: error });
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

// OPA's own convention: `_test.rego` files hold unit tests (which use `with`), not policy.
const isTestFile = (name: string): boolean => name.endsWith('_test.rego');

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new PolicyLoadError(path, `cannot be read: ${describeFsError(error)}`, { cause: error });
  }
}

function decodeText(path: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new PolicyLoadError(path, 'is not valid UTF-8 text', { cause: error });
  }
}

function parseDataText(path: string, text: string): unknown {
  try {
    return path.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    throw new PolicyLoadError(
      path,
      `is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** sha256 over (name, length, bytes) of each input in order, so renames and moves change the revision too. */
function shortHash(inputs: Array<[string, Uint8Array]>): string {
  const hash = createHash('sha256');
  for (const [name, bytes] of inputs) {
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex').slice(0, REVISION_HEX_CHARS);
}

const startsWith = (bytes: Uint8Array, magic: number[]): boolean => magic.every((byte, i) => bytes[i] === byte);

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
