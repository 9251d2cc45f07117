import { describe, expect, it } from 'vitest';
import { evaluate, sorted, valueOf } from './evaluate.js';

describe('undefined is not false', () => {
  it('0, "", null and [] are true conditions; only false and undefined fail', async () => {
    const policy = 'package test\np if { 0; ""; null; []; {} }';
    expect(await valueOf(policy, 'test/p')).toBe(true);
    expect((await evaluate('package test\np if { false }', 'test/p')).defined).toBe(false);
    expect((await evaluate('package test\np if { input.missing }', 'test/p', {})).defined).toBe(false);
  });

  it('without input, refs to input are undefined (the rule does not hold)', async () => {
    expect((await evaluate('package test\np if { input.x == 1 }', 'test/p')).defined).toBe(false);
    expect(await valueOf('package test\ndefault p := false\np if { input }', 'test/p')).toBe(false);
  });
});

describe('iteration', () => {
  it('xs[_] tries every element (backtracking)', async () => {
    expect(await valueOf('package test\np if { input.xs[_] == 3 }', 'test/p', { xs: [1, 2, 3] })).toBe(true);
  });

  it('obj[k] with k unbound binds the keys', async () => {
    const policy = 'package test\np contains k if { input.o[k] > 1 }';
    expect(sorted(await valueOf(policy, 'test/p', { o: { a: 1, b: 2, c: 3 } }))).toEqual(['b', 'c']);
  });

  it('nested a[i].b[j] iterates both levels', async () => {
    const policy = 'package test\np contains [i, j] if { input.a[i].b[j] == "x" }';
    const input = { a: [{ b: ['y', 'x'] }, { b: ['x'] }] };
    expect(sorted(await valueOf(policy, 'test/p', input))).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('some x in xs, some k, v in obj, and some x; ... declare and iterate', async () => {
    expect(sorted(await valueOf('package test\np contains x if { some x in [3, 1] }', 'test/p'))).toEqual([1, 3]);
    expect(await valueOf('package test\np[v] := k if { some k, v in {"a": "x"} }', 'test/p')).toEqual({ x: 'a' });
    expect(sorted(await valueOf('package test\np contains x if { some x; [1, 2][x] }', 'test/p'))).toEqual([0, 1]);
  });

  it('a variable bound earlier is compared, not rebound, when it appears in a ref', async () => {
    const policy = 'package test\np contains i if { some i; i = 1; input.xs[i] == "b" }';
    expect(await valueOf(policy, 'test/p', { xs: ['a', 'b'] })).toEqual([1]);
  });
});

describe('negation', () => {
  it('not succeeds exactly when its expression is undefined or false', async () => {
    const policy = 'package test\np if { not input.blocked }';
    expect(await valueOf(policy, 'test/p', { blocked: false })).toBe(true);
    expect(await valueOf(policy, 'test/p', {})).toBe(true);
    expect((await evaluate(policy, 'test/p', { blocked: true })).defined).toBe(false);
  });

  it('not over an iteration fails when any element matches', async () => {
    const policy = 'package test\np if { not input.roles[_] == "banned" }';
    expect(await valueOf(policy, 'test/p', { roles: ['a', 'b'] })).toBe(true);
    expect((await evaluate(policy, 'test/p', { roles: ['a', 'banned'] })).defined).toBe(false);
  });

  it('not with a variable bound before it uses that binding', async () => {
    const policy = 'package test\np contains x if { some x in [1, 2, 3]; not x == 2 }';
    expect(sorted(await valueOf(policy, 'test/p'))).toEqual([1, 3]);
  });
});

describe('comparison, assignment and unification', () => {
  it('compares with == != < <= > >=, and 1 == 1.0', async () => {
    const policy = 'package test\np := [1 == 1.0, 1 != 2, 1 < 2, 2 <= 2, 3 > 2, 2 >= 3]';
    expect(await valueOf(policy, 'test/p')).toEqual([true, true, true, true, true, false]);
  });

  it('orders across types: null < boolean < number < string < array < object < set', async () => {
    const policy = 'package test\np if { null < false; false < 0; 0 < ""; "" < []; [] < {}; {} < set() }';
    expect(await valueOf(policy, 'test/p')).toBe(true);
  });

  it('[a, b] := arr destructures, and fails on a different length', async () => {
    expect(await valueOf('package test\np := b if { [a, b] := input }', 'test/p', [1, 2])).toBe(2);
    expect((await evaluate('package test\np := b if { [a, b] := input }', 'test/p', [1, 2, 3])).defined).toBe(false);
  });

  it('= binds whichever side has unbound variables', async () => {
    const policy = 'package test\np := [x, y] if { [x, 2] = [1, y] }';
    expect(await valueOf(policy, 'test/p')).toEqual([1, 2]);
    expect(await valueOf('package test\np := x if { input.v = x }', 'test/p', { v: 5 })).toBe(5);
  });

  it('object patterns bind values by key', async () => {
    expect(
      await valueOf('package test\np := n if { {"name": n, "age": _} := input }', 'test/p', { name: 'a', age: 1 }),
    ).toBe('a');
  });

  it('= between two bound values compares them', async () => {
    expect((await evaluate('package test\np if { x := 1; x = 2 }', 'test/p')).defined).toBe(false);
  });
});

describe('arithmetic and sets', () => {
  it('+ - * / % and unary minus on literals', async () => {
    expect(await valueOf('package test\np := [1 + 2, 5 - 7, 3 * 4, 7 / 2, 7 % 3, -4]', 'test/p')).toEqual([
      3, -2, 12, 3.5, 1, -4,
    ]);
  });

  it('% on a non-integer and division by zero are undefined (builtin errors)', async () => {
    expect((await evaluate('package test\np := 1.5 % 1', 'test/p')).defined).toBe(false);
    expect((await evaluate('package test\np := 1 / 0', 'test/p')).defined).toBe(false);
  });

  it('& | - on sets are intersection, union and difference', async () => {
    const policy = 'package test\na := {1, 2, 3}\nb := {2, 3, 4}\np := [a & b, a | b, a - b]';
    const [inter, union, diff] = (await valueOf(policy, 'test/p')) as unknown[];
    expect(sorted(inter)).toEqual([2, 3]);
    expect(sorted(union)).toEqual([1, 2, 3, 4]);
    expect(sorted(diff)).toEqual([1]);
  });

  it('x in xs and k, v in xs are boolean membership tests', async () => {
    expect(await valueOf('package test\np := [2 in [1, 2], 5 in [1, 2]]', 'test/p')).toEqual([true, false]);
    expect(await valueOf('package test\np if { "k", 1 in {"k": 1}; 1, "b" in ["a", "b"] }', 'test/p')).toBe(true);
    expect((await evaluate('package test\np if { "k", 2 in {"k": 1} }', 'test/p')).defined).toBe(false);
  });
});

describe('comprehensions', () => {
  it('array, set and object comprehensions collect solutions', async () => {
    const policy =
      'package test\np := [[y | some x in [1, 2]; y := x * 2], {x | some x in [1, 1]}, {k: v | some k, v in {"a": 1}}]';
    expect(await valueOf(policy, 'test/p')).toEqual([[2, 4], [1], { a: 1 }]);
  });

  it('a comprehension with no solution is empty but defined', async () => {
    expect(await valueOf('package test\np := [x | some x in []; x > 0]', 'test/p')).toEqual([]);
  });

  it('comprehensions see bindings of the enclosing body', async () => {
    const policy = 'package test\np := ys if { limit := 2; ys := [x | some x in [1, 2, 3]; x > limit] }';
    expect(await valueOf(policy, 'test/p')).toEqual([3]);
  });

  it('an outer variable bound after the comprehension in the text is bound first (reordering)', async () => {
    const policy = 'package test\np := ys if { ys := [x | some x in [1, 2, 3]; x > limit]; limit := 1 }';
    expect(await valueOf(policy, 'test/p')).toEqual([2, 3]);
  });
});

describe('every', () => {
  it('is true when the body holds for each element, and for an empty collection', async () => {
    const policy = 'package test\np if { every x in input { x > 0 } }';
    expect(await valueOf(policy, 'test/p', [1, 2])).toBe(true);
    expect(await valueOf(policy, 'test/p', [])).toBe(true);
    expect((await evaluate(policy, 'test/p', [1, -1])).defined).toBe(false);
  });

  it('binds key and value, and is undefined over a non-collection', async () => {
    expect(await valueOf('package test\np if { every i, x in [1, 2] { x == i + 1 } }', 'test/p')).toBe(true);
    expect((await evaluate('package test\np if { every x in 42 { x > 0 } }', 'test/p')).defined).toBe(false);
  });
});

describe('safety reordering and builtins', () => {
  it('a use before the binding expression in the text is reordered', async () => {
    expect(await valueOf('package test\np := y if { y > 1; y = input.n }', 'test/p', { n: 2 })).toBe(2);
  });

  it('a := declaration after a use of the same name is refused (var referenced above)', async () => {
    await expect(valueOf('package test\np := y if { y > 1; y := input.n }', 'test/p')).rejects.toThrow(
      /referenced above/,
    );
  });

  it('a builtin error makes the expression undefined (non-strict)', async () => {
    expect((await evaluate('package test\np := to_number("abc")', 'test/p')).defined).toBe(false);
  });

  it('print is accepted as a no-op', async () => {
    expect(await valueOf('package test\np if { print("hello", input.x); true }', 'test/p', {})).toBe(true);
  });

  it('strings count code points', async () => {
    expect(await valueOf('package test\np := [count("héllo"), substring("héllo", 1, 2)]', 'test/p')).toEqual([5, 'él']);
  });
});

describe('early exits keep the answers', () => {
  it('not over two nested iterations', async () => {
    const policy = 'package test\np if { not input.a[_].b[_] == 3 }';
    expect(await valueOf(policy, 'test/p', { a: [{ b: [1, 2] }, { b: [4] }] })).toBe(true);
    expect((await evaluate(policy, 'test/p', { a: [{ b: [1, 2] }, { b: [4, 3] }] })).defined).toBe(false);
  });

  it('every whose body iterates', async () => {
    const policy = 'package test\np if { every x in input.xs { some y in input.ys; y == x } }';
    expect(await valueOf(policy, 'test/p', { xs: [1, 2], ys: [2, 1, 2] })).toBe(true);
    expect((await evaluate(policy, 'test/p', { xs: [1, 5, 2], ys: [2, 1] })).defined).toBe(false);
  });

  it('a constant-valued rule stops at its first solution but still conflicts with other definitions', async () => {
    const policy = 'package test\np := 1 if { some x in input.xs; some y in input.xs; x != y }\np := 2 if input.b';
    expect(await valueOf(policy, 'test/p', { xs: [1, 2, 3] })).toBe(1);
    await expect(evaluate(policy, 'test/p', { xs: [1, 2, 3], b: true })).rejects.toThrow();
  });

  it('statements after an early exit in an enclosing scan still run for later elements', async () => {
    const policy =
      'package test\np contains x if { some x in input.xs; not x in input.skip; every y in input.ys { y != x } }';
    expect(sorted(await valueOf(policy, 'test/p', { xs: [1, 2, 3, 4], skip: [2], ys: [3] }))).toEqual([1, 4]);
  });
});

describe('numbers', () => {
  it('large integer literals keep their precision through the compiler (compared, not rounded)', async () => {
    const policy =
      'package test\np := [12345678901234567890 == 12345678901234567891, 9007199254740993 > 9007199254740992]';
    expect(await valueOf(policy, 'test/p')).toEqual([false, true]);
  });

  it('integers stay integers and exact division stays integral', async () => {
    expect(await valueOf('package test\np := [6 / 3, 2.0 * 2, 10 - 4]', 'test/p')).toEqual([2, 4, 6]);
  });
});
