// Every compile error carries a stable kind, so callers branch on it instead of on message text.
import { describe, expect, it } from 'vitest';
import { compileRego } from '../src/compile.js';
import { RegoCompileError, type CompileErrorKind } from '../src/errors.js';

function kindOf(source: string, entrypoint = 'test/p'): CompileErrorKind {
  try {
    compileRego([{ path: 'p.rego', source: `package test\n\nimport rego.v1\n\n${source}\n` }], {
      entrypoints: [entrypoint],
    });
  } catch (error) {
    if (error instanceof RegoCompileError) return error.kind;
    throw error;
  }
  throw new Error('compiled');
}

describe('compile error kinds', () => {
  const cases: Array<[CompileErrorKind, string, string]> = [
    ['syntax', 'an unterminated string', 'p := "abc'],
    ['syntax', 'a rule without a body or value', 'p if'],
    ['unsafe', 'a variable nothing binds', 'p if x > 1'],
    ['conflict', 'a function defined with two arities', 'f(x) := x\nf(x, y) := x\np := f(1)'],
    ['conflict', 'two defaults', 'default p := 1\ndefault p := 2'],
    ['undefined', 'a call to nothing', 'p := nosuch.fn(1)'],
    ['invalid', 'literals that can never unify', 'p if [1, 2] = [1]'],
    ['recursion', 'a rule that depends on itself', 'p if p'],
    ['unsupported', "`with` on part of a rule's value", 'r := {"a": 1}\np if { r.a == 2 with data.test.r.a as 2 }'],
    ['unsupported', 'a network call', 'p := http.send({})'],
  ];
  for (const [kind, what, source] of cases) {
    it(`${what}: ${kind}`, () => expect(kindOf(source)).toBe(kind));
  }
});
