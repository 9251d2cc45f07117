import { describe, expect, it } from 'vitest';
import { compileError, evaluate, sorted, valueOf } from './evaluate.js';

describe('complete rules', () => {
  it('p := v if {...} yields v when the body succeeds and is undefined when it fails', async () => {
    const policy = 'package test\np := input.n + 1 if { input.n > 0 }';
    expect(await valueOf(policy, 'test/p', { n: 2 })).toBe(3);
    expect((await evaluate(policy, 'test/p', { n: -1 })).defined).toBe(false);
  });

  it('p if {...} is true, and p = v without a body always holds', async () => {
    expect(await valueOf('package test\np if { 1 < 2 }', 'test/p')).toBe(true);
    expect(await valueOf('package test\np = "x"', 'test/p')).toBe('x');
  });

  it('default applies only when every definition is undefined', async () => {
    const policy = 'package test\ndefault p := "no"\np := "a" if input.a\np := "b" if input.b';
    expect(await valueOf(policy, 'test/p', {})).toBe('no');
    expect(await valueOf(policy, 'test/p', { b: true })).toBe('b');
  });

  it('two definitions with different values are a runtime conflict; equal values are fine', async () => {
    const policy = 'package test\np := 1 if input.x\np := 2 if input.y\np := 1 if input.z';
    await expect(evaluate(policy, 'test/p', { x: true, y: true })).rejects.toThrow();
    expect(await valueOf(policy, 'test/p', { x: true, z: true })).toBe(1);
  });

  it('one body with several solutions of different values is a conflict', async () => {
    await expect(evaluate('package test\np := x if { some x in [1, 2] }', 'test/p')).rejects.toThrow();
    expect(await valueOf('package test\np := x if { some y in [1, 2]; x := 7; y > 0 }', 'test/p')).toBe(7);
  });

  it('a package split over several files is one package', async () => {
    const files = ['package test\na := 1', 'package test\nb := a + 1', 'package test\np := [a, b]'];
    expect(await valueOf(files, 'test/p')).toEqual([1, 2]);
  });
});

describe('partial rules', () => {
  it('contains collects over all bodies and solutions, without duplicates', async () => {
    const policy = 'package test\np contains x if { some x in input.a }\np contains x if { some x in input.b }';
    expect(sorted(await valueOf(policy, 'test/p', { a: [1, 2], b: [2, 3] }))).toEqual([1, 2, 3]);
  });

  it('a partial set with no solution is the empty set, not undefined', async () => {
    expect(await valueOf('package test\np contains x if { some x in [] }', 'test/p')).toEqual([]);
  });

  it('p[k] := v builds an object; the same key with different values is a conflict', async () => {
    const policy = 'package test\np[k] := v if { some k, v in input }';
    expect(await valueOf(policy, 'test/p', { a: 1, b: 2 })).toEqual({ a: 1, b: 2 });
    const conflicting = 'package test\np[k] := 1 if { k := "a" }\np[k] := 2 if { k := "a" }';
    await expect(evaluate(conflicting, 'test/p')).rejects.toThrow();
  });

  it('rule heads with a ref (a.b.c := 1) build nested documents', async () => {
    const policy = 'package test\na.b.c := 1\na.b.d := 2\np := a';
    expect(await valueOf(policy, 'test/p')).toEqual({ b: { c: 1, d: 2 } });
    expect(await valueOf(policy, 'test/a/b/d')).toBe(2);
  });
});

describe('functions', () => {
  it('several definitions: the ones that fail are skipped', async () => {
    const policy =
      'package test\nsign(x) := -1 if x < 0\nsign(x) := 1 if x > 0\nsign(0) := 0\np := [sign(-5), sign(0), sign(3)]';
    expect(await valueOf(policy, 'test/p')).toEqual([-1, 0, 1]);
  });

  it('different outputs for the same inputs are a conflict error', async () => {
    const policy = 'package test\nf(x) := 1 if x > 0\nf(x) := 2 if x > 1\np := f(input.n)';
    expect(await valueOf(policy, 'test/p', { n: 1 })).toBe(1);
    await expect(evaluate(policy, 'test/p', { n: 2 })).rejects.toThrow();
  });

  it('arguments are patterns: constants compare and arrays destructure', async () => {
    const policy =
      'package test\nfirst([a, _]) := a\nkind("admin") := "root"\nkind(_) := "user" if input.other\np := [first([1, 2]), kind("admin")]';
    expect(await valueOf(policy, 'test/p', {})).toEqual([1, 'root']);
  });

  it('a call whose every definition fails is undefined', async () => {
    expect((await evaluate('package test\nf(x) := 1 if x > 10\np := f(1)', 'test/p')).defined).toBe(false);
  });

  it('calls through data.lib.f, an import alias and the bare name all reach the function', async () => {
    const lib = 'package lib\ndouble(x) := x * 2';
    const app =
      'package test\nimport data.lib\nimport data.lib as l\nhalf(x) := x / 2\np := [lib.double(1), data.lib.double(2), l.double(3), half(8)]';
    expect(await valueOf([lib, app], 'test/p')).toEqual([2, 4, 6, 4]);
  });

  it('a builtin called with an extra argument binds its result to it', async () => {
    expect(await valueOf('package test\np := n if { count([1, 2, 3], n) }', 'test/p')).toBe(3);
    expect(await valueOf('package test\nf(x) := x + 1\np := y if { f(1, y) }', 'test/p')).toBe(2);
  });
});

describe('else chains', () => {
  const policy = `package test
default p := "default"
p := "first" if { input.x == 1 }
else := "second" if { input.x == 2 }
else if { input.x == 3 }`;

  it('the first clause that succeeds wins', async () => {
    expect(await valueOf(policy, 'test/p', { x: 1 })).toBe('first');
    expect(await valueOf(policy, 'test/p', { x: 2 })).toBe('second');
  });

  it('a bare else value is true', async () => {
    expect(await valueOf(policy, 'test/p', { x: 3 })).toBe(true);
  });

  it('default still applies when no clause succeeds', async () => {
    expect(await valueOf(policy, 'test/p', { x: 9 })).toBe('default');
  });

  it('else works on functions', async () => {
    const f = 'package test\nf(x) := "small" if { x < 10 } else := "big"\np := [f(1), f(100)]';
    expect(await valueOf(f, 'test/p')).toEqual(['small', 'big']);
  });
});

describe('virtual documents', () => {
  const pkg = 'package test\na := 1\nb contains 2\nf(x) := x\nc := a if false';

  it('data.pkg is the object of its defined rules, without functions', async () => {
    expect(await valueOf([pkg, 'package main\np := data.test'], 'main/p')).toEqual({ a: 1, b: [2] });
  });

  it('data.pkg merges base data under the same path', async () => {
    expect(await valueOf([pkg, 'package main\np := data.test'], 'main/p', {}, { test: { z: 'base' } })).toEqual({
      a: 1,
      b: [2],
      z: 'base',
    });
  });

  it('data.pkg[x] iterates the rules of a package', async () => {
    const main = 'package main\np contains k if { some k; data.test[k] }';
    expect(sorted(await valueOf([pkg, main], 'main/p'))).toEqual(['a', 'b']);
  });

  it('a rule reading all of data depends on itself and is refused as recursion', async () => {
    expect(compileError(['package test\na := 1', 'package main\np := data'], 'main/p').construct).toBe('recursion');
  });

  it('data.x for a path beside the rules merges base data with packages below it', async () => {
    const doc = await valueOf(
      ['package top.test\na := 1', 'package main\np := data.top'],
      'main/p',
      {},
      { top: { base: true } },
    );
    expect(doc).toEqual({ base: true, test: { a: 1 } });
  });

  it('refs under data that match no rule read base data', async () => {
    expect(await valueOf('package test\np := data.config.limit', 'test/p', {}, { config: { limit: 5 } })).toBe(5);
  });

  it('an entrypoint naming a package returns its object', async () => {
    expect(await valueOf('package test\na := 1\nb := 2 if false', 'test')).toEqual({ a: 1 });
  });

  it('base data at a rule path is an error, not a silent pick', async () => {
    await expect(evaluate('package test\np := 1', 'test/p', {}, { test: { p: 2 } })).rejects.toThrow(
      'rego_compile_error: conflicting rule for data path test/p found (policy0.rego:2:1)',
    );
  });

  it('base data holding a non-object where rules sit below is an error; unrelated base data is fine', async () => {
    const policy = 'package test.users\nalice := 1';
    await expect(evaluate(policy, 'test/users/alice', {}, { test: { users: 'x' } })).rejects.toThrow(
      /conflicting rule for data path test\/users\/alice found/,
    );
    expect(await valueOf(policy, 'test/users/alice', {}, { test: { other: 1, users: { bob: 2 } } })).toBe(1);
  });

  // OPA refuses such data for every rule of the policy (its path-conflict check at load), not only for the
  // rules a query reaches.
  it('base data below a rule path, at a function, or at a rule no entrypoint reads is the same error', async () => {
    const policy = 'package test\np := 1\nq := 2\nf(x) := x\nobj[k] := 1 if { some k in ["a"] }';
    await expect(evaluate(policy, 'test/p', {}, { test: { q: { deep: 1 } } })).rejects.toThrow(
      /conflicting rule for data path test\/q found/,
    );
    await expect(evaluate(policy, 'test/p', {}, { test: { f: 1 } })).rejects.toThrow(
      /conflicting rule for data path test\/f found/,
    );
    await expect(evaluate(policy, 'test/p', {}, { test: { obj: { b: 1 } } })).rejects.toThrow(
      /conflicting rule for data path test\/obj found/,
    );
    const nested = 'package test\nimport rego.v1\na.b[x].c := 1 if { some x in ["u"] }\np := 1';
    await expect(evaluate(nested, 'test/p', {}, { test: { a: { b: { v: 1 } } } })).rejects.toThrow(
      /conflicting rule for data path test\/a\/b found/,
    );
  });

  it('rules below a base-data object merge with it: the document holds both', async () => {
    const policy = 'package test.users\nalice := 1';
    const reader = 'package main\nusers := data.test.users\nkeys contains k if { some k, _ in data.test.users }';
    const data = { test: { users: { bob: 2 } } };
    expect(await valueOf([policy, reader], 'main/users', {}, data)).toEqual({ alice: 1, bob: 2 });
    expect(sorted(await valueOf([policy, reader], 'main/keys', {}, data))).toEqual(['alice', 'bob']);
    expect(await valueOf([policy, reader], 'test/users/bob', {}, data)).toBe(2);
    const heads = 'package test\nimport rego.v1\na.b.c := 1\np := a';
    expect(await valueOf(heads, 'test/p', {}, { test: { a: { x: 1 } } })).toEqual({ b: { c: 1 }, x: 1 });
    expect(await valueOf(heads, 'test/a', {}, { test: { a: { x: 1 } } })).toEqual({ b: { c: 1 }, x: 1 });
  });
});

describe('imports', () => {
  it('import input.x as y reads input.x', async () => {
    expect(
      await valueOf('package test\nimport input.user as u\np := u.name', 'test/p', { user: { name: 'ann' } }),
    ).toBe('ann');
  });

  it('import data.lib makes lib a reference to data.lib', async () => {
    expect(await valueOf(['package lib\nlimit := 3', 'package test\nimport data.lib\np := lib.limit'], 'test/p')).toBe(
      3,
    );
  });
});

describe('name resolution of calls', () => {
  it('a function of the package shadows a builtin of the same name, as in OPA', async () => {
    const policy = 'package test\nmax(x, y) := x if x >= y\nmax(x, y) := y if y > x\np := max(7, 3)';
    expect(await valueOf(policy, 'test/p')).toBe(7);
  });

  it('other packages still get the builtin', async () => {
    const files = ['package lib\ncount(x) := "mine"', 'package test\np := count([1, 2])'];
    expect(await valueOf(files, 'test/p')).toBe(2);
  });
});

describe('size', () => {
  it('a literal set of 5000 strings compiles and answers membership', async () => {
    const set = Array.from({ length: 5000 }, (_, i) => `"/path/${i}"`).join(', ');
    const policy = `package test\nallowed := {${set}}\np := [input.a in allowed, input.b in allowed]`;
    expect(await valueOf(policy, 'test/p', { a: '/path/4999', b: '/path/5000' })).toEqual([true, false]);
  });
});

describe('size of computed collections', () => {
  it('an array of 2000 computed items compiles and evaluates', async () => {
    const items = Array.from({ length: 2000 }, (_, i) => `input.v + ${i}`).join(', ');
    const value = (await valueOf(`package test\np := [${items}]`, 'test/p', { v: 1 })) as number[];
    expect([value.length, value[0], value[1999]]).toEqual([2000, 1, 2000]);
  });
});
