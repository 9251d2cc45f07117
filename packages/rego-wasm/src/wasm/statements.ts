// The statement compiler: IR functions and plans -> wasm functions in the module being built.
// - Each IR Func becomes `pc:f:<name>` (i32 params, i32 result); each Plan `pc:p:<index>` (input, data).
// - IR Blocks are wasm `block`s; a failing statement is a `br_if` to the innermost block's end; `scan` is a
//   loop over the collection's elements by index (objects and sets are kept sorted, so that is Rego order).
// - Fuel (./fuel.ts): each `scan` iteration and function entry charges one step of a per-evaluation budget,
//   when the emit context has a fuel meter.
import binaryen from 'binaryen';
import type { Block, Func, Operand, Plan, Stmt } from '../ir.js';
import { builtinSpec, type BuiltinSpec } from '../builtins/catalog.js';
import { WasmEmitError } from './errors.js';
import { SCAN_ELEMENTS_PER_STEP_SHIFT } from './fuel.js';
import {
  builtinImport,
  callRt,
  constGlobal,
  funcName,
  memoGlobals,
  nullaryCacheGlobal,
  byArgsCacheGlobal,
  type EmitContext,
} from './context.js';
import { fastPathExport, nativeExport, TYPE_TAGS } from './runtime.js';

const i32 = binaryen.i32;
const none = binaryen.none;

/** Per-function state: wasm local numbering, the label stack of enclosing IR Blocks, temporaries. */
class FunctionContext {
  private readonly labels: string[] = [];
  private nextLabel = 0;
  readonly extraLocals: number[] = [];

  constructor(
    readonly m: EmitContext,
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

function operand(f: FunctionContext, op: Operand): number {
  if (op.kind === 'local') return f.m.mod.local.get(f.local(op.local), i32);
  return f.m.mod.global.get(constGlobal(f.m, op.index), i32);
}

function abortWith(f: FunctionContext, message: number): number {
  const { mod } = f.m;
  return mod.block(null, [
    callRt(f.m, 'rt_abort', [mod.global.get(constGlobal(f.m, message), i32)], none),
    mod.unreachable(),
  ]);
}

/** One step of the evaluation's fuel (nothing when the module is emitted without fuel checks). */
function chargeFuel(f: FunctionContext): number {
  const { mod, fuel, fuelMessage } = f.m;
  return fuel === undefined ? mod.nop() : fuel.charge(abortWith(f, fuelMessage));
}

/** The steps of a scanning native builtin (its catalog `scans`): its collection's length per SCAN_ELEMENTS_PER_STEP. */
function chargeScan(f: FunctionContext, builtin: BuiltinSpec, args: Operand[]): number {
  const { mod, fuel, fuelMessage } = f.m;
  const spec = builtin.scans;
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
      guards.push(chargeScan(f, spec, stmt.args));
      call = callRt(f.m, native, args);
    } else {
      const id = f.m.jsBuiltins.get(stmt.func);
      if (id === undefined) throw new WasmEmitError('bad-ir', `builtin ${stmt.func} was not registered`);
      if (spec.lowering === 'host') {
        call = mod.call(builtinImport(f.m, arity), [mod.i32.const(id), mod.i32.const(0), ...args], i32);
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
              mod.call(builtinImport(f.m, arity), [mod.i32.const(id), mod.i32.const(0), ...texts], i32),
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
      if (spec.perEvaluation !== undefined)
        call = cachedByArguments(f, spec.perEvaluation.absoluteArgs, id, argExprs(), call);
      if (arity === 0) {
        // Argument-less builtins (time.now_ns) answer once per evaluation, as OPA caches them per query.
        const slot = nullaryCacheGlobal(id);
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

/**
 * The answer of a builtin OPA caches per query by argument (rand.intn, uuid.rfc4122): looked up in this
 * evaluation's cache first, the call's answer kept there. OPA keys rand.intn by the absolute bound, so
 * rand.intn(k, -n) and rand.intn(k, n) share one answer; a bound the runtime's f_abs does not answer (not a
 * machine integer, which rand.intn refuses anyway) leaves the key incomplete, and that call is not cached.
 */
function cachedByArguments(
  f: FunctionContext,
  absoluteArgs: readonly number[],
  id: number,
  args: number[],
  call: number,
): number {
  const { mod } = f.m;
  const slot = byArgsCacheGlobal(id);
  const key = f.temp();
  const complete = f.temp();
  const hit = f.temp();
  const keyArgs = args.map((a, i) => (absoluteArgs.includes(i) ? callRt(f.m, 'f_abs', [a]) : a));
  return mod.block(
    null,
    [
      mod.if(mod.i32.eqz(mod.global.get(slot, i32)), mod.global.set(slot, callRt(f.m, 'rt_new_object', []))),
      mod.local.set(key, callRt(f.m, 'rt_new_array', [mod.i32.const(args.length)])),
      ...keyArgs.map((a) => callRt(f.m, 'rt_array_append', [mod.local.get(key, i32), a], none)),
      mod.local.set(complete, mod.i32.eq(callRt(f.m, 'rt_len', [mod.local.get(key, i32)]), mod.i32.const(args.length))),
      mod.local.set(
        hit,
        mod.if(
          mod.local.get(complete, i32),
          callRt(f.m, 'rt_dot', [mod.global.get(slot, i32), mod.local.get(key, i32)]),
          mod.i32.const(0),
        ),
      ),
      mod.if(
        mod.i32.eqz(mod.local.get(hit, i32)),
        mod.block(null, [
          mod.local.set(hit, call),
          mod.if(
            mod.i32.and(mod.i32.ne(mod.local.get(hit, i32), mod.i32.const(0)), mod.local.get(complete, i32)),
            callRt(
              f.m,
              'rt_object_insert',
              [mod.global.get(slot, i32), mod.local.get(key, i32), mod.local.get(hit, i32)],
              none,
            ),
          ),
        ]),
      ),
      mod.local.get(hit, i32),
    ],
    i32,
  );
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

/** Adds the wasm function for an IR function; `memoIndex` is its memo slot when it depends on (input, data) only. */
export function compileFunc(m: EmitContext, fn: Func, memoIndex: number | undefined): void {
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
    const { done, value } = memoGlobals(memoIndex);
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

/** Adds the wasm function for plan `index` and returns its name. */
export function compilePlan(m: EmitContext, plan: Plan, index: number): string {
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
