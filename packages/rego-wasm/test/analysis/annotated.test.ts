// The annotated program: the analysis records every body's scope and safe order, what every call calls,
// what every variable is and what every `with` replaces, and the planner plans from that record instead of
// working it out again.
import { describe, expect, it } from 'vitest';
import { withModifiersOf, type Body, type Expr, type Module, type Rule, type Term } from '../../src/ast.js';
import { analyzeModules, type AnnotatedProgram } from '../../src/analysis/index.js';
import type { Block, Stmt } from '../../src/ir.js';
import { parseModule } from '../../src/parser.js';
import { planPolicy } from '../../src/planner/index.js';

function analyze(source: string): { program: AnnotatedProgram; rules: Rule[] } {
  const modules: Module[] = [parseModule('t.rego', source)];
  return { program: analyzeModules(modules), rules: modules[0]!.rules };
}

/** The annotated order of a body, as the line:col of each expression. */
function orderOf(program: AnnotatedProgram, body: Body): string[] {
  const annotated = program.bodies.get(body);
  if (annotated === undefined) throw new Error('body not annotated');
  return annotated.exprs.map((expr: Expr) => `${expr.loc.line}:${expr.loc.col}`);
}

function comprehensionBody(term: Term): Body {
  if (term.type !== 'arraycompr' && term.type !== 'setcompr' && term.type !== 'objectcompr')
    throw new Error('not a comprehension');
  return term.body;
}

/** Every string constant a plan's `dot` statements look up, in statement order. */
function dotKeys(blocks: Block[], constants: string[]): string[] {
  const keys: string[] = [];
  const visit = (stmts: Stmt[]): void => {
    for (const stmt of stmts) {
      if (stmt.op === 'dot' && stmt.key.kind === 'const') keys.push(JSON.parse(constants[stmt.key.index]!) as string);
      if (stmt.op === 'scan' || stmt.op === 'not') visit(stmt.block.stmts);
      if (stmt.op === 'blocks') for (const b of stmt.blocks) visit(b.stmts);
    }
  };
  for (const block of blocks) visit(block.stmts);
  return keys;
}

describe('the annotated program', () => {
  it('records a rule body in safe order: a use moves after the expression that binds it', () => {
    const { program, rules } = analyze('package t\np if {\n  x > 1\n  x = input.a\n}');
    expect(orderOf(program, rules[0]!.body)).toEqual(['4:3', '3:3']);
  });

  it('records else, comprehension, every and default-value bodies, each with its own scope', () => {
    const { program, rules } = analyze(
      [
        'package t',
        'p := 1 if { input.a } else := 2 if { input.b }',
        'q := [y | y := input.xs[_]]',
        'r if { every z in input.zs { z > 0 } }',
        'default s := [w | some w in [1]]',
      ].join('\n'),
    );
    const [p, q, r, s] = rules as [Rule, Rule, Rule, Rule];
    const every = r.body.exprs[0]!;
    if (every.type !== 'every') throw new Error('not every');
    const bodies = [p.body, p.elses[0]!.body, comprehensionBody(q.value), every.body, comprehensionBody(s.value)];
    for (const body of bodies) expect(program.bodies.has(body)).toBe(true);
    const scopes = new Set(bodies.map((body) => program.bodies.get(body)!.scope.id));
    expect(scopes.size).toBe(bodies.length);
  });

  it('is what the planner plans from: a different recorded order yields a different plan', () => {
    const source = 'package t\np if {\n  input.a == 1\n  input.b == 2\n}';
    const planned = (reverse: boolean): string[] => {
      const { program, rules } = analyze(source);
      const body = rules[0]!.body;
      const annotated = program.bodies.get(body)!;
      if (reverse) program.bodies.set(body, { ...annotated, exprs: [...annotated.exprs].reverse() });
      const policy = planPolicy(program, ['t/p']);
      const fn = policy.funcs.find((f) => f.name.endsWith('.data.t.p'))!;
      return dotKeys(fn.blocks, policy.constants).filter((key) => key === 'a' || key === 'b');
    };
    expect(planned(false)).toEqual(['a', 'b']);
    expect(planned(true)).toEqual(['b', 'a']);
  });

  it('resolves every call: a function of the policy, a builtin, print; an unknown one as the refusal to raise', () => {
    const { program } = analyze(
      'package t\nf(x) := x\np if { f(1) == count([]); print(1) }\nq := nope(2)\nr := http.send({})',
    );
    const calls = new Map([...program.calls].map(([term, resolution]) => [term.name, resolution]));
    expect(calls.get('f')).toMatchObject({ kind: 'function', arity: 1 });
    expect(calls.get('count')).toEqual({ kind: 'builtin', name: 'count', arity: 1 });
    expect(calls.get('print')).toEqual({ kind: 'print' });
    // Refused only where a plan reaches them, with the usual kinds.
    expect(calls.get('nope')).toMatchObject({ kind: 'refused', error: { kind: 'undefined' } });
    expect(calls.get('http.send')).toMatchObject({ kind: 'refused', error: { kind: 'unsupported' } });
    expect(() => planPolicy(program, ['t/p'])).not.toThrow();
    expect(() => planPolicy(program, ['t/r'])).toThrow(/http\.send/);
  });

  it('records the references an expression iterates first, and the order two literals unify in', () => {
    const { program, rules } = analyze('package t\np if {\n  some i\n  input.xs[i] == i\n  [a, b] = [b, input.y]\n}');
    const [, compare, unify] = rules[0]!.body.exprs as [Expr, Expr, Expr];
    if (compare.type !== 'term' || unify.type !== 'unify') throw new Error('unexpected shapes');
    expect(program.hoists.get(compare.term)?.map((ref) => `${ref.loc.line}:${ref.loc.col}`)).toEqual(['4:3']);
    // `a = b` binds neither (both unbound), so `b = input.y` unifies first although it comes second.
    const order = program.unifications.get(unify.left)!;
    expect(order.map(([left]) => (left.type === 'var' ? left.name : left.type))).toEqual(['b', 'a']);
  });

  it('resolves every variable: a local by scope id, a parameter, input, a rule, an import', () => {
    const { program, rules } = analyze(
      'package t\nimport data.lib as l\nq := 1\nf(a) := b if { b := [a, q, l.x, input.y] }',
    );
    const f = rules[1]!;
    // Every occurrence of a name (head, parameter, body) resolves alike here.
    const byName = new Map<string, unknown[]>();
    for (const [v, binding] of program.vars) byName.set(v.name, [...(byName.get(v.name) ?? []), binding]);
    const only = (name: string): unknown => {
      const found = new Set(byName.get(name)?.map((binding) => JSON.stringify(binding)));
      expect(found.size).toBe(1);
      return JSON.parse([...found][0]!);
    };
    const scope = program.bodies.get(f.body)!.scope.id;
    expect(only('a')).toEqual({ kind: 'local', id: `${scope}:a`, parameter: true });
    expect(only('b')).toEqual({ kind: 'local', id: `${scope}:b`, parameter: false });
    expect(only('q')).toEqual({ kind: 'global', path: ['data', 't', 'q'], via: 'rule' });
    expect(only('l')).toEqual({ kind: 'global', path: ['data', 'lib'], via: 'import' });
    expect(only('input')).toEqual({ kind: 'global', path: ['input'], via: 'root' });
  });

  it('binds a head shared by several bodies in the scope of each body', () => {
    const { program, rules } = analyze('package t\nvalues[k] = true {\n  k := "a"\n} {\n  k := "b"\n}');
    const [first, second] = rules as [Rule, Rule];
    expect(first.key).toBe(second.key); // one head term, two levels
    const key = first.key as Extract<Term, { type: 'var' }>;
    const ids = [first, second].map((rule) => program.bodies.get(rule.body)!.clauseVars.get(key));
    expect(ids[0]).not.toEqual(ids[1]);
    expect(ids.map((binding) => binding?.kind)).toEqual(['local', 'local']);
  });

  it('resolves every `with` target: input, a rule, a function; a local as the refusal to raise', () => {
    const { program, rules } = analyze(
      [
        'package t',
        'f(x) := x',
        'g(x) := 2',
        'q := 1',
        'p if { f(1) == 1 with input.a as 1 with q as 2 with f as g }',
        'r if { y := 1; input.a with y as 2 }',
      ].join('\n'),
    );
    const targets = (rule: Rule): unknown[] =>
      rule.body.exprs.flatMap((expr) =>
        withModifiersOf(expr).map((modifier) => {
          const target = program.withTargets.get(modifier)!;
          if (target.kind === 'refused') return `refused ${target.error.kind}`;
          return target.kind === 'function'
            ? `${target.key} -> ${target.mock.kind}`
            : `${target.kind} ${target.path.join('.')}`;
        }),
      );
    expect(targets(rules[3]!)).toEqual(['input a', 'data t.q', 'function:data.t.f -> function']);
    expect(targets(rules[4]!)).toEqual(['refused unsupported']);
    expect(() => planPolicy(program, ['t/p'])).not.toThrow();
    expect(() => planPolicy(program, ['t/r'])).toThrow(/y is a local variable/);
  });

  it('a body the analysis never saw is a compiler bug, not a silent re-analysis', () => {
    const { program, rules } = analyze('package t\np if input.a');
    program.bodies.delete(rules[0]!.body);
    expect(() => planPolicy(program, ['t/p'])).toThrow(/compiler bug: the body at t\.rego:2/);
  });
});
