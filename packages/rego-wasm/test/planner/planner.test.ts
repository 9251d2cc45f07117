import { describe, expect, it } from 'vitest';
import { planRego } from '../../src/compile.js';
import type { Block, Func, Policy, Stmt } from '../../src/ir.js';

function plan(source: string | string[], entrypoints: string[] = ['t/p']): Policy {
  const sources = (Array.isArray(source) ? source : [source]).map((text, i) => ({ path: `m${i}.rego`, source: text }));
  return planRego(sources, entrypoints);
}

function func(policy: Policy, suffix: string): Func {
  const found = policy.funcs.find((f) => f.name.endsWith(`.${suffix}`));
  if (found === undefined) throw new Error(`no func ${suffix} in ${policy.funcs.map((f) => f.name).join(', ')}`);
  return found;
}

/** Every statement of the blocks, depth first, with the number of scans enclosing it. */
function statements(blocks: Block[], depth = 0): Array<{ stmt: Stmt; scans: number }> {
  const out: Array<{ stmt: Stmt; scans: number }> = [];
  for (const block of blocks) {
    for (const stmt of block.stmts) {
      out.push({ stmt, scans: depth });
      if (stmt.op === 'scan') out.push(...statements([stmt.block], depth + 1));
      if (stmt.op === 'not') out.push(...statements([stmt.block], depth));
      if (stmt.op === 'blocks') out.push(...statements(stmt.blocks, depth));
    }
  }
  return out;
}

function constantOf(policy: Policy, index: number): unknown {
  return JSON.parse(policy.constants[index] as string);
}

describe('rule functions', () => {
  it('plans each rule group as a memoized Func of (input, data) and functions as non-memoized', () => {
    const policy = plan('package t\np := f(1)\nf(x) := x + 1');
    expect(func(policy, 'data.t.p')).toMatchObject({ params: [0, 1], memoize: true });
    expect(func(policy, 'data.t.f')).toMatchObject({ params: [0, 1, 2], memoize: false });
  });

  it('plans only what an entrypoint reaches', () => {
    const policy = plan('package t\np := q\nq := 1\nunused := 2');
    expect(policy.funcs.map((f) => f.name.replace(/^g\d+\./, '')).sort()).toEqual(['data.t.p', 'data.t.q']);
  });

  it('a complete rule stores its value with assignOnce and the conflict message', () => {
    const policy = plan('package t\np := 1 if input.a\np := 2 if input.b');
    const stores = statements(func(policy, 'data.t.p').blocks).filter((s) => s.stmt.op === 'assignOnce');
    expect(stores).toHaveLength(2);
    const first = stores[0]?.stmt;
    if (first?.op !== 'assignOnce') throw new Error('not assignOnce');
    expect(constantOf(policy, first.message)).toMatch(/complete rules must not produce multiple outputs/);
  });

  it('each definition is its own top-level block, and the default comes last guarded by isUndefined', () => {
    const policy = plan('package t\ndefault p := 0\np := 1 if input.a\np := 2 if input.b');
    const blocks = func(policy, 'data.t.p').blocks;
    expect(blocks).toHaveLength(3);
    expect(blocks[2]?.stmts[0]).toMatchObject({ op: 'isUndefined' });
  });

  it('plans the rest of the body inside the scan of an iteration', () => {
    const policy = plan('package t\np if { some x in input.xs; x > 1; x < 5 }');
    const all = statements(func(policy, 'data.t.p').blocks);
    const store = all.find((s) => s.stmt.op === 'assignOnce');
    const comparisons = all.filter((s) => s.stmt.op === 'call' && ['gt', 'lt'].includes(s.stmt.func));
    expect(store?.scans).toBe(1);
    expect(comparisons.map((c) => c.scans)).toEqual([1, 1]);
  });

  it('later else clauses only run while the chain is still undefined', () => {
    const policy = plan('package t\np := 1 if input.a else := 2 if input.b else := 3');
    const blocks = func(policy, 'data.t.p').blocks;
    expect(blocks[0]?.stmts[0]?.op).not.toBe('isUndefined');
    expect(blocks[1]?.stmts[0]).toMatchObject({ op: 'isUndefined' });
    expect(blocks[2]?.stmts[0]).toMatchObject({ op: 'isUndefined' });
  });
});

describe('virtual documents', () => {
  it('a package object calls its rules but not its functions, then merges base data', () => {
    const policy = plan('package t\na := 1\nf(x) := x', ['t']);
    const calls = statements(func(policy, 'data.t').blocks)
      .filter((s) => s.stmt.op === 'call')
      .map((s) => (s.stmt.op === 'call' ? s.stmt.func : ''));
    expect(calls.map((c) => c.replace(/^g\d+\./, ''))).toEqual(['data.t.a']);
    expect(statements(func(policy, 'data.t').blocks).some((s) => s.stmt.op === 'objectMerge')).toBe(true);
  });

  it('a ref that leaves the rule tree is a plain lookup in data', () => {
    const policy = plan('package t\np := data.config.x');
    const lookups = statements(func(policy, 'data.t.p').blocks).filter((s) => s.stmt.op === 'dot');
    expect(
      lookups.map((s) =>
        s.stmt.op === 'dot' && s.stmt.key.kind === 'const' ? constantOf(policy, s.stmt.key.index) : null,
      ),
    ).toEqual(['config', 'x']);
  });
});

describe('plans', () => {
  it('names plans as the SDK does and accepts data.x.y spellings', () => {
    expect(plan('package t\np := 1', ['data.t.p', 't/p']).plans.map((p) => p.name)).toEqual(['t/p', 't/p']);
  });

  it('adds the entrypoint value to the result set', () => {
    const all = statements(plan('package t\np := 1').plans[0]?.blocks ?? []);
    expect(all.some((s) => s.stmt.op === 'resultSetAdd')).toBe(true);
  });

  it('deduplicates constants', () => {
    const policy = plan('package t\np := ["a", "a", "b"] if { input.x == "a"; input.y == "a" }');
    expect(new Set(policy.constants).size).toBe(policy.constants.length);
  });
});
