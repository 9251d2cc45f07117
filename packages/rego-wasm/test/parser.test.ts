import { describe, expect, it } from 'vitest';
import { parseModule } from '../src/parser.js';
import { RegoCompileError } from '../src/errors.js';
import type { Expr, Module, Rule, Term } from '../src/ast.js';

/** Drops positions so structure can be compared with toEqual. */
function strip<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) => (key === 'loc' || key === 'nameLoc' ? undefined : v)),
  ) as T;
}

const mod = (body: string, header = 'package test\n'): Module => parseModule('test.rego', header + body);
const rules = (body: string, header?: string): Rule[] => mod(body, header).rules;
const rule = (body: string, header?: string): Rule => {
  const [first] = rules(body, header);
  if (first === undefined) throw new Error('no rule parsed');
  return first;
};
/** The expression of `p if { true; <expr> }` (the leading `true` keeps `{ a | b }` from reading as a comprehension). */
const expr = (text: string): Expr => {
  const [, first] = rule(`p if {\ntrue;\n${text}\n}`).body.exprs;
  if (first === undefined) throw new Error('no expression parsed');
  return strip(first);
};
/** The term of `p if { <term> }`. */
const term = (text: string): Term => {
  const e = expr(text);
  if (e.type !== 'term') throw new Error(`expected a term expression, got ${e.type}`);
  return e.term;
};

function parseError(source: string): RegoCompileError {
  try {
    parseModule('bad.rego', source);
  } catch (err) {
    if (err instanceof RegoCompileError) return err;
    throw err;
  }
  throw new Error(`expected a parse error for:\n${source}`);
}

const v = (name: string) => ({ type: 'var', name });
const s = (value: string) => ({ type: 'string', value, raw: false });
const n = (text: string) => ({ type: 'number', text });
const bin = (op: string, left: unknown, right: unknown) => ({ type: 'binary', op, left, right });
const ref = (head: unknown, ...path: unknown[]) => ({ type: 'ref', head, path });
const t = { type: 'boolean', value: true };

describe('parser: module structure', () => {
  it('reads the package path, dotted and with string keys', () => {
    expect(parseModule('a.rego', 'package envoy.authz["x-y"]\n').package.path).toEqual(['envoy', 'authz', 'x-y']);
  });

  it('reads imports with and without aliases', () => {
    const m = mod(
      'import future.keywords\nimport future.keywords.in\nimport input.attributes.request.http as req\nimport data.lib\n',
    );
    expect(strip(m.imports)).toEqual([
      { path: ['future', 'keywords'], alias: null },
      { path: ['future', 'keywords', 'in'], alias: null },
      { path: ['input', 'attributes', 'request', 'http'], alias: 'req' },
      { path: ['data', 'lib'], alias: null },
    ]);
  });

  it('refuses imports of unknown roots and future imports that do not exist', () => {
    expect(parseError('package a\nimport foo.bar\n').detail).toMatch(/must start with `data` or `input`/);
    expect(parseError('package a\nimport future.strict\n').detail).toMatch(/future\.keywords/);
    expect(parseError('package a\nimport rego.v2\n').detail).toMatch(/rego\.v1/);
  });

  it('refuses rego.v1 together with future.keywords, twice, and two imports binding one name', () => {
    expect(parseError('package a\nimport rego.v1\nimport future.keywords.in\n').detail).toMatch(/already implies/);
    expect(parseError('package a\nimport future.keywords\nimport rego.v1\n').detail).toMatch(/already implies/);
    expect(parseError('package a\nimport rego.v1\nimport rego.v1\n').detail).toMatch(/twice/);
    const err = parseError('package a\nimport data.x.lib\nimport data.y.lib\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 3, col: 1 });
    expect(err.detail).toMatch(/`lib` is already imported at line 2/);
    expect(
      mod('import data.x.lib\nimport data.y.lib as lib2\nimport future.keywords.in\nimport future.keywords.if\n')
        .imports,
    ).toHaveLength(4);
  });

  it('refuses imports after rules and a second package', () => {
    expect(parseError('package a\np := 1\nimport data.x\n').detail).toMatch(/before the first rule/);
    expect(parseError('package a\npackage b\n').construct).toBe('package');
  });

  it('refuses a module without a package, at its first token', () => {
    const err = parseError('\n\n  allow := true\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 3, col: 3 });
    expect(err.construct).toBe('package');
  });

  it('requires each rule to start on its own line', () => {
    expect(parseError('package a\np := 1 q := 2\n').detail).toMatch(/line break before `q`/);
  });
});

describe('parser: rule heads', () => {
  it('reads a default rule', () => {
    const r = strip(rule('default allow := false\n'));
    expect(r).toMatchObject({
      kind: 'complete',
      default: true,
      name: ['allow'],
      value: { type: 'boolean', value: false },
      assign: true,
    });
    expect(r.body.exprs).toEqual([]);
  });

  it('reads `p if { ... }` with an implicit true value', () => {
    const r = strip(rule('allow if {\n input.x == 1\n}\n'));
    expect(r).toMatchObject({ kind: 'complete', default: false, implicitValue: true, value: t, assign: false });
    expect(r.body.exprs).toHaveLength(1);
  });

  it('reads `p := v if { ... }` and `p = v` (no body)', () => {
    expect(strip(rule('p := 7 if { true }\n'))).toMatchObject({
      kind: 'complete',
      value: n('7'),
      implicitValue: false,
      assign: true,
    });
    const r = strip(rule('p = "x"\n'));
    expect(r).toMatchObject({ kind: 'complete', value: s('x'), assign: false });
    expect(r.body.exprs).toEqual([]);
  });

  it('reads a single-expression body after `if` without braces', () => {
    const r = strip(rule('allow if input.role == "admin"\n'));
    expect(r.body.exprs).toEqual([{ type: 'term', term: bin('==', ref(v('input'), s('role')), s('admin')), with: [] }]);
  });

  it('reads `p contains x if { ... }` as a partial set whose key is the element', () => {
    const r = strip(rule('deny contains msg if { msg := "no" }\n'));
    expect(r).toMatchObject({ kind: 'partialSet', name: ['deny'], key: v('msg') });
  });

  it('reads `p[k] := v if { ... }` as a partial object', () => {
    expect(strip(rule('headers[k] := v if { k := "a"; v := "b" }\n'))).toMatchObject({
      kind: 'partialObject',
      name: ['headers'],
      key: v('k'),
      value: v('v'),
    });
  });

  it('reads ref heads `a.b.c := v` and string-keyed segments as name segments', () => {
    expect(strip(rule('a.b.c := 1\n'))).toMatchObject({ kind: 'complete', name: ['a', 'b', 'c'] });
    expect(strip(rule('a["b-c"] := 1\n'))).toMatchObject({ kind: 'complete', name: ['a', 'b-c'] });
    expect(strip(rule('a.b[k] := 1 if { k := "x" }\n'))).toMatchObject({
      kind: 'partialObject',
      name: ['a', 'b'],
      key: v('k'),
    });
  });

  it('reads a variable key before the last segment as object levels of the rule named before it', () => {
    expect(strip(rule('p[x].y := 1 if { x := 1 }\n'))).toMatchObject({
      kind: 'partialObject',
      name: ['p'],
      keyPath: [v('x')],
      key: s('y'),
    });
    expect(strip(rule('o.s[x][x] contains x if { x := 1 }\n'))).toMatchObject({
      kind: 'partialSet',
      name: ['o', 's'],
      keyPath: [v('x'), v('x')],
      key: v('x'),
    });
  });

  it('reads functions with pattern arguments and implicit true', () => {
    const f = strip(rule('f(x, [a, _]) := y if { y := x + a }\n'));
    expect(f).toMatchObject({ kind: 'function', name: ['f'], value: v('y') });
    expect(f.args).toEqual([
      v('x'),
      { type: 'array', items: [v('a'), { type: 'var', name: '$wildcard0', wildcard: true }] },
    ]);
    expect(strip(rule('is_admin(u) if u.role == "admin"\n'))).toMatchObject({
      kind: 'function',
      implicitValue: true,
      value: t,
    });
    expect(strip(rule('default f(_) := false\n'))).toMatchObject({ kind: 'function', default: true });
  });

  it('reads an else chain with values, implicit values and bodiless else', () => {
    const r = strip(
      rule('r := 1 if { input.a } else := 2 if { input.b } else = 3 { input.c } else := 4\n', 'package test\n'),
    );
    expect(r.elses.map((e) => [e.value, e.implicitValue, e.body.exprs.length])).toEqual([
      [n('2'), false, 1],
      [n('3'), false, 1],
      [n('4'), false, 0],
    ]);
    const bare = strip(rule('p if { false } else { true }\n'));
    expect(bare.elses[0]).toMatchObject({ value: t, implicitValue: true });
  });

  it('refuses else on partial rules', () => {
    expect(parseError('package a\np contains 1 if { false } else := 2\n').construct).toBe('else');
  });

  it('refuses a rule with neither value nor body', () => {
    const err = parseError('package a\nallow\n');
    expect(err.construct).toBe('rule');
    expect(err.detail).toMatch(/needs a value/);
  });

  it('refuses a default rule without a value or with a body', () => {
    expect(parseError('package a\ndefault allow\n').construct).toBe('default rule');
    expect(parseError('package a\ndefault allow := false if { true }\n').construct).toBe('default rule');
  });

  it('refuses default values that are not constants, pointing at the offending part', () => {
    const err = parseError('package a\ndefault p := [1, x]\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 2, col: 18 });
    expect(err.detail).toMatch(/variable `x`/);
    expect(parseError('package a\ndefault p := count([])\n').detail).toMatch(/call to `count`/);
    expect(parseError('package a\nimport future.keywords\ndefault a = 5 in {5}\n').detail).toMatch(/`in` membership/);
    expect(strip(rule('default p := {"a": [1, -2, {true}], "b": null}\n')).default).toBe(true);
  });

  it('refuses default functions with pattern or repeated parameters', () => {
    expect(parseError('package a\ndefault f([x]) := 1\n').detail).toMatch(/plain variable names/);
    expect(parseError('package a\ndefault f(x, x) := 1\n').detail).toMatch(/repeated/);
    expect(strip(rule('default f(_, _) := 1\n'))).toMatchObject({ kind: 'function', default: true });
  });

  it('refuses rules named input or data', () => {
    expect(parseError('package a\ninput := 1\n').detail).toMatch(/shadow the root document/);
    expect(parseError('package a\ndata.x := 1\n').construct).toBe('rule');
  });

  it('refuses keywords as rule names', () => {
    expect(parseError('package a\nsome := 1\n').detail).toMatch(/expected a rule name/);
  });

  it('reads `p[x] if` in a v1 file as an object with value true, and `p["k"] if` as the rule p.k', () => {
    expect(strip(rule('p[x] if { x := 1 }\n', 'package a\nimport rego.v1\n'))).toMatchObject({
      kind: 'partialObject',
      key: v('x'),
      value: t,
      implicitValue: true,
    });
    expect(strip(rule('p[x] if { x := 1 }\n'))).toMatchObject({ kind: 'partialObject', key: v('x') });
    expect(strip(rule('p["fixed"] if { true }\n'))).toMatchObject({ kind: 'complete', name: ['p', 'fixed'], value: t });
  });

  it('refuses `p[x]` with neither body nor value', () => {
    expect(parseError('package a\np[x]\n').construct).toBe('rule head');
  });

  it('accepts a space between a function name and its arguments in the head', () => {
    expect(strip(rule('sum (a, b) := c if { c := a + b }\n'))).toMatchObject({ kind: 'function', name: ['sum'] });
  });
});

describe('parser: v0 syntax', () => {
  it('reads bodies without `if`, `p[x] { }` partial sets, and `p[k] = v { }` objects', () => {
    const [complete, set, obj, fn] = strip(
      rules('allow { input.x }\nusers[u] { u := "a" }\nm[k] = 1 { k := "a" }\nf(x) = y { y := x }\n'),
    );
    expect(complete).toMatchObject({ kind: 'complete', implicitValue: true });
    expect(set).toMatchObject({ kind: 'partialSet', name: ['users'], key: v('u') });
    expect(obj).toMatchObject({ kind: 'partialObject', name: ['m'], key: v('k'), value: n('1') });
    expect(fn).toMatchObject({ kind: 'function', value: v('y') });
  });

  it('reads `p["a"] { }` as a partial set holding "a", not a rule named a', () => {
    expect(strip(rule('p["a"] { true }\n'))).toMatchObject({ kind: 'partialSet', name: ['p'], key: s('a') });
  });

  it('reads a two-part v0 head without value (`x.a { }`) as a partial set, and longer ones as true values', () => {
    expect(strip(rule('x.a { true }\n'))).toMatchObject({ kind: 'partialSet', name: ['x'], key: s('a') });
    expect(strip(rule('x.a.b { true }\n'))).toMatchObject({ kind: 'complete', name: ['x', 'a', 'b'], value: t });
    expect(strip(rule('x.a[k] { k := 1 }\n'))).toMatchObject({
      kind: 'partialObject',
      name: ['x', 'a'],
      key: v('k'),
      value: t,
    });
    expect(strip(rule('x.a if { true }\n'))).toMatchObject({ kind: 'complete', name: ['x', 'a'], value: t });
  });

  it('reads `p[x] if` as a partial object of true values in files that import future.keywords, as OPA does', () => {
    expect(strip(rule('p[x] if { x := 1 }\n', 'package a\nimport future.keywords.if\n'))).toMatchObject({
      kind: 'partialObject',
      key: v('x'),
      value: { type: 'boolean', value: true },
    });
  });

  it('turns several bodies after one head into one rule per body', () => {
    const parsed = rules('p { input.a }\n{ input.b }\n');
    expect(parsed).toHaveLength(2);
    expect(parsed.map((r) => r.name)).toEqual([['p'], ['p']]);
  });

  it('does not take a brace after a single-expression body as a second body', () => {
    expect(parseError('package a\np if input.x\n{ true }\n').construct).toBe('rule');
  });

  it('points a v0 partial set in a v1 file to `contains`', () => {
    expect(parseError('package a\nimport rego.v1\nusers[u] { u := 1 }\n').detail).toMatch(/`p contains x if/);
  });

  it('refuses v0 bodies in files that import rego.v1', () => {
    const err = parseError('package a\nimport rego.v1\nallow { true }\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 3, col: 7 });
    expect(err.detail).toMatch(/`if` is required/);
  });
});

describe('parser: terms', () => {
  it('reads scalars, keeping number text', () => {
    expect(term('[null, true, false, 1.50, -2, "s", `r\\n`]')).toEqual({
      type: 'array',
      items: [
        { type: 'null' },
        t,
        { type: 'boolean', value: false },
        n('1.50'),
        n('-2'),
        s('s'),
        { type: 'string', value: 'r\\n', raw: true },
      ],
    });
  });

  it('reads refs with dots, brackets and call heads', () => {
    expect(term('a.b[c]["d"]')).toEqual(ref(v('a'), s('b'), v('c'), s('d')));
    expect(term('f(x).y[0]')).toEqual(ref({ type: 'call', name: 'f', args: [v('x')] }, s('y'), n('0')));
    expect(term('[1, 2][0]')).toEqual(ref({ type: 'array', items: [n('1'), n('2')] }, n('0')));
  });

  it('accepts keywords as field names after a dot', () => {
    expect(term('input.package.default.else')).toEqual(ref(v('input'), s('package'), s('default'), s('else')));
  });

  it('reads dotted call names as written', () => {
    expect(term('object.get(input, "a", 1)')).toEqual({
      type: 'call',
      name: 'object.get',
      args: [v('input'), s('a'), n('1')],
    });
    expect(term('data.lib.f(1)')).toMatchObject({ type: 'call', name: 'data.lib.f' });
    expect(term('contains(x, "a")')).toMatchObject({ type: 'call', name: 'contains' });
  });

  it('refuses calling something that is not a dotted name', () => {
    expect(parseError('package a\np if { x[0](1) }\n').construct).toBe('call');
    expect(parseError('package a\np if { x["f"](1) }\n').construct).toBe('call');
  });

  it('does not join a ref across whitespace (`a [1]` is two things)', () => {
    expect(parseError('package a\np if { a [1] }\n').detail).toMatch(/expected a line break/);
  });

  it('reads arrays, objects and sets with trailing commas; {} is an object and set() the empty set', () => {
    expect(term('[1, 2,]')).toEqual({ type: 'array', items: [n('1'), n('2')] });
    expect(term('{"a": 1, 2: [3],}')).toEqual({
      type: 'object',
      entries: [
        { key: s('a'), value: n('1') },
        { key: n('2'), value: { type: 'array', items: [n('3')] } },
      ],
    });
    expect(term('{1, "x"}')).toEqual({ type: 'set', items: [n('1'), s('x')] });
    expect(term('{}')).toEqual({ type: 'object', entries: [] });
    expect(term('set()')).toEqual({ type: 'set', items: [] });
  });

  it('reads array, set and object comprehensions', () => {
    expect(term('[x | some x in xs; x > 1]')).toMatchObject({ type: 'arraycompr', head: v('x') });
    expect(term('{x | some x in xs}')).toMatchObject({ type: 'setcompr', head: v('x') });
    expect(term('{k: v | some k, v in o}')).toMatchObject({ type: 'objectcompr', key: v('k'), value: v('v') });
    const multi = term('[x |\n  some x in xs\n  x > 1\n]');
    expect(multi.type === 'arraycompr' && multi.body.exprs.length).toBe(2);
  });

  it('treats a parenthesised union as a set element, not a comprehension', () => {
    expect(term('{ ({1} | {2}) }')).toEqual({
      type: 'set',
      items: [bin('|', { type: 'set', items: [n('1')] }, { type: 'set', items: [n('2')] })],
    });
    expect(term('{ (1) | 1 }')).toMatchObject({ type: 'setcompr', head: n('1') });
  });

  it('starts a comprehension only when a single term precedes `|`, as OPA does', () => {
    expect(term('[ x - {10} | y, 5 in {5}]')).toEqual({
      type: 'array',
      items: [
        bin('|', bin('-', v('x'), { type: 'set', items: [n('10')] }), v('y')),
        { type: 'in', key: null, value: n('5'), collection: { type: 'set', items: [n('5')] } },
      ],
    });
    expect(term('[ q & {1} | {true} ]')).toMatchObject({ type: 'array', items: [{ type: 'binary', op: '|' }] });
    expect(term('[ (q & {1}) | {true} ]')).toMatchObject({ type: 'arraycompr', head: { type: 'binary', op: '&' } });
    expect(term('{ a + 1: b | true }')).toMatchObject({
      type: 'objectcompr',
      key: { type: 'binary', op: '+' },
      value: v('b'),
    });
    expect(term('{ "k": b | c }')).toEqual({
      type: 'objectcompr',
      key: s('k'),
      value: v('b'),
      body: { exprs: [{ type: 'term', term: v('c'), with: [] }] },
    });
  });

  it('accepts an operator expression as comprehension head when no collection reading exists', () => {
    expect(term('[x * 2 | some x in xs]')).toMatchObject({ type: 'arraycompr', head: bin('*', v('x'), n('2')) });
    expect(term('{x + 1 | some x in xs}')).toMatchObject({ type: 'setcompr', head: bin('+', v('x'), n('1')) });
    expect(term('{k: v * 2 | some k, v in o}')).toMatchObject({
      type: 'objectcompr',
      key: v('k'),
      value: bin('*', v('v'), n('2')),
    });
    expect(term('[x * 2 | y]')).toEqual({ type: 'array', items: [bin('|', bin('*', v('x'), n('2')), v('y'))] });
  });

  it('reads a rule body after `if` as a literal first: `{ 1 | 1 }` is a set comprehension, `{ x }` a body', () => {
    expect(strip(rule('x if { 1 | 1 }\n').body.exprs)).toMatchObject([
      { type: 'term', term: { type: 'setcompr', head: n('1') } },
    ]);
    expect(strip(rule('x if { input.a }\n').body.exprs)).toEqual([
      { type: 'term', term: ref(v('input'), s('a')), with: [] },
    ]);
    expect(strip(rule('x if {"a": 1}.a == 1\n').body.exprs)).toMatchObject([
      { type: 'term', term: { type: 'binary', op: '==' } },
    ]);
    expect(strip(rule('x if { y := 1\n y > 0 }\n').body.exprs)).toHaveLength(2);
  });

  it('reads `[x | y, 5]` as an array holding a union when the comprehension reading fails', () => {
    expect(term('[ x | y, 5]')).toEqual({ type: 'array', items: [bin('|', v('x'), v('y')), n('5')] });
    expect(term('[ x | y, 5 in {5}]')).toMatchObject({ type: 'arraycompr', head: v('x') });
    expect(term('{ x | y, 5}')).toEqual({ type: 'set', items: [bin('|', v('x'), v('y')), n('5')] });
    expect(term('{ "k": x | y, "j": 5}')).toMatchObject({
      type: 'object',
      entries: [{ key: s('k'), value: bin('|', v('x'), v('y')) }, { key: s('j') }],
    });
  });

  it('renames each `_` to a distinct wildcard var', () => {
    expect(term('x[_][_]')).toEqual(
      ref(
        v('x'),
        { type: 'var', name: '$wildcard0', wildcard: true },
        { type: 'var', name: '$wildcard1', wildcard: true },
      ),
    );
  });

  it('refuses keywords used as values', () => {
    expect(parseError('package a\np if { x := not }\n').detail).toMatch(/`not` is a keyword/);
  });
});

describe('parser: operator precedence (as OPA: in < comparison < | < & < + - < * / %)', () => {
  it('binds * tighter than + and keeps both left-associative', () => {
    expect(term('1 + 2 * 3 - 4')).toEqual(bin('-', bin('+', n('1'), bin('*', n('2'), n('3'))), n('4')));
    expect(term('8 / 4 / 2 % 3')).toEqual(bin('%', bin('/', bin('/', n('8'), n('4')), n('2')), n('3')));
  });

  it('binds & tighter than | and both tighter than comparison', () => {
    expect(term('a | b & c == d')).toEqual(bin('==', bin('|', v('a'), bin('&', v('b'), v('c'))), v('d')));
  });

  it('binds arithmetic tighter than &', () => {
    expect(term('a & b + c')).toEqual(bin('&', v('a'), bin('+', v('b'), v('c'))));
  });

  it('binds `in` looser than comparison: `x in xs == true` is `x in (xs == true)`', () => {
    expect(term('x in xs == true')).toEqual({
      type: 'in',
      key: null,
      value: v('x'),
      collection: bin('==', v('xs'), t),
    });
  });

  it('chains comparisons left to right', () => {
    expect(term('a < b == true')).toEqual(bin('==', bin('<', v('a'), v('b')), t));
  });

  it('folds unary minus into number literals, also across spaces and lines', () => {
    expect(term('-2 * 3')).toEqual(bin('*', n('-2'), n('3')));
    expect(term('1 - -1')).toEqual(bin('-', n('1'), n('-1')));
    expect(term('a-1')).toEqual(bin('-', v('a'), n('1')));
    expect(term('[- 1, -\n 2.5e3]')).toEqual({ type: 'array', items: [n('-1'), n('-2.5e3')] });
  });

  it('refuses unary minus on anything but a number literal, as OPA does', () => {
    const err = parseError('package a\nx := - y\n');
    expect(err.construct).toBe('unary minus');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 2, col: 6 });
    expect(parseError('package a\nx := - -1\n').construct).toBe('unary minus');
  });

  it('lets parentheses override precedence', () => {
    expect(term('(1 + 2) * 3')).toEqual(bin('*', bin('+', n('1'), n('2')), n('3')));
  });

  it('reads key-value membership in expressions but not inside lists', () => {
    expect(term('"a", 1 in {"a": 1}')).toMatchObject({ type: 'in', key: s('a'), value: n('1') });
    expect(term('f(x, y in ys)')).toEqual({
      type: 'call',
      name: 'f',
      args: [v('x'), { type: 'in', key: null, value: v('y'), collection: v('ys') }],
    });
  });
});

describe('parser: expressions', () => {
  it('reads := and = with destructuring patterns', () => {
    expect(expr('[a, b] := [1, 2]')).toEqual({
      type: 'assign',
      left: { type: 'array', items: [v('a'), v('b')] },
      right: { type: 'array', items: [n('1'), n('2')] },
      with: [],
    });
    expect(expr('x = y')).toEqual({ type: 'unify', left: v('x'), right: v('y'), with: [] });
  });

  it('reads key-value membership on the right of := and =', () => {
    expect(expr('b := 0, 2 in [5, 6]')).toMatchObject({
      type: 'assign',
      right: { type: 'in', key: n('0'), value: n('2') },
    });
  });

  it('reads not', () => {
    expect(expr('not input.x == 1')).toEqual({
      type: 'not',
      expr: { type: 'term', term: bin('==', ref(v('input'), s('x')), n('1')), with: [] },
    });
  });

  it('refuses `not some` and `not every`', () => {
    expect(parseError('package a\np if { not some x in xs }\n').construct).toBe('not');
  });

  it('reads `some x, y` declarations and `some x in xs` / `some k, v in obj` iterations', () => {
    expect(expr('some x, y')).toEqual({ type: 'some', vars: [v('x'), v('y')] });
    expect(expr('some x in xs')).toEqual({ type: 'somein', key: null, value: v('x'), collection: v('xs') });
    expect(expr('some k, [a, b] in input.pairs')).toEqual({
      type: 'somein',
      key: v('k'),
      value: { type: 'array', items: [v('a'), v('b')] },
      collection: ref(v('input'), s('pairs')),
    });
  });

  it('refuses `some` without variables', () => {
    expect(parseError('package a\np if { some 1 }\n').construct).toBe('some');
  });

  it('reads every with one or two vars and a body', () => {
    const e = expr('every k, x in xs {\n  x > k\n}');
    expect(e).toMatchObject({ type: 'every', key: v('k'), value: v('x'), collection: v('xs') });
    expect(e.type === 'every' && e.body.exprs.length).toBe(1);
    expect(expr('every x in [1, 2] { x > 0 }')).toMatchObject({ type: 'every', key: null, value: v('x') });
  });

  it('refuses every over a pattern and every without a body', () => {
    expect(parseError('package a\np if { every [a] in xs { true } }\n').construct).toBe('every');
    expect(parseError('package a\np if {\n every x in xs\n}\n').construct).toBe('every');
  });

  it('reads `with` modifiers, also under not', () => {
    expect(expr('allow with input as {"a": 1} with data.x as 2')).toMatchObject({
      type: 'term',
      with: [
        { target: v('input'), value: { type: 'object' } },
        { target: ref(v('data'), s('x')), value: n('2') },
      ],
    });
    expect(expr('not allow with input.x as 1')).toMatchObject({
      type: 'not',
      expr: { with: [{ target: ref(v('input'), s('x')) }] },
    });
  });

  it('separates expressions by line breaks and by `;`', () => {
    expect(rule('p if { a; b\n c\n}\n').body.exprs).toHaveLength(3);
  });

  it('continues an expression across a line break after a binary operator', () => {
    expect(term('1 +\n 2')).toEqual(bin('+', n('1'), n('2')));
  });

  it('refuses two expressions on one line without `;`', () => {
    const err = parseError('package a\np if { a b }\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 2, col: 10 });
  });

  it('hints at `or`/`and` and at a space before a call parenthesis', () => {
    expect(parseError('package a\np if input.a or input.b\n').detail).toMatch(/Rego has no `or`/);
    expect(parseError('package a\np if {\n  f (1)\n}\n').detail).toMatch(/no space between the function name and `\(`/);
  });

  it('refuses an empty body', () => {
    expect(parseError('package a\np if { }\n').detail).toMatch(/empty body/);
  });
});

describe('parser: robustness', () => {
  it('ignores a byte-order mark at the start of the file', () => {
    expect(parseModule('bom.rego', '\uFEFFpackage a\np := 1\n').package.path).toEqual(['a']);
  });

  it('refuses absurdly deep nesting with a compile error instead of overflowing the stack', () => {
    const deep = `package a\np := ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    expect(parseError(deep).detail).toMatch(/nesting deeper than/);
  });

  it('reports the error inside a broken comprehension body, not the array reading tried after it', () => {
    const err = parseError('package a\np := [x | some x in xs; x >]\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 2, col: 28 });
  });

  it('accepts comprehensions as default values', () => {
    expect(strip(rule('default a := [5 | x]\n'))).toMatchObject({ default: true, value: { type: 'arraycompr' } });
  });

  it('parses every module of the project policies directory', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '../../../policies');
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.rego'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const module = parseModule(file, await readFile(join(root, file), 'utf8'));
      expect(module.rules.length, file).toBeGreaterThan(0);
    }
  });
});

describe('parser: error positions', () => {
  it('reports the unexpected token with file:line:col in the message', () => {
    const err = parseError('package a\n\nallow if {\n  input.x == \n}\n');
    expect(err).toBeInstanceOf(RegoCompileError);
    expect(err.code).toBe('REGO_COMPILE');
    expect(err.message).toMatch(/^bad\.rego:5:1: term: expected a value/);
  });

  it('reports an unclosed body at its opening brace', () => {
    const err = parseError('package a\np if {\n  true\n');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 2, col: 6 });
    expect(err.detail).toMatch(/never closed/);
  });

  it('keeps positions on nested nodes', () => {
    const r = rule('p if {\n  x := input.a[  "b"  ]\n}\n');
    const e = r.body.exprs[0];
    if (e?.type !== 'assign' || e.right.type !== 'ref') throw new Error('unexpected shape');
    expect(e.loc).toEqual({ file: 'test.rego', line: 3, col: 3 });
    expect(e.right.loc).toEqual({ file: 'test.rego', line: 3, col: 8 });
    expect(e.right.path[1]?.loc).toEqual({ file: 'test.rego', line: 3, col: 18 });
  });
});
