// The emitter's stages, in the order they run (EMIT_STAGES). Each is a small function over the shared emit
// context (./context.ts) that reads what the stages before it filled in, so a stage can be timed
// (EmitOptions.onStage), skipped (the fuel stages when fuel is off) and run alone in a test. The order is part
// of the output: globals, imports and functions are numbered in the order the stages add them.
import binaryen from 'binaryen';
import type { Block } from '../ir.js';
import { builtinSpec } from '../builtins/catalog.js';
import { builtinWireName } from '../builtins/index.js';
import { WasmEmitError } from './errors.js';
import { addFuelMeter, FUEL_EXHAUSTED_MESSAGE } from './fuel.js';
import {
  callRt,
  constGlobal,
  memoGlobals,
  nullaryCacheGlobal,
  byArgsCacheGlobal,
  type ConstantLayout,
  type EmitContext,
  type EmitOptions,
} from './context.js';
import { ABI_EXPORTS, MEMORY_NAME } from './runtime.js';
import { compileFunc, compilePlan } from './statements.js';

export interface EmitStage {
  readonly name: string;
  /** Whether the stage runs for these options; absent: always. */
  readonly when?: (options: EmitOptions) => boolean;
  readonly run: (m: EmitContext) => void;
}

const i32 = binaryen.i32;
const none = binaryen.none;
const CONST_SEGMENT = 'pc:constants';
const fuelOn = (options: EmitOptions): boolean => options.fuel !== false;

/** Refuses constants that are not JSON texts before anything is built from them. */
function checkConstants(m: EmitContext): void {
  m.policy.constants.forEach((text, i) => {
    try {
      JSON.parse(text);
    } catch {
      throw new WasmEmitError('bad-ir', `constant ${i} is not JSON text: ${text.slice(0, 80)}`);
    }
  });
}

function collectCalls(blocks: Block[], into: Set<string>): void {
  for (const block of blocks) {
    for (const stmt of block.stmts) {
      if (stmt.op === 'call') into.add(stmt.func);
      else if (stmt.op === 'scan' || stmt.op === 'not') collectCalls([stmt.block], into);
      else if (stmt.op === 'blocks') collectCalls(stmt.blocks, into);
    }
  }
}

/**
 * Builtins the runtime lacks go through the SDK's opa_builtinN imports, numbered (in name order) in the
 * builtins() table; argument-less ones get a global that caches their answer for one evaluation.
 */
function numberBuiltins(m: EmitContext): void {
  const called = new Set<string>();
  for (const fn of m.policy.funcs) collectCalls(fn.blocks, called);
  for (const plan of m.policy.plans) collectCalls(plan.blocks, called);
  for (const name of [...called].sort()) {
    const lowering = builtinSpec(name)?.lowering;
    if (m.funcs.has(name) || lowering === undefined || lowering === 'native') continue;
    const id = m.jsBuiltins.size;
    m.jsBuiltins.set(name, id);
    m.builtinTable[lowering === 'host' ? name : builtinWireName(name)] = id;
  }
  m.nullaryIds = [...m.jsBuiltins].filter(([name]) => builtinSpec(name)?.arity === 0).map(([, id]) => id);
  for (const id of m.nullaryIds) m.mod.addGlobal(nullaryCacheGlobal(id), i32, true, m.mod.i32.const(0));
  m.byArgsIds = [...m.jsBuiltins]
    .filter(([name]) => builtinSpec(name)?.perEvaluation !== undefined)
    .map(([, id]) => id);
  for (const id of m.byArgsIds) m.mod.addGlobal(byArgsCacheGlobal(id), i32, true, m.mod.i32.const(0));
}

/** Every constant's text (the policy's, then the two ABI tables and the fuel message) and its global. */
function layoutConstants(m: EmitContext): void {
  const entrypointTable: Record<string, number> = {};
  m.policy.plans.forEach((plan, i) => (entrypointTable[plan.name] = i));
  m.texts = [
    ...m.policy.constants,
    JSON.stringify(m.builtinTable),
    JSON.stringify(entrypointTable),
    JSON.stringify(FUEL_EXHAUSTED_MESSAGE),
  ];
  m.builtinsConst = m.policy.constants.length;
  m.entrypointsConst = m.builtinsConst + 1;
  m.fuelMessage = m.builtinsConst + 2;
  m.texts.forEach((_, i) => m.mod.addGlobal(constGlobal(m, i), i32, true, m.mod.i32.const(0)));
}

/** The fuel counter and budget (./fuel.ts); the statement compiler charges steps through it. */
function meterFuel(m: EmitContext): void {
  m.fuel = addFuelMeter(m.mod);
}

/** Memo slots for functions of (input, data) only: they run once per evaluation. */
function allocateMemos(m: EmitContext): void {
  const memoized = m.policy.funcs.filter((fn) => fn.memoize);
  memoized.forEach((_, i) => {
    const { done, value } = memoGlobals(i);
    m.mod.addGlobal(done, i32, true, m.mod.i32.const(0));
    m.mod.addGlobal(value, i32, true, m.mod.i32.const(0));
  });
  m.memoIndex = new Map(memoized.map((fn, i) => [fn.name, i]));
}

function emitFunctions(m: EmitContext): void {
  for (const fn of m.policy.funcs) compileFunc(m, fn, m.memoIndex.get(fn.name));
}

function emitPlans(m: EmitContext): void {
  m.planNames = m.policy.plans.map((plan, i) => compilePlan(m, plan, i));
}

/** Replaces a `portcullis.*` import of the runtime with a definition. */
function defineHook(m: EmitContext, base: string, params: number[], result: number, body: number): void {
  const name = m.rt.hooks.get(base);
  if (!name)
    throw new WasmEmitError('runtime-missing', `the policy runtime lacks the portcullis.${base} hook; rebuild it`);
  m.mod.removeFunction(name);
  m.mod.addFunction(name, binaryen.createType(params), result, [], body);
}

/** The runtime's `portcullis.*` imports (dispatch, reset, builtins, entrypoints), defined for this policy. */
function defineHooks(m: EmitContext): void {
  const { mod, fuel } = m;
  // dispatch(ep, input, data): run the entrypoint's plan; an unknown id yields an empty result set.
  defineHook(
    m,
    'dispatch',
    [i32, i32, i32],
    none,
    mod.block(
      null,
      m.planNames.map((name, i) =>
        mod.if(
          mod.i32.eq(mod.local.get(0, i32), mod.i32.const(i)),
          mod.call(name, [mod.local.get(1, i32), mod.local.get(2, i32)], none),
        ),
      ),
    ),
  );
  defineHook(
    m,
    'reset',
    [],
    none,
    mod.block(null, [
      ...(fuel === undefined ? [] : [fuel.refill()]),
      ...[...m.memoIndex.values()].map((i) => mod.global.set(memoGlobals(i).done, mod.i32.const(0))),
      ...m.nullaryIds.map((id) => mod.global.set(nullaryCacheGlobal(id), mod.i32.const(0))),
      ...m.byArgsIds.map((id) => mod.global.set(byArgsCacheGlobal(id), mod.i32.const(0))),
    ]),
  );
  defineHook(m, 'builtins', [], i32, mod.global.get(constGlobal(m, m.builtinsConst), i32));
  defineHook(m, 'entrypoints', [], i32, mod.global.get(constGlobal(m, m.entrypointsConst), i32));
}

function encodeConstants(texts: string[]): ConstantLayout {
  const encoder = new TextEncoder();
  const parts = texts.map((t) => encoder.encode(t));
  const offsets: number[] = [];
  const lengths: number[] = [];
  let total = 0;
  for (const p of parts) {
    offsets.push(total);
    lengths.push(p.length);
    total += p.length;
  }
  const bytes = new Uint8Array(Math.max(total, 1));
  parts.forEach((p, i) => bytes.set(p, offsets[i]));
  return { bytes, offsets, lengths };
}

/** Memory: keep the runtime's static data, add the constants as one passive segment. */
function layoutMemory(m: EmitContext): void {
  const { mod } = m;
  m.constants = encodeConstants(m.texts);
  const segments: binaryen.MemorySegment[] = [];
  // binaryen.js has these at runtime; its typings lack them.
  const dataApi = mod as unknown as {
    getNumDataSegments(): number;
    getDataSegmentInfo(ref: number): { name: string; offset: number; data: ArrayBuffer; passive: boolean };
  };
  for (let i = 0; i < dataApi.getNumDataSegments(); i++) {
    const info = dataApi.getDataSegmentInfo(mod.getDataSegmentByIndex(i));
    segments.push({
      name: `rt:${info.name}`,
      offset: mod.i32.const(info.offset),
      data: new Uint8Array(info.data),
      passive: false,
    } as binaryen.MemorySegment);
  }
  segments.push({ name: CONST_SEGMENT, offset: 0, data: m.constants.bytes, passive: true } as binaryen.MemorySegment);
  mod.setMemory(1, -1, null, segments, false, false, MEMORY_NAME);
  mod.addMemoryImport(MEMORY_NAME, 'env', 'memory');
}

/**
 * The start function: the runtime's own initialisation, then every constant copied into the heap and parsed
 * once. They sit below the heap base the SDK captures after instantiation and live for the module's lifetime,
 * whatever their size (a passive segment needs no memory beyond what the start function grows).
 */
function emitStart(m: EmitContext): void {
  const { mod } = m;
  const constants = m.constants;
  if (constants === undefined) throw new WasmEmitError('bad-ir', 'emitStart ran before layoutMemory');
  const base = 0; // wasm local index in the start function
  const oldStart = mod.getStart();
  const init: number[] = [];
  if (oldStart) init.push(mod.call(binaryen.getFunctionInfo(oldStart).name, [], none));
  init.push(mod.local.set(base, callRt(m, 'opa_malloc', [mod.i32.const(constants.bytes.length)])));
  init.push(
    mod.memory.init(
      CONST_SEGMENT,
      mod.local.get(base, i32),
      mod.i32.const(0),
      mod.i32.const(constants.bytes.length),
      MEMORY_NAME,
    ),
  );
  init.push(mod.data.drop(CONST_SEGMENT));
  m.texts.forEach((_, i) => {
    init.push(
      mod.global.set(
        constGlobal(m, i),
        callRt(m, 'opa_json_parse', [
          mod.i32.add(mod.local.get(base, i32), mod.i32.const(constants.offsets[i] ?? 0)),
          mod.i32.const(constants.lengths[i] ?? 0),
        ]),
      ),
    );
  });
  const start = mod.addFunction('pc:start', none, none, [i32], mod.block(null, init));
  mod.setStart(start);
}

/** Drops every runtime export the SDK does not call. */
function pruneExports(m: EmitContext): void {
  for (let i = m.mod.getNumExports() - 1; i >= 0; i--) {
    const info = binaryen.getExportInfo(m.mod.getExportByIndex(i));
    if (!ABI_EXPORTS.has(info.name)) m.mod.removeExport(info.name);
  }
}

/** The fuel budget and counter, exported after the pruning so the host can set and read them. */
function exportFuel(m: EmitContext): void {
  m.fuel?.exportGlobals();
}

function validate(m: EmitContext): void {
  if (!m.mod.validate())
    throw new WasmEmitError('invalid-module', 'the emitted module does not validate (a compiler bug)');
}

/**
 * The runtime arrives optimized (asc -O3). The added functions are left as emitted: measured on the RBAC
 * bench policy, binaryen -O2 on them cost ~250 ms per compile (a whole-module -O2 about a second) and
 * changed neither evaluation latency (V8's optimizing tier compiles the module anyway) nor size by more than
 * 6%; a lighter hand-picked pass list even made evaluation twice slower. Unused runtime code (builtins the
 * policy never calls) is still dropped.
 */
function optimize(m: EmitContext): void {
  m.mod.runPasses(['remove-unused-module-elements']);
}

function serialize(m: EmitContext): void {
  m.binary = m.mod.emitBinary();
}

export const EMIT_STAGES: readonly EmitStage[] = [
  { name: 'checkConstants', run: checkConstants },
  { name: 'numberBuiltins', run: numberBuiltins },
  { name: 'layoutConstants', run: layoutConstants },
  { name: 'meterFuel', when: fuelOn, run: meterFuel },
  { name: 'allocateMemos', run: allocateMemos },
  { name: 'emitFunctions', run: emitFunctions },
  { name: 'emitPlans', run: emitPlans },
  { name: 'defineHooks', run: defineHooks },
  { name: 'layoutMemory', run: layoutMemory },
  { name: 'emitStart', run: emitStart },
  { name: 'pruneExports', run: pruneExports },
  { name: 'exportFuel', when: fuelOn, run: exportFuel },
  { name: 'validate', run: validate },
  { name: 'optimize', run: optimize },
  { name: 'serialize', run: serialize },
];
