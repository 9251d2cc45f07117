import { describe, expect, it } from 'vitest';
import { compileError, evaluate, valueOf } from './evaluate.js';

// `with` as OPA evaluates it (https://www.openpolicyagent.org/docs/policy-language#with-keyword): each
// case states OPA's answer.
const head = 'package test\nimport rego.v1\n';

describe('with on input', () => {
  it('replaces the whole input, or one path of it, for one expression', async () => {
    const policy = `${head}allow if input.user == "alice"\np if allow with input as {"user": "alice"}\nq if allow with input.user as "alice"\nr if not allow with input.user as "bob"`;
    expect(await valueOf(policy, 'test/p', { user: 'bob' })).toBe(true);
    expect(await valueOf(policy, 'test/q', { user: 'bob' })).toBe(true);
    expect(await valueOf(policy, 'test/r', { user: 'alice' })).toBe(true);
  });

  it('builds the objects a path needs when there is no input, and keeps the other keys', async () => {
    const policy = `${head}p := v if { v := input with input.a.b as 1 }\nq := v if { v := input with input.a.b as 1 }`;
    expect(await valueOf(policy, 'test/p')).toEqual({ a: { b: 1 } });
    expect(await valueOf(policy, 'test/q', { a: { c: 2, b: 0 }, d: 3 })).toEqual({ a: { b: 1, c: 2 }, d: 3 });
  });

  it('evaluates the value in the enclosing body and lets the expression bind variables', async () => {
    const policy = `${head}name := input.name\np := x if {\n  u := "carol"\n  x := name with input.name as u\n}`;
    expect(await valueOf(policy, 'test/p', { name: 'dave' })).toBe('carol');
  });

  it('does not reuse a rule value computed for another input in the same evaluation', async () => {
    const policy = `${head}r := input.x\np := [a, b, c] if {\n  a := r\n  b := r with input.x as 2\n  c := r\n}`;
    expect(await valueOf(policy, 'test/p', { x: 1 })).toEqual([1, 2, 1]);
  });

  it('applies to some and every, domain and body', async () => {
    const policy = `${head}p if {\n  every x in input.xs { x > 0 } with input.xs as [1, 2]\n}\nq if {\n  every x in input.xs { x > 0 } with input.xs as [1, -2]\n}\nr := x if {\n  some x in input.xs with input.xs as [7]\n}`;
    expect(await valueOf(policy, 'test/p')).toBe(true);
    expect((await evaluate(policy, 'test/q')).defined).toBe(false);
    expect(await valueOf(policy, 'test/r')).toBe(7);
  });

  it('inside a comprehension and an every body', async () => {
    const policy = `${head}double := input.n * 2\np := v if { v := [d | some n in [1, 2]; d := double with input.n as n] }\nq if {\n  every n in [1, 2] { double == n * 2 with input.n as n }\n}`;
    expect(await valueOf(policy, 'test/p')).toEqual([2, 4]);
    expect(await valueOf(policy, 'test/q')).toBe(true);
  });
});

describe('with on data', () => {
  it('replaces base data and a complete rule, and rules that depend on it see the replacement', async () => {
    const policy = `${head}limit := 5\nover if count(input.items) > limit\np if over with input.items as [1, 2, 3] with data.test.limit as 2\nq if not over with input.items as [1, 2, 3]\nr := v if { v := data.cfg.x with data.cfg.x as 3 }`;
    expect(await valueOf(policy, 'test/p')).toBe(true);
    expect(await valueOf(policy, 'test/q')).toBe(true);
    expect(await valueOf(policy, 'test/r', undefined, { cfg: { x: 1, y: 2 } })).toBe(3);
  });

  it('replaces a partial set, and a whole package read through its rules and as an object', async () => {
    const policy = [
      `${head}deny contains "a" if input.a\nlimit := 5\nextra := 1`,
      'package check\nimport rego.v1\nimport data.test\np := v if { v := count(test.deny) with data.test.deny as {"x", "y"} }\nq := v if { v := [test.limit, object.get(test, "extra", "none")] with data.test as {"limit": 9} }\nr := v if { v := data.test with data.test.limit as 7 }',
    ];
    expect(await valueOf(policy, 'check/p', { a: true })).toBe(2);
    expect(await valueOf(policy, 'check/q')).toEqual([9, 'none']);
    expect(await valueOf(policy, 'check/r')).toEqual({ deny: [], limit: 7, extra: 1 });
  });
});

describe('with on functions and builtins', () => {
  it('replaces a function by another function, a builtin or a value, also where a rule calls it', async () => {
    const policy = `${head}f(x) := x + 1\ng(x) := x * 10\nval := f(1)\np := v if { v := val with f as g }\nq := v if { v := val with f as 7 }\nr := v if { v := val with f as abs }\ns := f(1)`;
    expect(await valueOf(policy, 'test/p')).toBe(10);
    expect(await valueOf(policy, 'test/q')).toBe(7);
    expect(await valueOf(policy, 'test/r')).toBe(1);
    expect(await valueOf(policy, 'test/s')).toBe(2);
  });

  it('replaces a builtin by a value or a function', async () => {
    const policy = `${head}now := time.now_ns()\nmine(xs) := 100\np := v if { v := now with time.now_ns as 42 }\nq := v if { v := count([1, 2]) with count as mine }\nr := v if { v := count([1, 2]) with count as 5 }`;
    expect(await valueOf(policy, 'test/p')).toBe(42);
    expect(await valueOf(policy, 'test/q')).toBe(100);
    expect(await valueOf(policy, 'test/r')).toBe(5);
  });

  it('refuses a replacement with another arity', () => {
    expect(compileError(`${head}g(x, y) := x\np := v if { v := count([1]) with count as g }`).construct).toBe('with');
  });
});
