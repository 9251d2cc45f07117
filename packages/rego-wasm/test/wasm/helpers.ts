// Terse builders for hand-written IR and a loader that runs the emitted module through the real SDK.
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import type { Block, Operand, Plan, Policy, Stmt, Func } from '../../src/ir.js';
import { emitWasm } from '../../src/wasm/emit.js';
import { customBuiltins } from '../../src/builtins/index.js';

export const L = (local: number): Operand => ({ kind: 'local', local });

/** Collects constants as JSON texts and hands out operands for them. */
export class Consts {
  readonly texts: string[] = [];
  /** A constant operand holding the JSON value v (or the JSON text when `raw`). */
  c(v: unknown, raw = false): Operand {
    const text = raw ? String(v) : JSON.stringify(v);
    let index = this.texts.indexOf(text);
    if (index < 0) {
      index = this.texts.length;
      this.texts.push(text);
    }
    return { kind: 'const', index };
  }
  /** Index of a string constant (for abort / conflict messages). */
  msg(text: string): number {
    const op = this.c(text);
    return op.kind === 'const' ? op.index : -1;
  }
}

export const block = (...stmts: Stmt[]): Block => ({ stmts });

export function plan(name: string, numLocals: number, ...blocks: Block[]): Plan {
  return { name, numLocals, blocks };
}

export function func(
  name: string,
  params: number[],
  result: number,
  numLocals: number,
  blocks: Block[],
  memoize = false,
): Func {
  return { name, params, result, numLocals, blocks, memoize };
}

export function policy(consts: Consts, plans: Plan[], funcs: Func[] = []): Policy {
  return { constants: consts.texts, plans, funcs };
}

export async function load(p: Policy) {
  const wasm = emitWasm(p);
  return loadPolicy(wasm, undefined, customBuiltins);
}

/**
 * A one-plan policy whose result is local `resultLocal` after running `stmts` (input = local 0, data = 1).
 * Returns the result set of evaluating it.
 */
export async function evalStmts(
  consts: Consts,
  numLocals: number,
  resultLocal: number,
  stmts: Stmt[],
  input?: unknown,
  data?: unknown,
  funcs: Func[] = [],
): Promise<unknown> {
  const p = policy(
    consts,
    [plan('t/p', numLocals, block(...stmts, { op: 'resultSetAdd', value: resultLocal }))],
    funcs,
  );
  const loaded = await load(p);
  if (data !== undefined) loaded.setData(data as object);
  return loaded.evaluate(input);
}

/** The single result's value, or undefined for an empty result set. */
export function only(rs: unknown): unknown {
  const arr = rs as { result: unknown }[];
  return arr.length === 0 ? undefined : arr[0]!.result;
}

/** A set argument for callBuiltins (constants are JSON, which has no sets). */
export class SetArg {
  constructor(readonly members: unknown[]) {}
}

/**
 * Evaluates many builtin calls with one emitted module (one plan per call) and returns each call's value,
 * or undefined when the call was undefined.
 */
export async function callBuiltins(calls: [string, unknown[]][]): Promise<unknown[]> {
  const c = new Consts();
  const plans = calls.map(([name, args], i) => {
    const stmts: Stmt[] = [];
    let next = 3;
    const hasSet = (v: unknown): boolean =>
      v instanceof SetArg || (typeof v === 'object' && v !== null && Object.values(v).some(hasSet));
    // Values containing sets are built with statements; everything else is a constant.
    const build = (v: unknown): Operand => {
      if (!hasSet(v)) return c.c(v);
      const local = next++;
      if (v instanceof SetArg) {
        stmts.push({ op: 'makeSet', target: local });
        for (const m of v.members) stmts.push({ op: 'setAdd', set: local, value: build(m) });
      } else if (Array.isArray(v)) {
        stmts.push({ op: 'makeArray', target: local, capacity: v.length });
        for (const m of v) stmts.push({ op: 'arrayAppend', array: local, value: build(m) });
      } else {
        stmts.push({ op: 'makeObject', target: local });
        for (const [k, m] of Object.entries(v as object))
          stmts.push({ op: 'objectInsert', object: local, key: c.c(k), value: build(m) });
      }
      return L(local);
    };
    const operands = args.map(build);
    stmts.push({ op: 'call', func: name, args: operands, target: 2 }, { op: 'resultSetAdd', value: 2 });
    return plan(`c/${i}`, next, block(...stmts));
  });
  const loaded = await load(policy(c, plans));
  return calls.map((_, i) => only(loaded.evaluate({}, `c/${i}`)));
}

/** The module's `builtins()` table as JSON text: what it asks the SDK to supply from JS. */
export function builtinsTableText(loaded: Awaited<ReturnType<typeof load>>): string {
  const inner = loaded as unknown as { wasmInstance: WebAssembly.Instance; mem: WebAssembly.Memory };
  const exp = inner.wasmInstance.exports as unknown as { builtins(): number; opa_json_dump(v: number): number };
  const addr = exp.opa_json_dump(exp.builtins());
  const buf = new Uint8Array(inner.mem.buffer);
  let end = addr;
  while (buf[end] !== 0) end++;
  return new TextDecoder().decode(buf.subarray(addr, end));
}
