// One loaded policy: the Wasm module instantiated through the opa-wasm SDK with Portcullis's custom
// builtins, its data set once at load, and a synchronous evaluate for the hot path.
import { readFile } from 'node:fs/promises';
import { loadPolicy as loadWasmPolicy } from '@open-policy-agent/opa-wasm';
import { customBuiltins } from '@portcullis/rego-wasm/builtins';
import { loadPolicySource } from './source.js';
import { PolicyEvaluationError, PolicyLoadError } from './errors.js';

export type PolicyResult = { defined: false } | { defined: true; value: unknown };

export interface LoadedPolicy {
  revision: string;
  kind: string;
  path: string;
  entrypoint: string;
  entrypoints: string[];
  loadedAt: Date;
  evaluate(input: unknown): PolicyResult;
}

export interface PolicySettings {
  path: string;
  entrypoint: string;
  /** JSON file merged over the source's own data */
  data?: string | undefined;
}

type SdkPolicy = Awaited<ReturnType<typeof loadWasmPolicy>>;

/** Memory the module starts with (64 KiB pages); it grows on demand. */
const INITIAL_MEMORY_PAGES = 16;

export async function loadPolicyFromSettings(settings: PolicySettings): Promise<LoadedPolicy> {
  const source = await loadStep(settings.path, 'does not compile', () =>
    loadPolicySource(settings.path, [settings.entrypoint]),
  );
  const extraData = settings.data === undefined ? {} : await readDataFile(settings.data);
  const sdkPolicy = await loadStep(settings.path, 'is not a loadable OPA Wasm module', () =>
    loadWasmPolicy(source.wasm, { initial: INITIAL_MEMORY_PAGES }, customBuiltins),
  );
  const available = Object.keys((sdkPolicy.entrypoints ?? {}) as Record<string, number>);
  if (!available.includes(settings.entrypoint)) {
    throw new PolicyLoadError(
      settings.path,
      `entrypoint "${settings.entrypoint}" is not in the module (it has: ${available.join(', ') || 'none'}); ` +
        'set policy.entrypoint to the rule path, e.g. envoy/authz/allow',
    );
  }
  const data = deepMerge(source.data ?? {}, extraData);
  await loadStep(settings.path, 'data could not be loaded', () => sdkPolicy.setData(data as object));
  return {
    revision: source.revision,
    kind: String(source.kind),
    path: settings.path,
    entrypoint: settings.entrypoint,
    entrypoints: available,
    loadedAt: new Date(),
    evaluate: (input) => evaluateEntrypoint(sdkPolicy, settings.entrypoint, input),
  };
}

function evaluateEntrypoint(policy: SdkPolicy, entrypoint: string, input: unknown): PolicyResult {
  let resultSet: unknown;
  try {
    resultSet = policy.evaluate(input, entrypoint);
  } catch (error) {
    throw new PolicyEvaluationError(error instanceof Error ? error.message : String(error), { cause: error });
  }
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

/** Objects merge key by key; anything else in `over` replaces what `base` had. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = key in merged ? deepMerge(merged[key], value) : value;
  return merged;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
