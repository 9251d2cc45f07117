// One loaded policy: the Wasm module compiled once, evaluated through the opa-wasm SDK with Portcullis's
// custom builtins (src/policy/evaluator.ts), its data set once at load, and a synchronous evaluate for the
// hot path.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { dataConflict } from '@portcullis/rego-wasm/bundle';
import { policyInputJson } from '../input/inputJson.js';
import { loadPolicySource, type PolicySource } from './source.js';
import { PolicyLoadError } from './errors.js';
import { loadEvaluator, type Evaluator, type EvaluatorObserver } from './evaluator.js';
import { DEFAULT_LIMITS, type EvaluationLimits } from './limits.js';
import { mergeOver } from '../json/records.js';

export type PolicyResult = { defined: false } | { defined: true; value: unknown };

export interface LoadedPolicy {
  revision: string;
  kind: string;
  path: string;
  entrypoint: string;
  entrypoints: string[];
  loadedAt: Date;
  evaluate(input: unknown): PolicyResult;
  /** the live instance's Wasm memory in bytes (what `portcullis_policy_memory_bytes` reports) */
  memoryBytes?(): number;
  /** false for modules without fuel checks (built by `opa build`): only the memory cap bounds them */
  fuelMetered?: boolean;
  /** where the load's time went (logged with each load and reload) */
  timings?: LoadTimings;
}

/**
 * Milliseconds per step of a load. Only `spawnMs` and `instantiateMs` run on the thread that answers checks;
 * reading (asynchronous I/O), compiling Rego (a child process) and compiling the Wasm module (V8's background
 * threads) leave it free.
 */
export interface LoadTimings {
  /** reading the policy directory (Rego directories only) */
  readMs?: number;
  /** compiling the Rego in the child process, start to reply (Rego directories only) */
  compileMs?: number;
  /** of `compileMs`, what starting the compile held the event loop (Rego directories only) */
  spawnMs?: number;
  /** WebAssembly.compile of the module */
  wasmCompileMs: number;
  /** merging and checking the data, instantiating the module and loading the data into it */
  instantiateMs: number;
}

export interface PolicySettings {
  path: string;
  entrypoint: string;
  /** JSON file merged over the source's own data */
  data?: string | undefined;
  /** what one evaluation may spend (policy.limits); DEFAULT_LIMITS when absent */
  limits?: EvaluationLimits | undefined;
}

export async function loadPolicyFromSettings(
  settings: PolicySettings,
  observer?: EvaluatorObserver,
): Promise<LoadedPolicy> {
  const source = await loadStep(settings.path, 'does not compile', () =>
    loadPolicySource(settings.path, [settings.entrypoint]),
  );
  return policyFromSource(source, settings, observer);
}

/** A policy from a source already read (a file's, or a bundle the bundle service fetched); `settings.path` names it. */
export async function policyFromSource(
  source: PolicySource,
  settings: PolicySettings,
  observer?: EvaluatorObserver,
): Promise<LoadedPolicy> {
  const limits = settings.limits ?? DEFAULT_LIMITS;
  const extraData = settings.data === undefined ? {} : await readDataFile(settings.data);
  const compileStarted = performance.now();
  const module = await loadStep(settings.path, 'is not a WebAssembly module', () => WebAssembly.compile(source.wasm));
  const instantiateStarted = performance.now();
  const data = mergeOver(source.data ?? {}, extraData);
  checkDataConflicts(settings, source.rules, data);
  const evaluator = await loadStep(settings.path, 'is not a loadable OPA Wasm module', () =>
    loadEvaluator(module, data, limits, observer),
  );
  const timings: LoadTimings = {
    ...source.timings,
    wasmCompileMs: instantiateStarted - compileStarted,
    instantiateMs: performance.now() - instantiateStarted,
  };
  const available = evaluator.entrypoints;
  if (!available.includes(settings.entrypoint)) {
    throw new PolicyLoadError(
      settings.path,
      `entrypoint "${settings.entrypoint}" is not in the module (it has: ${available.join(', ') || 'none'}); ` +
        'set policy.entrypoint to the rule path, e.g. envoy/authz/allow',
    );
  }
  return {
    revision: source.revision,
    kind: String(source.kind),
    path: settings.path,
    entrypoint: settings.entrypoint,
    entrypoints: available,
    loadedAt: new Date(),
    evaluate: (input) => evaluateEntrypoint(evaluator, settings.entrypoint, input),
    memoryBytes: () => evaluator.memoryBytes(),
    fuelMetered: evaluator.metered,
    timings,
  };
}

/**
 * Data at or below a rule's path (or a non-object above one) is refused at load, as OPA refuses it: the
 * module would raise the same conflict on every evaluation, so this keeps the policy already serving.
 */
function checkDataConflicts(settings: PolicySettings, rules: string[][] | undefined, data: unknown): void {
  const conflict = dataConflict(rules ?? [], data);
  if (conflict === null) return;
  const from = settings.data === undefined ? 'its data' : `its data (with policy.data ${settings.data})`;
  throw new PolicyLoadError(
    settings.path,
    `conflicting rule for data path ${conflict} found: ${from} holds a value at or below that rule's path, ` +
      'or a non-object above it; move the data or rename the rule',
  );
}

/**
 * The input goes in as JSON text of our own making (policyInputJson): the SDK's JSON.stringify would round
 * integers beyond 2^53 that a request body carried, and it could not reuse the identity's text.
 */
function evaluateEntrypoint(evaluator: Evaluator, entrypoint: string, input: unknown): PolicyResult {
  const resultSet = evaluator.evaluateJson(input === undefined ? undefined : policyInputJson(input), entrypoint);
  if (!Array.isArray(resultSet) || resultSet.length === 0) return { defined: false };
  const first: unknown = resultSet[0];
  if (typeof first !== 'object' || first === null || !('result' in first)) return { defined: false };
  return { defined: true, value: (first as { result: unknown }).result };
}

async function loadStep<T>(path: string, what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof PolicyLoadError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new PolicyLoadError(path, `${what}: ${detail}`, { cause: error });
  }
}

async function readDataFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PolicyLoadError(path, `policy.data cannot be read: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PolicyLoadError(path, `policy.data is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
