// The state the emitter's stages (./stages.ts) share: the module being built, the policy it is built from, and
// what earlier stages decided (builtin ids, constant layout, memo slots, plan functions). Each stage reads
// what the ones before it filled in; the accessors below refuse IR that refers to what does not exist.
import binaryen from 'binaryen';
import type { Func, Policy } from '../ir.js';
import { WasmEmitError } from './errors.js';
import type { FuelMeter } from './fuel.js';
import { indexRuntime, readRuntimeModule, type RuntimeNames } from './runtime.js';

export interface EmitOptions {
  /** emit fuel checks (default true); false only to measure what they cost */
  fuel?: boolean;
  /** called after each stage with its name and how long it ran (ms): for profiling a compile */
  onStage?: (stage: string, ms: number) => void;
}

/** Where the constants sit in the passive data segment the start function copies into the heap. */
export interface ConstantLayout {
  bytes: Uint8Array;
  offsets: number[];
  lengths: number[];
}

export interface EmitContext {
  readonly policy: Policy;
  readonly options: EmitOptions;
  readonly mod: binaryen.Module;
  readonly rt: RuntimeNames;
  /** the policy's functions by IR name */
  readonly funcs: Map<string, Func>;
  /** JS builtins (called through opa_builtinN): Rego name -> id in the builtins() table */
  readonly jsBuiltins: Map<string, number>;
  /** the builtins() table: wire name -> id */
  readonly builtinTable: Record<string, number>;
  /** ids of argument-less JS builtins, cached once per evaluation */
  nullaryIds: number[];
  /** ids of JS builtins OPA caches per query by argument (catalog `perEvaluation`), cached per evaluation */
  byArgsIds: number[];
  /** every constant's JSON text: the policy's, then the builtins and entrypoints tables and the fuel message */
  texts: string[];
  /** indexes into texts of the constants the emitter adds */
  builtinsConst: number;
  entrypointsConst: number;
  /** constant index of the message an evaluation aborts with when its fuel runs out */
  fuelMessage: number;
  /** arities whose opa_builtinN import this module added */
  readonly importedArities: Set<number>;
  /** undefined when the module is emitted without fuel checks */
  fuel: FuelMeter | undefined;
  /** memo slot of each function of (input, data) only */
  memoIndex: Map<string, number>;
  /** wasm name of each plan, by plan index */
  planNames: string[];
  constants: ConstantLayout | undefined;
  /** the serialized module, once the last stage ran */
  binary: Uint8Array | undefined;
}

/** A context around a fresh copy of the runtime; the caller disposes `mod`. */
export function createEmitContext(policy: Policy, options: EmitOptions): EmitContext {
  const mod = readRuntimeModule();
  return {
    policy,
    options,
    mod,
    rt: indexRuntime(mod),
    funcs: new Map(policy.funcs.map((fn) => [fn.name, fn])),
    jsBuiltins: new Map(),
    builtinTable: {},
    nullaryIds: [],
    byArgsIds: [],
    texts: [],
    builtinsConst: -1,
    entrypointsConst: -1,
    fuelMessage: -1,
    importedArities: new Set(),
    fuel: undefined,
    memoIndex: new Map(),
    planNames: [],
    constants: undefined,
    binary: undefined,
  };
}

const i32 = binaryen.i32;

/** The global that holds constant `index` once the start function parsed it. */
export function constGlobal(m: EmitContext, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= m.texts.length) {
    throw new WasmEmitError('bad-ir', `constant ${index} does not exist (policy has ${m.policy.constants.length})`);
  }
  return `pc:const:${index}`;
}

export function runtimeFn(m: EmitContext, exportName: string): string {
  const name = m.rt.exports.get(exportName);
  if (!name) throw new WasmEmitError('runtime-missing', `the policy runtime lacks ${exportName}; rebuild it`);
  return name;
}

export function callRt(m: EmitContext, exportName: string, args: number[], result: number = i32): number {
  return m.mod.call(runtimeFn(m, exportName), args, result);
}

/** The SDK's `env.opa_builtin<arity>` import, added the first time a builtin of that arity is called. */
export function builtinImport(m: EmitContext, arity: number): string {
  const existing = m.rt.env.get(`opa_builtin${arity}`);
  if (existing) return existing;
  const name = `pc:opa_builtin${arity}`;
  if (!m.importedArities.has(arity)) {
    m.importedArities.add(arity);
    m.mod.addFunctionImport(
      name,
      'env',
      `opa_builtin${arity}`,
      binaryen.createType(new Array<number>(arity + 2).fill(i32)),
      i32,
    );
  }
  return name;
}

/** The wasm name of an IR function. */
export function funcName(irName: string): string {
  return `pc:f:${irName}`;
}

/** The global caching argument-less JS builtin `id`'s answer for one evaluation (0: not asked yet). */
export function nullaryCacheGlobal(id: number): string {
  return `pc:nullary:${id}`;
}

/** The global holding JS builtin `id`'s answers by argument array for one evaluation (0: none yet). */
export function byArgsCacheGlobal(id: number): string {
  return `pc:byargs:${id}`;
}

/** The two globals of memo slot `index`: whether the function ran this evaluation, and its answer. */
export function memoGlobals(index: number): { done: string; value: string } {
  return { done: `pc:memo:done:${index}`, value: `pc:memo:value:${index}` };
}
