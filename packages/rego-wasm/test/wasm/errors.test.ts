// The emitter refuses IR that breaks its contract with a typed error naming what is wrong.
import { describe, expect, it } from 'vitest';
import type { Policy, Stmt } from '../../src/ir.js';
import { emitWasm } from '../../src/wasm/emit.js';
import { WasmEmitError } from '../../src/wasm/errors.js';

const onePlan = (stmts: Stmt[], constants: string[] = ['1']): Policy => ({
  constants,
  funcs: [],
  plans: [{ name: 'x/y', numLocals: 3, blocks: [{ stmts }] }],
});

function emitError(p: Policy): WasmEmitError {
  try {
    emitWasm(p);
  } catch (err) {
    if (err instanceof WasmEmitError) return err;
    throw err;
  }
  throw new Error('emitWasm accepted the policy');
}

describe('emitWasm refuses broken IR', () => {
  it('an unknown function', () => {
    const err = emitError(onePlan([{ op: 'call', func: 'http.send', args: [], target: 2 }]));
    expect(err.code).toBe('REGO_EMIT');
    expect(err.reason).toBe('bad-ir');
    expect(err.message).toContain('http.send');
  });
  it('a builtin called with the wrong number of arguments', () => {
    const err = emitError(onePlan([{ op: 'call', func: 'count', args: [], target: 2 }]));
    expect(err.message).toMatch(/count takes 1 arguments, got 0/);
  });
  it('a constant that is not JSON', () => {
    expect(emitError(onePlan([], ['{nope'])).message).toMatch(/constant 0 is not JSON/);
  });
  it('a reference to a missing constant', () => {
    expect(emitError(onePlan([{ op: 'assign', source: { kind: 'const', index: 7 }, target: 2 }])).message).toMatch(
      /constant 7/,
    );
  });
  it('a local outside the declared range', () => {
    expect(emitError(onePlan([{ op: 'assign', source: { kind: 'local', local: 9 }, target: 2 }])).message).toMatch(
      /local 9/,
    );
  });
  it('a break that leaves more blocks than enclose it', () => {
    expect(emitError(onePlan([{ op: 'break', index: 3 }])).message).toMatch(/break 3/);
  });
  it('accepts a well-formed policy and yields a valid module', () => {
    const wasm = emitWasm(
      onePlan([
        { op: 'assign', source: { kind: 'const', index: 0 }, target: 2 },
        { op: 'resultSetAdd', value: 2 },
      ]),
    );
    expect(WebAssembly.validate(wasm)).toBe(true);
  });
});
