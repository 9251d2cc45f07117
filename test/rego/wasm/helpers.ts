// Terse builders for hand-written IR and a loader that runs the emitted module through the real SDK.
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import type { Block, Operand, Plan, Policy, Stmt, Func } from '../../../src/rego/ir.js';
import { emitWasm } from '../../../src/rego/wasm/emit.js';
import { customBuiltins } from '../../../src/rego/builtins/index.js';

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

export function func(name: string, params: number[], result: number, numLocals: number, blocks: Block[], memoize = false): Func {
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
  consts: Consts, numLocals: number, resultLocal: number, stmts: Stmt[], input?: unknown, data?: unknown, funcs: Func[] = [],
): Promise<unknown> {
  const p = policy(consts, [plan('t/p', numLocals, block(...stmts, { op: 'resultSetAdd', value: resultLocal }))], funcs);
  const loaded = await load(p);
  if (data !== undefined) loaded.setData(data as object);
  return loaded.evaluate(input);
}

/** The single result's value, or undefined for an empty result set. */
export function only(rs: unknown): unknown {
  const arr = rs as { result: unknown }[];
  return arr.length === 0 ? undefined : arr[0]!.result;
}
