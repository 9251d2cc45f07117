import { describe, expect, it } from 'vitest';
import { compileError, valueOf } from './evaluate.js';

describe('constructs outside the subset are refused at compile time with file:line:col', () => {
  it("with on part of a rule's value", () => {
    const error = compileError('package test\nr := {"a": 1}\np if {\n  r.a == 2 with data.test.r.a as 2\n}');
    expect(error.construct).toBe('with');
    expect(error.loc).toMatchObject({ file: 'policy0.rego', line: 4 });
    expect(error.message).toMatch(/^policy0\.rego:4:\d+: with:/);
  });

  it('with replacing a function by a computed value', () => {
    expect(compileError('package test\nf(x) := x\np if {\n  v := input.v\n  f(1) == v with f as v\n}').construct).toBe(
      'with',
    );
  });

  it('but not an unsupported call in a rule no entrypoint reaches', async () => {
    const policy =
      'package test\np := 1\nhelper := http.send({"method": "GET", "url": "http://x"})\nnot_used := crypto.x509.parse_certificates("x")';
    expect(await valueOf(policy, 'test/p')).toBe(1);
    expect(compileError(policy, 'test/helper').construct).toBe('http.send');
  });

  it('template strings (OPA 1.x), with kind unsupported and what to use instead', () => {
    for (const source of ['package test\np := $"user {input.user}"', 'package test\np := $`user {input.user}`']) {
      const error = compileError(source);
      expect(error.construct).toBe('template string');
      expect(error.kind).toBe('unsupported');
      expect(error.message).toMatch(/^policy0\.rego:2:6: template string: .*sprintf or concat$/);
    }
    expect(compileError('package test\np := $x').construct).toBe('character');
  });

  it('http.send', () => {
    const error = compileError('package test\np := http.send({"method": "GET", "url": "http://x"})');
    expect(error.construct).toBe('http.send');
    expect(error.loc.line).toBe(2);
  });

  it('unknown functions, and OPA builtins the catalog refuses with their reason', () => {
    expect(compileError('package test\np := no_such_fn(1)').construct).toBe('unknown function');
    const refused = compileError('package test\np := graphql.parse_query("x")');
    expect(refused.construct).toBe('graphql.parse_query');
    expect(refused.message).toMatch(/GraphQL parsing is not compiled/);
  });

  it('a function given the wrong number of arguments', () => {
    expect(compileError('package test\np := count(1, 2, 3)').message).toMatch(/count takes 1/);
  });

  it('direct and mutual recursion', () => {
    expect(compileError('package test\np := q\nq := p').construct).toBe('recursion');
    expect(compileError('package test\nf(x) := f(x)\np := f(1)').construct).toBe('recursion');
  });

  it('a function used as a value', () => {
    expect(compileError('package test\nf(x) := x\np := f').construct).toBe('function reference');
  });

  it('unary minus on anything but a number literal', () => {
    expect(compileError('package test\np := -input.x').construct).toBe('unary minus');
  });

  it('rules named input or data', () => {
    expect(compileError('package test\ninput := 1').message).toMatch(/input/);
    expect(compileError('package test\np if { some data in [1] }').construct).toBe('data shadowed');
  });
});

describe('unsafe variables are compile errors naming the variable', () => {
  it('a variable nothing binds', () => {
    const error = compileError('package test\np if {\n  x > 1\n}');
    expect(error.construct).toBe('unsafe var x');
    expect(error.loc).toMatchObject({ line: 3, col: 3 });
  });

  it('a head variable the body does not bind', () => {
    expect(compileError('package test\np := y if { x := 1 }').construct).toBe('unsafe var y');
  });

  it('a variable only used inside not', () => {
    expect(compileError('package test\np if { not input.xs[i] }').construct).toBe('unsafe var i');
  });

  it('a function argument that is never bound', () => {
    expect(compileError('package test\np := x if { count(x) > 1 }').construct).toBe('unsafe var x');
  });

  it('in a rule no entrypoint reaches', () => {
    expect(compileError('package test\np := 1\nq if { z == 1 }').construct).toBe('unsafe var z');
  });

  it('literals of different shapes can never unify', () => {
    expect(compileError('package test\np if { [x] = {"a": 1} }').construct).toBe('unification');
  });
});

describe('module-level checks', () => {
  it('a rule defined as complete and as a partial set', () => {
    expect(compileError('package test\np := 1\np contains 2').construct).toBe('rule kind conflict');
  });

  it('two defaults for one rule', () => {
    expect(compileError('package test\ndefault p := 1\ndefault p := 2').construct).toBe('default');
  });

  it('a function with different arities', () => {
    expect(compileError('package test\nf(x) := 1\nf(x, y) := 2\np := f(1)').construct).toBe('function arity conflict');
  });

  it('a rule below another rule', () => {
    expect(compileError('package test\na := 1\na.b := 2').construct).toBe('rule path conflict');
  });

  it('imports other than data.* and input.*', () => {
    expect(compileError('package test\nimport foo.bar\np := 1').construct).toBe('import');
  });
});

describe('limits', () => {
  it('a body of 1500 expressions compiles and evaluates (planning costs no stack per expression)', async () => {
    const body = Array.from({ length: 1500 }, (_, i) => `x${i} := input.v + ${i}`).join('\n  ');
    expect(await valueOf(`package test\np := x1499 if {\n  ${body}\n}`, 'test/p', { v: 1 })).toBe(1500);
  });
});
