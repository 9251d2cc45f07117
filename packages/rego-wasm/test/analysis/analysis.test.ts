import { describe, expect, it } from 'vitest';
import type { Expr, Module } from '../../src/ast.js';
import { analyzeModules, clauseScope, findNode, resolveCall, resolveGlobalName } from '../../src/analysis/index.js';
import { orderBody } from '../../src/analysis/safety.js';
import { RegoCompileError } from '../../src/errors.js';
import { parseModule } from '../../src/parser.js';

function parse(...sources: string[]): Module[] {
  return sources.map((source, i) => parseModule(`m${i}.rego`, source));
}

function refusal(run: () => unknown): RegoCompileError {
  try {
    run();
  } catch (err) {
    if (err instanceof RegoCompileError) return err;
    throw err;
  }
  throw new Error('expected a RegoCompileError');
}

/** The order the safety check puts a rule's body in, as the source text of each expression's first token. */
function orderOf(source: string): string[] {
  const modules = parse(source);
  const set = analyzeModules(modules);
  const module = set.modules[0];
  const rule = modules[0]?.rules[0];
  if (module === undefined || rule === undefined) throw new Error('no rule');
  const { scope, bound } = clauseScope(rule, rule.body, rule.value, module, set.root);
  const lines = source.split('\n');
  return orderBody(rule.body.exprs, scope, bound).ordered.map((expr: Expr) => {
    const line = lines[expr.loc.line - 1] ?? '';
    return (
      line
        .slice(expr.loc.col - 1)
        .split(/[;}]/)[0]
        ?.trim() ?? ''
    );
  });
}

describe('rule grouping', () => {
  it('groups definitions by full path across files of the same package', () => {
    const set = analyzeModules(
      parse('package a.b\np := 1 if input.x', 'package a.b\np := 2 if input.y', 'package c\np := 3'),
    );
    expect(set.groups.map((g) => [g.name, g.definitions.length])).toEqual([
      ['data.a.b.p', 2],
      ['data.c.p', 1],
    ]);
  });

  it('places ref-head rules in the tree under their package', () => {
    const set = analyzeModules(parse('package t\nx.y.z := 1'));
    expect(findNode(set.root, ['data', 't', 'x', 'y', 'z'])?.group?.name).toBe('data.t.x.y.z');
    expect(findNode(set.root, ['data', 't', 'x'])?.group).toBeNull();
  });

  it('keeps the default apart from the definitions', () => {
    const [group] = analyzeModules(parse('package t\ndefault p := false\np if input.x')).groups;
    expect(group?.definitions).toHaveLength(1);
    expect(group?.defaultDefinition?.rule.default).toBe(true);
  });

  it('creates an empty package object for a package without rules', () => {
    const set = analyzeModules(parse('package empty.pkg'));
    expect(findNode(set.root, ['data', 'empty', 'pkg'])).not.toBeNull();
  });
});

describe('name resolution', () => {
  const lib = 'package lib\nf(x) := x\nlimit := 1';

  it('resolves import input.x as y and import data.lib', () => {
    const set = analyzeModules(parse(lib, 'package t\nimport input.user.name as who\nimport data.lib\np := who'));
    const app = set.modules[1];
    if (app === undefined) throw new Error('no module');
    expect(resolveGlobalName(set.root, app, 'who')).toEqual(['input', 'user', 'name']);
    expect(resolveGlobalName(set.root, app, 'lib')).toEqual(['data', 'lib']);
    expect(resolveGlobalName(set.root, app, 'p')).toEqual(['data', 't', 'p']);
    expect(resolveGlobalName(set.root, app, 'nothing')).toBeNull();
  });

  it('a rule of the package wins over an import alias of the same name for values', () => {
    const set = analyzeModules(parse(lib, 'package t\nimport data.lib\nlib := 5'));
    expect(resolveGlobalName(set.root, set.modules[1]!, 'lib')).toEqual(['data', 't', 'lib']);
  });

  it('resolves calls to builtins, package functions and imported functions', () => {
    const set = analyzeModules(parse(lib, 'package t\nimport data.lib as l\ng(x) := x'));
    const app = set.modules[1]!;
    const loc = { file: 'x', line: 1, col: 1 };
    expect(resolveCall(set.root, app, 'count', loc)).toMatchObject({ kind: 'builtin', arity: 1 });
    expect(resolveCall(set.root, app, 'g', loc)).toMatchObject({ kind: 'function', arity: 1 });
    expect(resolveCall(set.root, app, 'l.f', loc)).toMatchObject({ kind: 'function' });
    expect(resolveCall(set.root, app, 'data.lib.f', loc)).toMatchObject({ kind: 'function' });
    expect(refusal(() => resolveCall(set.root, app, 'l.limit', loc)).construct).toBe('unknown function');
  });
});

describe('safety and reordering', () => {
  it('moves an expression after the one that binds its variable, keeping source order otherwise', () => {
    expect(orderOf('package t\np if { x > 1; y == 2; x = input.a; y = 2 }')).toEqual([
      'x = input.a',
      'x > 1',
      'y = 2',
      'y == 2',
    ]);
  });

  it('schedules a comprehension after the outer binding it uses', () => {
    expect(orderOf('package t\np if { ys := [v | some v in xs]; xs := input.list }')).toEqual([
      'xs := input.list',
      'ys := [v | some v in xs]',
    ]);
  });

  it('schedules not after the binding of its variables', () => {
    expect(orderOf('package t\np if { not x == 1; x = input.a }')).toEqual(['x = input.a', 'not x == 1']);
  });

  it('accepts wildcards that are local to a not', () => {
    expect(() => analyzeModules(parse('package t\np if { not input.xs[_] == 1 }'))).not.toThrow();
  });

  it('reports an unsafe variable with its position', () => {
    const error = refusal(() => analyzeModules(parse('package t\np if {\n  input.a == 1\n  z > 3\n}')));
    expect(error.construct).toBe('unsafe var z');
    expect(error.loc).toEqual({ file: 'm0.rego', line: 4, col: 3 });
  });

  it('leaves with modifiers to the planner, which refuses them only in rules an entrypoint reaches', () => {
    expect(() => analyzeModules(parse('package t\np := [x | x := input.a with input as 1]'))).not.toThrow();
  });

  it('refuses a second := of the same variable', () => {
    expect(refusal(() => analyzeModules(parse('package t\np if { x := 1; x := 2 }'))).construct).toMatch(
      /^var x (assigned|referenced|declared) above$/,
    );
  });

  it('refuses a default whose value is not constant', () => {
    expect(refusal(() => analyzeModules(parse('package t\ndefault p := q\nq := 1'))).construct).toMatch(/^default/);
  });
});

describe('imports', () => {
  it('refuses rego.v1 beside future.keywords or twice, and accepts future keywords twice', () => {
    expect(refusal(() => analyzeModules(parse('package t\nimport rego.v1\nimport future.keywords.in'))).construct).toBe(
      'import',
    );
    expect(refusal(() => analyzeModules(parse('package t\nimport rego.v1\nimport rego.v1'))).construct).toBe('import');
    expect(() =>
      analyzeModules(parse('package t\nimport future.keywords.in\nimport future.keywords.if')),
    ).not.toThrow();
  });

  it('refuses one alias for two different paths', () => {
    expect(refusal(() => analyzeModules(parse('package t\nimport data.a as x\nimport data.b as x'))).construct).toBe(
      'import',
    );
  });
});

describe('declarations', () => {
  it('refuses declaring the same variable twice in one body (some x in a; some x in b)', () => {
    expect(refusal(() => analyzeModules(parse('package t\np if { some x in [1]; some x in [2] }'))).construct).toBe(
      'var x declared above',
    );
  });

  it('allows the same name in separate comprehension bodies', () => {
    expect(() => analyzeModules(parse('package t\np := [[x | some x in [1]], [x | some x in [2]]]'))).not.toThrow();
  });
});
