// Runs one compiled policy module through the opa-wasm SDK, one instance at a time, and never lets an
// evaluation affect the next: after any failure (a trap, the budget or memory cap reached, an error the
// policy raised) the instance is dropped and a fresh one takes over, built from the module compiled once at
// load and the data encoded once. A Wasm memory only ever grows, so an evaluation that grew it far is
// followed by a fresh instance too: dropping the old one is the only way to give that memory back.
import { createRequire } from 'node:module';
import type { loadPolicySync as LoadPolicySync } from '@open-policy-agent/opa-wasm';
import { customBuiltinsFor } from '@portcullis/rego-wasm/builtins/lazy';
import {
  WASM_PAGE_BYTES,
  classifyFailure,
  describeFailure,
  maximumPages,
  type EvalFailureReason,
  type EvaluationLimits,
} from './limits.js';
import { PolicyEvaluationError } from './errors.js';
import { meteredBuiltins } from './meteredBuiltins.js';

export type InstanceResetReason = 'failure' | 'memory';

/** Hooks for metrics; the evaluator itself stays free of them. */
export interface EvaluatorObserver {
  evalFailed(reason: EvalFailureReason): void;
  instanceReset(reason: InstanceResetReason): void;
}

/**
 * Memory a fresh instance starts with (64 KiB pages), tried in this order: it grows on demand up to the cap.
 * Small first because V8 counts a new Wasm memory against the heap's limits as soon as it exists: with 1 MiB
 * per instance, the instance a reload swaps in started V8's next full collection (15-35 ms under load) within
 * 200 ms after 6 of 20 swaps, against none in as many windows without a reload. `policies/` evaluates in
 * 128 KiB. A module that declares a larger minimum (the second size covers what `opa build` modules need)
 * fails to link with the first and starts at the next.
 */
const INITIAL_MEMORY_PAGES = [2, 16] as const;
/** The start that linked, per module, so a fresh instance after a failure does not try the smaller one again. */
const linkedInitialPages = new WeakMap<WebAssembly.Module, number>();
/** Growth above the fresh instance's size that a successful evaluation may leave behind. */
const RETAINED_GROWTH_BYTES = 64 * 1024 * 1024;
/**
 * Exports of modules compiled by Portcullis (absent from `opa build` modules): the budget each evaluation
 * starts with, and the steps left (below zero once the budget ran out).
 */
const FUEL_BUDGET_EXPORT = 'portcullis_fuel_budget';
const FUEL_LEFT_EXPORT = 'portcullis_fuel';

// The SDK's ES module entry exports only the async loadPolicy; a reset must be synchronous (it happens
// between two checks), and the CommonJS entry has loadPolicySync.
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as {
  loadPolicySync: typeof LoadPolicySync;
};

type SdkPolicy = ReturnType<typeof LoadPolicySync>;

interface Instance {
  sdk: SdkPolicy;
  /** memory size right after instantiation and data: what a fresh instance costs */
  baselineBytes: number;
}

export interface Evaluator {
  /** the entrypoints the module declares */
  entrypoints: string[];
  /** whether the module counts fuel (compiled by Portcullis) or only has the memory cap (`opa build`) */
  metered: boolean;
  /** the result set of one evaluation; throws PolicyEvaluationError */
  evaluate(input: unknown, entrypoint: string): unknown;
  /**
   * The same with the input as JSON text in pieces to concatenate (undefined: no input), written straight
   * into the instance's memory.
   */
  evaluateJson(inputJson: readonly string[] | undefined, entrypoint: string): unknown;
  /** the live instance's Wasm memory, in bytes */
  memoryBytes(): number;
}

const noObserver: EvaluatorObserver = { evalFailed: () => undefined, instanceReset: () => undefined };

type Builtin = (...args: unknown[]) => unknown;

/**
 * createEvaluator with the JavaScript builtins the module calls: only their namespaces' code is loaded
 * (the whole table would keep every namespace's code in memory for nothing). The instance that lists them
 * (its `builtins` export) is the one that then serves: the SDK looks a builtin up by name in the object it
 * was given each time the module calls one, so that object is filled in once their code has loaded, before
 * any evaluation. A second instance only to read the list cost each reload another Wasm memory, allocated and
 * dropped at once.
 */
export async function loadEvaluator(
  module: WebAssembly.Module,
  data: unknown,
  limits: EvaluationLimits,
  observer: EvaluatorObserver = noObserver,
): Promise<Evaluator> {
  const first = bareInstance(module, limits);
  const builtins = await customBuiltinsFor(calledBuiltins(first.sdk));
  return createEvaluator(module, data, limits, builtins, observer, first);
}

/** An instance without its builtins, fuel budget or data yet (`builtins` is the object the SDK looks them up in). */
interface BareInstance {
  sdk: SdkPolicy;
  builtins: Record<string, Builtin>;
}

function bareInstance(module: WebAssembly.Module, limits: EvaluationLimits): BareInstance {
  const known = linkedInitialPages.get(module);
  const [first, ...larger] = known === undefined ? INITIAL_MEMORY_PAGES : [known];
  return instanceStartingAt(module, maximumPages(limits), first, larger);
}

function instanceStartingAt(
  module: WebAssembly.Module,
  maximum: number,
  pages: number,
  larger: readonly number[],
): BareInstance {
  const builtins: Record<string, Builtin> = {};
  try {
    const sdk = loadPolicySync(module, { initial: Math.min(pages, maximum), maximum }, builtins);
    linkedInitialPages.set(module, pages);
    return { sdk, builtins };
  } catch (error) {
    // A LinkError here is the module's memory minimum above this start; anything else is the module's own.
    const [next, ...rest] = larger;
    if (!(error instanceof WebAssembly.LinkError) || next === undefined) throw error;
    return instanceStartingAt(module, maximum, next, rest);
  }
}

/** The builtins a module calls, as its `builtins` export lists them, read from an instance without data. */
function calledBuiltins(sdk: SdkPolicy): string[] {
  const exports = (sdk.wasmInstance as WebAssembly.Instance).exports;
  const dump = exports['opa_json_dump'] as (addr: number) => number;
  const list = (exports['builtins'] as () => number)();
  const memory = new Uint8Array(sdk.mem.buffer);
  const at = dump(list);
  return Object.keys(JSON.parse(utf8Decoder.decode(memory.subarray(at, memory.indexOf(0, at)))) as object);
}

/**
 * Instantiates the first instance (errors propagate: the policy does not load) and returns the evaluator.
 * `data` is encoded to JSON once, so a fresh instance only parses it. `builtins`: the SDK's customBuiltins,
 * at least those the module calls (loadEvaluator).
 */
export function createEvaluator(
  module: WebAssembly.Module,
  data: unknown,
  limits: EvaluationLimits,
  builtinTable: Readonly<Record<string, Builtin>>,
  observer: EvaluatorObserver = noObserver,
  firstInstance?: BareInstance,
): Evaluator {
  const dataText = new TextEncoder().encode(JSON.stringify(data ?? {}));
  const dataBuffer = dataText.buffer.slice(dataText.byteOffset, dataText.byteOffset + dataText.byteLength);
  const maximum = maximumPages(limits);
  const maximumBytes = maximum * WASM_PAGE_BYTES;

  const instantiate = (bare: BareInstance = bareInstance(module, limits)): Instance => {
    const { sdk } = bare;
    // The instance's fuel counter, for builtins that charge it; set below, before any evaluation.
    let fuelLeft: WebAssembly.Global | undefined;
    Object.assign(
      bare.builtins,
      meteredBuiltins(builtinTable, () => fuelLeft),
    );
    setFuelBudget(sdk, limits.fuel);
    fuelLeft = fuelGlobal(sdk, FUEL_LEFT_EXPORT);
    try {
      // The SDK parses an ArrayBuffer as JSON text as it is (no JSON.stringify of the data per instance).
      sdk.setData(dataBuffer);
    } catch (error) {
      throw new Error(
        `its data (${dataBuffer.byteLength} bytes of JSON) does not load within policy.limits.memoryMiB ` +
          `(${limits.memoryMiB}): ${messageOf(error)}`,
        { cause: error },
      );
    }
    return { sdk, baselineBytes: sdk.mem.buffer.byteLength };
  };

  let instance: Instance | undefined = instantiate(firstInstance);
  const first = instance.sdk;
  const entrypoints = Object.keys((first.entrypoints ?? {}) as Record<string, number>);
  const metered = fuelGlobal(first, FUEL_BUDGET_EXPORT) !== undefined;

  const replace = (reason: InstanceResetReason): void => {
    instance = undefined;
    observer.instanceReset(reason);
    try {
      instance = instantiate();
    } catch {
      // Left undefined: the next evaluation tries again and fails with this error if it persists.
    }
  };

  const run = (evaluate: (sdk: SdkPolicy) => unknown): unknown => {
    let current: Instance;
    try {
      current = instance ?? instantiate();
    } catch (error) {
      observer.evalFailed('error');
      throw new PolicyEvaluationError(`the policy could not be instantiated: ${messageOf(error)}`, {
        cause: error,
        reason: 'error',
      });
    }
    instance = current;
    let resultSet: unknown;
    try {
      resultSet = evaluate(current.sdk);
    } catch (error) {
      const reason = classifyFailure({
        error,
        fuelLeft: fuelGlobal(current.sdk, FUEL_LEFT_EXPORT)?.value as number | undefined,
        memoryBytes: current.sdk.mem.buffer.byteLength,
        maximumBytes,
      });
      replace('failure');
      observer.evalFailed(reason);
      throw new PolicyEvaluationError(describeFailure(reason, limits, messageOf(error)), { cause: error, reason });
    }
    if (current.sdk.mem.buffer.byteLength - current.baselineBytes > RETAINED_GROWTH_BYTES) replace('memory');
    return resultSet;
  };

  return {
    entrypoints,
    metered,
    memoryBytes: () => instance?.sdk.mem.buffer.byteLength ?? 0,
    evaluate: (input, entrypoint) => run((sdk) => sdk.evaluate(input, entrypoint)),
    evaluateJson: (inputJson, entrypoint) => run((sdk) => evaluateJsonText(sdk, inputJson, entrypoint)),
  };
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The SDK's ABI 1.2 fast path (one `opa_eval` call: parse the input, evaluate, dump the result) with the input
 * encoded straight into the instance's memory: the SDK takes an ArrayBuffer and copies it in, and producing
 * that ArrayBuffer (TextEncoder.encode, an exact-size allocation per check) cost more than the evaluation's own
 * JSON parse. Modules without `opa_eval` (ABI 1.0/1.1) take the SDK's path.
 */
function evaluateJsonText(sdk: SdkPolicy, inputJson: readonly string[] | undefined, entrypoint: string): unknown {
  const exports = (sdk.wasmInstance as WebAssembly.Instance).exports;
  const opaEval = exports['opa_eval'];
  if (!((sdk.minorVersion as number) >= 2) || typeof opaEval !== 'function') {
    if (inputJson === undefined) return sdk.evaluate(undefined, entrypoint);
    const bytes = utf8Encoder.encode(inputJson.join(''));
    return sdk.evaluate(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), entrypoint);
  }
  const entrypoints = sdk.entrypoints as Record<string, number>;
  if (!Object.hasOwn(entrypoints, entrypoint))
    throw new Error(`entrypoint ${entrypoint} is not valid in this instance`);
  const entrypointId = entrypoints[entrypoint]!;
  const inputAddr = sdk.dataHeapPtr as number;
  let inputLength = 0;
  if (inputJson !== undefined) {
    let written = writePieces(inputJson, new Uint8Array(sdk.mem.buffer, inputAddr));
    if (written < 0) {
      // Too little memory left above the data: grow (a RangeError past policy.limits.memoryMiB), write again.
      const bytes = inputJson.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0);
      sdk.mem.grow(Math.ceil((inputAddr + bytes - sdk.mem.buffer.byteLength) / WASM_PAGE_BYTES));
      written = writePieces(inputJson, new Uint8Array(sdk.mem.buffer, inputAddr));
    }
    inputLength = written;
  }
  const resultAddr = (opaEval as (...args: number[]) => number)(
    0,
    entrypointId,
    sdk.dataAddr,
    inputAddr,
    inputLength,
    inputAddr + inputLength,
    0,
  );
  const memory = new Uint8Array(sdk.mem.buffer);
  const end = memory.indexOf(0, resultAddr);
  return JSON.parse(utf8Decoder.decode(memory.subarray(resultAddr, end))) as unknown;
}

/** UTF-8 of the pieces one after the other into `target`; the bytes written, or -1 when they do not fit. */
function writePieces(pieces: readonly string[], target: Uint8Array): number {
  let at = 0;
  for (const piece of pieces) {
    const { read, written } = utf8Encoder.encodeInto(piece, target.subarray(at));
    if (read < piece.length) return -1;
    at += written;
  }
  return at;
}

function setFuelBudget(sdk: SdkPolicy, fuel: number): void {
  const budget = fuelGlobal(sdk, FUEL_BUDGET_EXPORT);
  if (budget !== undefined) budget.value = fuel;
}

function fuelGlobal(sdk: SdkPolicy, name: string): WebAssembly.Global | undefined {
  const instance = sdk.wasmInstance as WebAssembly.Instance;
  const exported = instance.exports[name];
  return exported instanceof WebAssembly.Global ? exported : undefined;
}

/** The SDK throws strings (opa_abort's message) as well as Errors. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
