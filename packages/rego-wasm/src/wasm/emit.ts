// IR -> Wasm. The policy's functions are added to the precompiled AssemblyScript runtime (values, JSON,
// builtins, the ABI exports) with binaryen, so one module carries both and binaryen optimizes across them.
//
// Shape of the output
// - Each IR Func becomes `pc:f:<name>` (i32 params, i32 result); each Plan `pc:p:<index>` (input, data).
// - IR Blocks are wasm `block`s; a failing statement is a `br_if` to the innermost block's end; `scan` is a
//   loop over the collection's elements by index (objects and sets are kept sorted, so that is Rego order).
// - Constants are JSON texts in one passive data segment, copied into the heap and parsed once by the start
//   function: they sit below the heap base the SDK captures after instantiation and live for the module's
//   lifetime, whatever their size (a passive segment needs no memory beyond what the start function grows).
// - The runtime's `portcullis.*` imports (dispatch, reset, builtins, entrypoints) are replaced by
//   definitions for this policy.
// - Fuel (./fuel.ts): each `scan` iteration and function entry charges one step of a per-evaluation budget.
import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';
import { type Block, type Func, type Operand, type Plan, type Policy, type Stmt } from '../ir.js';
import { WasmEmitError } from './errors.js';
import {
  addFuelMeter,
  FUEL_EXHAUSTED_MESSAGE,
  SCAN_ELEMENTS_PER_STEP_SHIFT,
  SCANNING_BUILTINS,
  type FuelMeter,
} from './fuel.js';
import { builtinSpec } from '../builtins/catalog.js';
import { builtinWireName } from '../builtins/index.js';

const RUNTIME_URL = new URL('../../dist/runtime/runtime.wasm', import.meta.url);
/** binaryen's name for an imported memory read from a binary without a name section. */
const MEMORY_NAME = 'mimport$0';
const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt;
const CONST_SEGMENT = 'pc:constants';
const NULLARY_CACHE = 'pc:nullary:';

/** Exports the SDK (or the older ctx API) uses; every other runtime export is internal and gets dropped. */
const ABI_EXPORTS = new Set([
  'opa_malloc',
  'opa_free',
  'opa_json_parse',
  'opa_value_parse',
  'opa_json_dump',
  'opa_value_dump',
  'opa_heap_ptr_get',
  'opa_heap_ptr_set',
  'opa_eval',
  'builtins',
  'entrypoints',
  'opa_eval_ctx_new',
  'opa_eval_ctx_set_input',
  'opa_eval_ctx_set_data',
  'opa_eval_ctx_set_entrypoint',
  'opa_eval_ctx_get_result',
  'eval',
  'opa_wasm_abi_version',
  'opa_wasm_abi_minor_version',
]);

/** Type tags of the runtime's value model (src/runtime/assembly/value.ts). */
const TYPE_TAGS: Record<string, number> = { null: 1, boolean: 2, number: 3, string: 4, array: 5, object: 6, set: 7 };

let runtimeBytes: Uint8Array | undefined;

function loadRuntime(): Uint8Array {
  if (runtimeBytes) return runtimeBytes;
  try {
    runtimeBytes = new Uint8Array(readFileSync(RUNTIME_URL));
  } catch (err) {
    throw new WasmEmitError(
      'runtime-missing',
      `the policy runtime ${RUNTIME_URL.pathname} is missing (${(err as Error).message}); run \`npm run build\``,
    );
  }
  return runtimeBytes;
}

const i32 = binaryen.i32;
const none = binaryen.none;

interface RuntimeNames {
  /** export name -> internal function name */
  exports: Map<string, string>;
  /** `portcullis.*` import base -> internal function name */
  hooks: Map<string, string>;
  /** `env.*` function import base -> internal function name */
  env: Map<string, string>;
}

function indexRuntime(mod: binaryen.Module): RuntimeNames {
  const exports = new Map<string, string>();
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (info.kind === binaryen.ExternalFunction) exports.set(info.name, info.value);
  }
  const hooks = new Map<string, string>();
  const env = new Map<string, string>();
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module === 'portcullis' && info.base) hooks.set(info.base, info.name);
    if (info.module === 'env' && info.base) env.set(info.base, info.name);
  }
  return { exports, hooks, env };
}

/** Everything the statement compiler needs about the module being built. */
interface ModuleContext {
  mod: binaryen.Module;
  rt: RuntimeNames;
  constGlobal: (index: number) => string;
  funcs: Map<string, Func>;
  /** JS builtins (called through opa_builtinN): Rego name -> id in the builtins() table */
  jsBuiltins: Map<string, number>;
  builtinImport: (arity: number) => string;
  /** undefined when the module is emitted without fuel checks */
  fuel: FuelMeter | undefined;
  /** constant index of the message an evaluation aborts with when its fuel runs out */
  fuelMessage: number;
}

export interface EmitOptions {
  /** emit fuel checks (default true); false only to measure what they cost */
  fuel?: boolean;
}

/** Per-function state: wasm local numbering, the label stack of enclosing IR Blocks, temporaries. */
class FunctionContext {
  private readonly labels: string[] = [];
  private nextLabel = 0;
  readonly extraLocals: number[] = [];

  constructor(
    readonly m: ModuleContext,
    /** wasm index of IR local 0 */
    private readonly localBase: number,
    private readonly numIrLocals: number,
    readonly funcName: string,
  ) {}

  local(irLocal: number): number {
    if (!Number.isInteger(irLocal) || irLocal < 0 || irLocal >= this.numIrLocals) {
      throw new WasmEmitError('bad-ir', `${this.funcName}: local ${irLocal} is outside 0..${this.numIrLocals - 1}`);
    }
    return this.localBase + irLocal;
  }

  temp(): number {
    const index = this.localBase + this.numIrLocals + this.extraLocals.length;
    this.extraLocals.push(i32);
    return index;
  }

  /** A label for wasm control flow that is not an IR Block (so `break` and failures do not count it). */
  freshLabel(): string {
    return `l${this.nextLabel++}`;
  }

  pushLabel(): string {
    const label = `b${this.nextLabel++}`;
    this.labels.push(label);
    return label;
  }

  popLabel(): void {
    this.labels.pop();
  }

  /** The label a failing statement branches to (the end of the innermost enclosing Block). */
  failLabel(): string {
    const label = this.labels[this.labels.length - 1];
    if (label === undefined) throw new WasmEmitError('bad-ir', `${this.funcName}: a statement outside any Block`);
    return label;
  }

  breakLabel(index: number): string {
    const label = this.labels[this.labels.length - 1 - index];
    if (label === undefined) {
      throw new WasmEmitError('bad-ir', `${this.funcName}: break ${index} leaves more Blocks than enclose it`);
    }
    return label;
  }
}

function runtimeFn(m: ModuleContext, exportName: string): string {
  const name = m.rt.exports.get(exportName);
  if (!name) throw new WasmEmitError('runtime-missing', `the policy runtime lacks ${exportName}; rebuild it`);
  return name;
}

function callRt(m: ModuleContext, exportName: string, args: number[], result = i32): number {
  return m.mod.call(runtimeFn(m, exportName), args, result);
}

function operand(f: FunctionContext, op: Operand): number {
  if (op.kind === 'local') return f.m.mod.local.get(f.local(op.local), i32);
  return f.m.mod.global.get(f.m.constGlobal(op.index), i32);
}

function abortWith(f: FunctionContext, message: number): number {
  const { mod } = f.m;
  return mod.block(null, [
    callRt(f.m, 'rt_abort', [mod.global.get(f.m.constGlobal(message), i32)], none),
    mod.unreachable(),
  ]);
}

/** One step of the evaluation's fuel (nothing when the module is emitted without fuel checks). */
function chargeFuel(f: FunctionContext): number {
  const { mod, fuel, fuelMessage } = f.m;
  return fuel === undefined ? mod.nop() : fuel.charge(abortWith(f, fuelMessage));
}

/** The steps of a scanning native builtin (fuel.ts): its collection's length per SCAN_ELEMENTS_PER_STEP. */
function chargeScan(f: FunctionContext, builtin: string, args: Operand[]): number {
  const { mod, fuel, fuelMessage } = f.m;
  const spec = SCANNING_BUILTINS[builtin];
  const arg = spec === undefined ? undefined : args[spec.arg];
  if (fuel === undefined || spec === undefined || arg === undefined) return mod.nop();
  let steps = mod.i32.shr_u(callRt(f.m, 'rt_len', [operand(f, arg)]), mod.i32.const(SCAN_ELEMENTS_PER_STEP_SHIFT));
  if (spec.setIsLookup) {
    const isSet = callRt(f.m, 'rt_has_type', [operand(f, arg), mod.i32.const(TYPE_TAGS['set'] ?? 0)]);
    steps = mod.select(isSet, mod.i32.const(0), steps);
  }
  return fuel.charge(abortWith(f, fuelMessage), steps);
}

/** target := value, failing (and leaving target as it was) when value is undefined. */
function setOrFail(f: FunctionContext, target: number, value: number): number {
  const { mod } = f.m;
  const tmp = f.temp();
  return mod.block(null, [
    mod.local.set(tmp, value),
    mod.br(f.failLabel(), mod.i32.eqz(mod.local.get(tmp, i32))),
    mod.local.set(f.local(target), mod.local.get(tmp, i32)),
  ]);
}

function compileBlock(f: FunctionContext, block: Block, trailer: number[] = []): number {
  const label = f.pushLabel();
  const body = block.stmts.map((s) => compileStmt(f, s));
  f.popLabel();
  return f.m.mod.block(label, [...body, ...trailer]);
}

function compileCall(f: FunctionContext, stmt: Extract<Stmt, { op: 'call' }>): number {
  const { mod } = f.m;
  // Fresh expression nodes for each use: binaryen trees must not share nodes.
  const argExprs = (): number[] => stmt.args.map((a) => operand(f, a));
  const args = argExprs();
  // A call with an undefined argument is undefined (the planner should not produce one, but be safe).
  const guards = stmt.args
    .filter((a): a is Extract<Operand, { kind: 'local' }> => a.kind === 'local')
    .map((a) => mod.br(f.failLabel(), mod.i32.eqz(mod.local.get(f.local(a.local), i32))));
  let call: number;
  const userFunc = f.m.funcs.get(stmt.func);
  if (userFunc) {
    if (userFunc.params.length !== args.length) {
      throw new WasmEmitError(
        'bad-ir',
        `${f.funcName}: ${stmt.func} takes ${userFunc.params.length} arguments, got ${args.length}`,
      );
    }
    call = mod.call(funcName(stmt.func), args, i32);
  } else {
    const spec = builtinSpec(stmt.func);
    if (spec === undefined) throw new WasmEmitError('bad-ir', `${f.funcName}: unknown function ${stmt.func}`);
    const arity = spec.arity;
    if (arity !== args.length) {
      throw new WasmEmitError(
        'bad-ir',
        `${f.funcName}: builtin ${stmt.func} takes ${arity} arguments, got ${args.length}`,
      );
    }
    if (spec.lowering === 'native') {
      const native = nativeExport(stmt.func);
      if (!f.m.rt.exports.has(native))
        throw new WasmEmitError('bad-ir', `the runtime lacks ${native} for ${stmt.func}`);
      // After the guards: an undefined argument has failed the statement before its length is read.
      guards.push(chargeScan(f, stmt.func, stmt.args));
      call = callRt(f.m, native, args);
    } else {
      const id = f.m.jsBuiltins.get(stmt.func);
      if (id === undefined) throw new WasmEmitError('bad-ir', `builtin ${stmt.func} was not registered`);
      if (spec.lowering === 'host') {
        call = mod.call(f.m.builtinImport(arity), [mod.i32.const(id), mod.i32.const(0), ...args], i32);
      } else {
        // The builtin wire (builtins/wire.ts): each argument as one exact text, the result parsed back, so
        // big integers, sets and non-string keys cross the SDK's JSON unchanged.
        const texts = argExprs().map((a) => callRt(f.m, 'rt_wire_dump', [a]));
        const raw = f.temp();
        call = mod.block(
          null,
          [
            mod.local.set(
              raw,
              mod.call(f.m.builtinImport(arity), [mod.i32.const(id), mod.i32.const(0), ...texts], i32),
            ),
            mod.if(mod.local.get(raw, i32), callRt(f.m, 'rt_wire_parse', [mod.local.get(raw, i32)]), mod.i32.const(0)),
          ],
          i32,
        );
      }
      const fast = fastPathExport(stmt.func);
      if (spec.fastPath === true) {
        if (!f.m.rt.exports.has(fast)) throw new WasmEmitError('bad-ir', `the runtime lacks ${fast} for ${stmt.func}`);
        // The runtime's fast path answers the common case; 0 means "ask the JS implementation".
        const tmp = f.temp();
        call = mod.block(
          null,
          [
            mod.local.set(tmp, callRt(f.m, fast, argExprs())),
            mod.if(mod.i32.eqz(mod.local.get(tmp, i32)), mod.local.set(tmp, call)),
            mod.local.get(tmp, i32),
          ],
          i32,
        );
      }
      if (arity === 0) {
        // Argument-less builtins (time.now_ns) answer once per evaluation, as OPA caches them per query.
        const slot = `${NULLARY_CACHE}${id}`;
        call = mod.block(
          null,
          [mod.if(mod.i32.eqz(mod.global.get(slot, i32)), mod.global.set(slot, call)), mod.global.get(slot, i32)],
          i32,
        );
      }
    }
  }
  return mod.block(null, [...guards, setOrFail(f, stmt.target, call)]);
}

function compileStmt(f: FunctionContext, stmt: Stmt): number {
  const { mod } = f.m;
  const fail = (cond: number): number => mod.br(f.failLabel(), cond);
  switch (stmt.op) {
    case 'assign':
      return mod.local.set(f.local(stmt.target), operand(f, stmt.source));
    case 'reset':
      return mod.local.set(f.local(stmt.target), mod.i32.const(0));
    case 'assignOnce': {
      const target = f.local(stmt.target);
      return mod.if(
        mod.i32.eqz(mod.local.get(target, i32)),
        mod.local.set(target, operand(f, stmt.source)),
        mod.if(
          mod.i32.eqz(callRt(f.m, 'rt_equal', [mod.local.get(target, i32), operand(f, stmt.source)])),
          abortWith(f, stmt.message),
        ),
      );
    }
    case 'dot':
      return setOrFail(f, stmt.target, callRt(f.m, 'rt_dot', [operand(f, stmt.source), operand(f, stmt.key)]));
    case 'scan': {
      // Iterate over a snapshot of the source local, so rebinding it inside the body cannot derail the loop.
      const src = f.temp();
      const i = f.temp();
      const n = f.temp();
      const exit = f.freshLabel();
      const loop = f.freshLabel();
      const body = compileBlock(f, stmt.block);
      return mod.block(exit, [
        mod.local.set(src, mod.local.get(f.local(stmt.source), i32)),
        mod.local.set(n, callRt(f.m, 'rt_len', [mod.local.get(src, i32)])),
        mod.local.set(i, mod.i32.const(0)),
        mod.loop(
          loop,
          mod.block(null, [
            mod.br(exit, mod.i32.ge_u(mod.local.get(i, i32), mod.local.get(n, i32))),
            chargeFuel(f),
            mod.local.set(
              f.local(stmt.key),
              callRt(f.m, 'rt_iter_key', [mod.local.get(src, i32), mod.local.get(i, i32)]),
            ),
            mod.local.set(
              f.local(stmt.value),
              callRt(f.m, 'rt_iter_value', [mod.local.get(src, i32), mod.local.get(i, i32)]),
            ),
            body,
            mod.local.set(i, mod.i32.add(mod.local.get(i, i32), mod.i32.const(1))),
            mod.br(loop),
          ]),
        ),
      ]);
    }
    case 'not': {
      // Reaching the end of the body means the negated expression held: `not` fails.
      const outerFail = f.failLabel();
      return compileBlock(f, stmt.block, [mod.br(outerFail)]);
    }
    case 'blocks':
      return mod.block(
        null,
        stmt.blocks.map((b) => compileBlock(f, b)),
      );
    case 'break':
      return mod.br(f.breakLabel(stmt.index));
    case 'call':
      return compileCall(f, stmt);
    case 'equal':
      return fail(mod.i32.eqz(callRt(f.m, 'rt_equal', [operand(f, stmt.a), operand(f, stmt.b)])));
    case 'notEqual':
      return fail(callRt(f.m, 'rt_equal', [operand(f, stmt.a), operand(f, stmt.b)]));
    case 'notFalse':
      return fail(callRt(f.m, 'rt_is_false', [operand(f, stmt.source)]));
    case 'isDefined':
      return fail(mod.i32.eqz(mod.local.get(f.local(stmt.source), i32)));
    case 'isUndefined':
      return fail(mod.local.get(f.local(stmt.source), i32));
    case 'isType': {
      const tag = TYPE_TAGS[stmt.type];
      if (tag === undefined) throw new WasmEmitError('bad-ir', `${f.funcName}: unknown type ${stmt.type}`);
      return fail(mod.i32.eqz(callRt(f.m, 'rt_has_type', [operand(f, stmt.source), mod.i32.const(tag)])));
    }
    case 'lenEqual':
      return fail(mod.i32.eqz(callRt(f.m, 'rt_len_equal', [operand(f, stmt.source), mod.i32.const(stmt.length)])));
    case 'makeArray':
      return mod.local.set(
        f.local(stmt.target),
        callRt(f.m, 'rt_new_array', [mod.i32.const(Math.max(0, stmt.capacity))]),
      );
    case 'makeObject':
      return mod.local.set(f.local(stmt.target), callRt(f.m, 'rt_new_object', []));
    case 'makeSet':
      return mod.local.set(f.local(stmt.target), callRt(f.m, 'rt_new_set', []));
    case 'arrayAppend':
      return callRt(f.m, 'rt_array_append', [mod.local.get(f.local(stmt.array), i32), operand(f, stmt.value)], none);
    case 'setAdd':
      return callRt(f.m, 'rt_set_add', [mod.local.get(f.local(stmt.set), i32), operand(f, stmt.value)], none);
    case 'objectInsert':
      return callRt(
        f.m,
        'rt_object_insert',
        [mod.local.get(f.local(stmt.object), i32), operand(f, stmt.key), operand(f, stmt.value)],
        none,
      );
    case 'objectInsertOnce':
      return mod.if(
        callRt(f.m, 'rt_object_insert_once', [
          mod.local.get(f.local(stmt.object), i32),
          operand(f, stmt.key),
          operand(f, stmt.value),
        ]),
        abortWith(f, stmt.message),
      );
    case 'objectUpsert':
      return mod.local.set(
        f.local(stmt.target),
        callRt(f.m, 'rt_object_upsert', [operand(f, stmt.source), operand(f, stmt.key), operand(f, stmt.value)]),
      );
    case 'objectMerge':
      return setOrFail(f, stmt.target, callRt(f.m, 'rt_object_merge', [operand(f, stmt.a), operand(f, stmt.b)]));
    case 'resultSetAdd':
      return callRt(f.m, 'rt_result_add', [mod.local.get(f.local(stmt.value), i32)], none);
    case 'abort':
      return abortWith(f, stmt.message);
  }
}

function funcName(irName: string): string {
  return `pc:f:${irName}`;
}

function nativeExport(builtin: string): string {
  return `b_${builtin.replace(/\./g, '_')}`;
}

function fastPathExport(builtin: string): string {
  return `f_${builtin.replace(/\./g, '_')}`;
}

function compileFunc(m: ModuleContext, fn: Func, memoIndex: number | undefined): void {
  const { mod } = m;
  const nParams = fn.params.length;
  const f = new FunctionContext(m, nParams, fn.numLocals, fn.name);
  const prologue = [
    chargeFuel(f),
    ...fn.params.map((irLocal, i) => mod.local.set(f.local(irLocal), mod.local.get(i, i32))),
  ];
  const body = fn.blocks.map((b) => compileBlock(f, b));
  const result = mod.local.get(f.local(fn.result), i32);
  let stmts: number[];
  if (memoIndex === undefined) {
    stmts = [...prologue, ...body, mod.return(result)];
  } else {
    const done = `pc:memo:done:${memoIndex}`;
    const value = `pc:memo:value:${memoIndex}`;
    stmts = [
      mod.if(mod.global.get(done, i32), mod.return(mod.global.get(value, i32))),
      ...prologue,
      ...body,
      mod.global.set(value, result),
      mod.global.set(done, mod.i32.const(1)),
      mod.return(mod.global.get(value, i32)),
    ];
  }
  const vars = [...new Array<number>(fn.numLocals).fill(i32), ...f.extraLocals];
  mod.addFunction(
    funcName(fn.name),
    binaryen.createType(new Array<number>(nParams).fill(i32)),
    i32,
    vars,
    mod.block(null, stmts),
  );
}

function compilePlan(m: ModuleContext, plan: Plan, index: number): string {
  const { mod } = m;
  const numLocals = Math.max(plan.numLocals, 2);
  // Plan locals 0 and 1 are the wasm params (input, data) themselves.
  const f = new FunctionContext(m, 0, numLocals, `plan ${plan.name}`);
  const body = plan.blocks.map((b) => compileBlock(f, b));
  const name = `pc:p:${index}`;
  const vars = [...new Array<number>(numLocals - 2).fill(i32), ...f.extraLocals];
  mod.addFunction(name, binaryen.createType([i32, i32]), none, vars, mod.block(null, body));
  return name;
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

/** Replaces a `portcullis.*` import of the runtime with a definition. */
function defineHook(
  mod: binaryen.Module,
  rt: RuntimeNames,
  base: string,
  params: number[],
  result: number,
  body: number,
): void {
  const name = rt.hooks.get(base);
  if (!name)
    throw new WasmEmitError('runtime-missing', `the policy runtime lacks the portcullis.${base} hook; rebuild it`);
  mod.removeFunction(name);
  mod.addFunction(name, binaryen.createType(params), result, [], body);
}

function encodeConstants(texts: string[]): { bytes: Uint8Array; offsets: number[]; lengths: number[] } {
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

export function emitWasm(policy: Policy, options: EmitOptions = {}): Uint8Array {
  policy.constants.forEach((text, i) => {
    try {
      JSON.parse(text);
    } catch {
      throw new WasmEmitError('bad-ir', `constant ${i} is not JSON text: ${text.slice(0, 80)}`);
    }
  });
  const mod = binaryen.readBinary(loadRuntime());
  try {
    mod.setFeatures(FEATURES);
    const rt = indexRuntime(mod);
    return build(mod, rt, policy, options);
  } finally {
    mod.dispose();
  }
}

function build(mod: binaryen.Module, rt: RuntimeNames, policy: Policy, options: EmitOptions): Uint8Array {
  const funcs = new Map(policy.funcs.map((fn) => [fn.name, fn]));
  const called = new Set<string>();
  for (const fn of policy.funcs) collectCalls(fn.blocks, called);
  for (const plan of policy.plans) collectCalls(plan.blocks, called);

  // Builtins the runtime lacks go through the SDK's opa_builtinN imports, numbered in the builtins() table.
  const jsBuiltins = new Map<string, number>();
  const builtinTable: Record<string, number> = {};
  for (const name of [...called].sort()) {
    const lowering = builtinSpec(name)?.lowering;
    if (funcs.has(name) || lowering === undefined || lowering === 'native') continue;
    const id = jsBuiltins.size;
    jsBuiltins.set(name, id);
    builtinTable[lowering === 'host' ? name : builtinWireName(name)] = id;
  }
  const nullaryIds = [...jsBuiltins].filter(([name]) => builtinSpec(name)?.arity === 0).map(([, id]) => id);
  for (const id of nullaryIds) mod.addGlobal(`${NULLARY_CACHE}${id}`, i32, true, mod.i32.const(0));
  const entrypointTable: Record<string, number> = {};
  policy.plans.forEach((plan, i) => (entrypointTable[plan.name] = i));

  const texts = [
    ...policy.constants,
    JSON.stringify(builtinTable),
    JSON.stringify(entrypointTable),
    JSON.stringify(FUEL_EXHAUSTED_MESSAGE),
  ];
  const builtinsConst = policy.constants.length;
  const entrypointsConst = builtinsConst + 1;
  const fuelMessage = builtinsConst + 2;
  const constGlobal = (index: number): string => {
    if (!Number.isInteger(index) || index < 0 || index >= texts.length) {
      throw new WasmEmitError('bad-ir', `constant ${index} does not exist (policy has ${policy.constants.length})`);
    }
    return `pc:const:${index}`;
  };
  texts.forEach((_, i) => mod.addGlobal(constGlobal(i), i32, true, mod.i32.const(0)));

  const importedArities = new Set<number>();
  const builtinImport = (arity: number): string => {
    const existing = rt.env.get(`opa_builtin${arity}`);
    if (existing) return existing;
    const name = `pc:opa_builtin${arity}`;
    if (!importedArities.has(arity)) {
      importedArities.add(arity);
      mod.addFunctionImport(
        name,
        'env',
        `opa_builtin${arity}`,
        binaryen.createType(new Array<number>(arity + 2).fill(i32)),
        i32,
      );
    }
    return name;
  };

  const fuel = options.fuel === false ? undefined : addFuelMeter(mod);
  const m: ModuleContext = { mod, rt, constGlobal, funcs, jsBuiltins, builtinImport, fuel, fuelMessage };

  // Memo slots for functions of (input, data) only.
  const memoized = policy.funcs.filter((fn) => fn.memoize);
  memoized.forEach((_, i) => {
    mod.addGlobal(`pc:memo:done:${i}`, i32, true, mod.i32.const(0));
    mod.addGlobal(`pc:memo:value:${i}`, i32, true, mod.i32.const(0));
  });
  const memoIndex = new Map(memoized.map((fn, i) => [fn.name, i]));
  for (const fn of policy.funcs) compileFunc(m, fn, memoIndex.get(fn.name));
  const planNames = policy.plans.map((plan, i) => compilePlan(m, plan, i));

  // dispatch(ep, input, data): run the entrypoint's plan; an unknown id yields an empty result set.
  defineHook(
    mod,
    rt,
    'dispatch',
    [i32, i32, i32],
    none,
    mod.block(
      null,
      planNames.map((name, i) =>
        mod.if(
          mod.i32.eq(mod.local.get(0, i32), mod.i32.const(i)),
          mod.call(name, [mod.local.get(1, i32), mod.local.get(2, i32)], none),
        ),
      ),
    ),
  );
  defineHook(
    mod,
    rt,
    'reset',
    [],
    none,
    mod.block(null, [
      ...(fuel === undefined ? [] : [fuel.refill()]),
      ...memoized.map((_, i) => mod.global.set(`pc:memo:done:${i}`, mod.i32.const(0))),
      ...nullaryIds.map((id) => mod.global.set(`${NULLARY_CACHE}${id}`, mod.i32.const(0))),
    ]),
  );
  defineHook(mod, rt, 'builtins', [], i32, mod.global.get(constGlobal(builtinsConst), i32));
  defineHook(mod, rt, 'entrypoints', [], i32, mod.global.get(constGlobal(entrypointsConst), i32));

  // Memory: keep the runtime's static data, add the constants as a passive segment.
  const { bytes, offsets, lengths } = encodeConstants(texts);
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
  segments.push({ name: CONST_SEGMENT, offset: 0, data: bytes, passive: true } as binaryen.MemorySegment);
  mod.setMemory(1, -1, null, segments, false, false, MEMORY_NAME);
  mod.addMemoryImport(MEMORY_NAME, 'env', 'memory');

  // Start: the runtime's own initialisation, then parse every constant once.
  const base = 0; // wasm local index in the start function
  const oldStart = mod.getStart();
  const init: number[] = [];
  if (oldStart) init.push(mod.call(binaryen.getFunctionInfo(oldStart).name, [], none));
  init.push(mod.local.set(base, callRt(m, 'opa_malloc', [mod.i32.const(bytes.length)])));
  init.push(
    mod.memory.init(
      CONST_SEGMENT,
      mod.local.get(base, i32),
      mod.i32.const(0),
      mod.i32.const(bytes.length),
      MEMORY_NAME,
    ),
  );
  init.push(mod.data.drop(CONST_SEGMENT));
  texts.forEach((_, i) => {
    init.push(
      mod.global.set(
        constGlobal(i),
        callRt(m, 'opa_json_parse', [
          mod.i32.add(mod.local.get(base, i32), mod.i32.const(offsets[i] ?? 0)),
          mod.i32.const(lengths[i] ?? 0),
        ]),
      ),
    );
  });
  const start = mod.addFunction('pc:start', none, none, [i32], mod.block(null, init));
  mod.setStart(start);

  for (let i = mod.getNumExports() - 1; i >= 0; i--) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (!ABI_EXPORTS.has(info.name)) mod.removeExport(info.name);
  }
  fuel?.exportGlobals();

  if (!mod.validate())
    throw new WasmEmitError('invalid-module', 'the emitted module does not validate (a compiler bug)');
  // The runtime arrives optimized (asc -O3). The added functions are left as emitted: measured on the RBAC
  // bench policy, binaryen -O2 on them cost ~250 ms per compile (a whole-module -O2 about a second) and
  // changed neither evaluation latency (V8's optimizing tier compiles the module anyway) nor size by more
  // than 6%; a lighter hand-picked pass list even made evaluation twice slower. Unused runtime code
  // (builtins the policy never calls) is still dropped.
  mod.runPasses(['remove-unused-module-elements']);
  return mod.emitBinary();
}
