// Turns `policy.path` into an OPA Wasm module plus base data, whatever the path holds: a directory of .rego
// files (compiled in a child process, see compileSources), a bare .wasm module, or a bundle .tar.gz (ours or
// `opa build -t wasm`'s). Serving a bundle or a .wasm module never loads the compiler.
import { readFile, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { BundleError, readBundle, type BundleContents } from '@portcullis/rego-wasm/bundle';
import {
  describeFsError,
  isRegoTestFile,
  readRegoDir,
  RegoDirError,
  revisionHash,
  type RegoDir,
} from '@portcullis/rego-wasm/dir';
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
  /**
   * Milliseconds spent reading a policy directory, compiling it in the child, and of that the event loop's part:
   * starting the compile (Rego directories only).
   */
  timings?: { readMs: number; compileMs: number; spawnMs: number };
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const GZIP_MAGIC = [0x1f, 0x8b];

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
    return {
      wasm: bytes,
      data: undefined,
      entrypoints,
      revision: revisionHash([['module.wasm', bytes]]),
      kind: 'wasm',
    };
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
  const revision = bundle.manifest?.revision || revisionHash([['bundle', archive]]);
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
    .filter((file) => !isRegoTestFile(file.path))
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

/**
 * A policy directory as the sidecar reads it (test files ending _test.rego skipped): the compiler package's
 * one reader of policy directories (`readRegoDir`), its errors as PolicyLoadError.
 */
export async function readPolicyDirectory(dir: string): Promise<RegoDir> {
  try {
    return await readRegoDir(dir);
  } catch (error) {
    if (error instanceof RegoDirError) throw new PolicyLoadError(error.path, error.detail, { cause: error });
    throw error;
  }
}

async function loadRegoDirectory(dir: string, entrypoints: string[], options: SourceOptions): Promise<PolicySource> {
  const started = performance.now();
  const { sources, data, revision } = await readPolicyDirectory(dir);
  if (sources.length === 0) {
    throw new PolicyLoadError(dir, 'holds no .rego files (test files ending _test.rego are skipped)');
  }
  const read = performance.now();
  const compiled = await compileSources(dir, sources, entrypoints, options);
  const timings = { readMs: read - started, compileMs: performance.now() - read, spawnMs: compiled.spawnMs };
  checkEntrypointsDefined(dir, compiled.rules, data, compiled.entrypoints);
  return {
    wasm: compiled.wasm,
    data,
    entrypoints: compiled.entrypoints,
    revision,
    kind: 'rego',
    rules: compiled.rules,
    timings,
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

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new PolicyLoadError(path, `cannot be read: ${describeFsError(error)}`, { cause: error });
  }
}

const startsWith = (bytes: Uint8Array, magic: number[]): boolean => magic.every((byte, i) => bytes[i] === byte);
