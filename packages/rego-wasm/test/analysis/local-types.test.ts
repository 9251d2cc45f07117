// Local variables typed as OPA's type checker types them: bound by `:=` / `=` to a term whose type the
// syntax and the catalog tell (literals, collections, comprehensions, builtin and operator results, other
// typed variables), destructured arrays, builtin output arguments. A builtin argument of a type the catalog
// does not admit is refused at compile time with file:line:col and kind `invalid`
// (OPA: "rego_type_error: lower: invalid argument(s)"). Variables only evaluation can type stay unchecked,
// so a policy OPA accepts still compiles.
import { describe, expect, it } from 'vitest';
import { compileRego } from '../../src/compile.js';
import { RegoCompileError } from '../../src/errors.js';
import { checkRego } from '../../src/tools/check.js';

/** Compiles `package p` + `rules` (file p.rego, so rules start on line 3) for the entrypoint p/x. */
function compile(rules: string): RegoCompileError | 'compiled' {
  try {
    compileRego([{ path: 'p.rego', source: `package p\nimport rego.v1\n${rules}\n` }], { entrypoints: ['p/x'] });
    return 'compiled';
  } catch (error) {
    if (error instanceof RegoCompileError) return error;
    throw error;
  }
}

/** Each refusal: the rules, and the message with its file:line:col (the variable's occurrence). */
const REFUSED: ReadonlyArray<readonly [string, string, string]> = [
  [
    'x := 1; lower(x)',
    'x if {\n  y := 1\n  lower(y)\n}',
    'p.rego:5:9: lower: y (argument 1) is a number, but lower takes string there',
  ],
  [
    'x = 1',
    'x if {\n  y = 1\n  lower(y)\n}',
    'p.rego:5:9: lower: y (argument 1) is a number, but lower takes string there',
  ],
  [
    '1 = x',
    'x if {\n  1 = y\n  lower(y)\n}',
    'p.rego:5:9: lower: y (argument 1) is a number, but lower takes string there',
  ],
  [
    'a use before its binding (reordered as OPA orders it)',
    'x if {\n  upper(y)\n  y = [1]\n}',
    'p.rego:4:9: upper: y (argument 1) is an array, but upper takes string there',
  ],
  [
    'array destructuring',
    'x if {\n  [a, b] := ["s", 2]\n  startswith(a, b)\n}',
    'p.rego:5:17: startswith: b (argument 2) is a number, but startswith takes string there',
  ],
  [
    'a variable bound to another typed variable',
    'x if {\n  a := {"k": 1}\n  b := a\n  trim_space(b)\n}',
    'p.rego:6:14: trim_space: b (argument 1) is an object, but trim_space takes string there',
  ],
  [
    'a builtin result',
    'x if {\n  n := count(input.xs)\n  lower(n)\n}',
    'p.rego:5:9: lower: n (argument 1) is a number, but lower takes string there',
  ],
  [
    "a builtin's output argument",
    'x if {\n  count(input.xs, n)\n  lower(n)\n}',
    'p.rego:5:9: lower: n (argument 1) is a number, but lower takes string there',
  ],
  [
    'an operator result, passed to an operator',
    'x if {\n  s := input.a == 1\n  t := s + 1\n}',
    'p.rego:5:8: plus: s (argument 1) is a boolean, but plus takes number there',
  ],
  [
    'a comprehension',
    'x if {\n  s := {v | some v in input.xs}\n  sprintf("%v", s)\n}',
    'p.rego:5:17: sprintf: s (argument 2) is a set, but sprintf takes array there',
  ],
  [
    'inside a comprehension, from the body around it',
    'x := [lower(n) | some v in input.xs] if {\n  n := 1\n}',
    'p.rego:3:13: lower: n (argument 1) is a number, but lower takes string there',
  ],
  [
    'in a rule head',
    'x := upper(n) if {\n  n := 2\n}',
    'p.rego:3:12: upper: n (argument 1) is a number, but upper takes string there',
  ],
  [
    'in a function body',
    'f(a) := lower(b) if {\n  b := [a]\n}\nx := f("A")',
    'p.rego:3:15: lower: b (argument 1) is an array, but lower takes string there',
  ],
  [
    'in a rule no entrypoint reaches',
    'x := 1\ny if {\n  z := true\n  lower(z)\n}',
    'p.rego:6:9: lower: z (argument 1) is a boolean, but lower takes string there',
  ],
  [
    'a variable bound by iterating over an array literal (OPA: y = [1, 2][k])',
    'x if {\n  some y in [1, 2]\n  lower(y)\n}',
    'p.rego:5:9: lower: y (argument 1) is a number, but lower takes string there',
  ],
  [
    'the key of an object literal iterated over',
    'x if {\n  some k, v in {"a": 1}\n  abs(k)\n  v > 0\n}',
    'p.rego:5:7: abs: k (argument 1) is a string, but abs takes number there',
  ],
  [
    'the value of an object literal iterated over',
    'x if {\n  some _, v in {"a": 1}\n  lower(v)\n}',
    'p.rego:5:9: lower: v (argument 1) is a number, but lower takes string there',
  ],
  [
    'a member of a set literal',
    'x if {\n  some s in {true, false}\n  upper(s)\n}',
    'p.rego:5:9: upper: s (argument 1) is a boolean, but upper takes string there',
  ],
  [
    'the index of a typed local iterated over',
    'x if {\n  xs := ["a", "b"]\n  some i, v in xs\n  startswith(v, i)\n}',
    'p.rego:6:17: startswith: i (argument 2) is a number, but startswith takes string there',
  ],
  [
    'a key a reference iterates with',
    'x if {\n  xs := ["a"]\n  xs[i] == "a"\n  lower(i)\n}',
    'p.rego:6:9: lower: i (argument 1) is a number, but lower takes string there',
  ],
  [
    'a reference into a typed local',
    'x if {\n  o := {"a": 1}\n  lower(o.a)\n}',
    'p.rego:5:9: lower: argument 1 is a number, but lower takes string there',
  ],
  [
    'a reference into a collection literal (OPA assigns it to a local first)',
    'x if {\n  lower([1, 2][0])\n}',
    'p.rego:4:9: lower: argument 1 is a number, but lower takes string there',
  ],
  [
    'object destructuring',
    'x if {\n  {"a": n} := {"a": 1}\n  lower(n)\n}',
    'p.rego:5:9: lower: n (argument 1) is a number, but lower takes string there',
  ],
  [
    'array destructuring in some ... in',
    'x if {\n  some [a, b] in [[1, 2]]\n  lower(a)\n  b > 0\n}',
    'p.rego:5:9: lower: a (argument 1) is a number, but lower takes string there',
  ],
  [
    'nested iteration',
    'x if {\n  some row in [[1], [2, 3]]\n  some c in row\n  lower(c)\n}',
    'p.rego:6:9: lower: c (argument 1) is a number, but lower takes string there',
  ],
  [
    'a local destructured from a typed local',
    'x if {\n  pair := [1, 2]\n  [a, _] := pair\n  lower(a)\n}',
    'p.rego:6:9: lower: a (argument 1) is a number, but lower takes string there',
  ],
  [
    'iteration in a comprehension body',
    'x := [lower(v) | some v in [1]]',
    'p.rego:3:13: lower: v (argument 1) is a number, but lower takes string there',
  ],
  [
    'a rule of constant value (OPA types rules by their head values)',
    'n := 1\nx if {\n  lower(n)\n}',
    'p.rego:5:9: lower: n (argument 1) is a number, but lower takes string there',
  ],
  [
    'a rule referred to through data',
    'n := 1\nx if {\n  lower(data.p.n)\n}',
    'p.rego:5:9: lower: argument 1 is a number, but lower takes string there',
  ],
  [
    'a boolean rule with its default',
    'default allow := false\nallow if input.a\nx if {\n  count(allow)\n}',
    'p.rego:6:9: count: allow (argument 1) is a boolean, but count takes string or array or object or set there',
  ],
  [
    'a rule with an else of the same type',
    'v := 1 if input.a\nelse := 2\nx if {\n  lower(v)\n}',
    'p.rego:6:9: lower: v (argument 1) is a number, but lower takes string there',
  ],
  [
    'a member of a partial set of literals',
    'roles contains "admin"\nroles contains "dev"\nx if {\n  some r in roles\n  abs(r)\n}',
    'p.rego:7:7: abs: r (argument 1) is a string, but abs takes number there',
  ],
  [
    'a reference into a rule of object value',
    'limits := {"max": 5}\nx if {\n  lower(limits.max)\n}',
    'p.rego:5:9: lower: argument 1 is a number, but lower takes string there',
  ],
  [
    'the result of a function of the policy of one definition',
    'f(_) := 1\nx if {\n  lower(f(2))\n}',
    'p.rego:5:9: lower: argument 1 is a number, but lower takes string there',
  ],
  [
    'a local bound to the result of a function of the policy',
    'f(_) := "s"\nx if {\n  y := f(1)\n  abs(y)\n}',
    'p.rego:6:7: abs: y (argument 1) is a string, but abs takes number there',
  ],
  [
    'a comparison by = of values that share no type ("match error" in OPA)',
    'x if {\n  y := 1\n  y = "a"\n}',
    'p.rego:5:3: unification: the left side is a number and the right side a string, so = can never succeed',
  ],
  [
    'a rule compared by = with another type',
    'n := 1\nx if {\n  n = "a"\n}',
    'p.rego:5:3: unification: the left side is a number and the right side a string, so = can never succeed',
  ],
];

/** Policies OPA accepts: the variable's type is unknown before evaluation, or it is the declared one. */
const ACCEPTED: ReadonlyArray<readonly [string, string]> = [
  ['a reference', 'x if {\n  y := input.a\n  lower(y)\n}'],
  ['the declared type', 'x if {\n  y := "A"\n  lower(y)\n}'],
  ['a union that admits it', 'x if {\n  y := input.a - input.b\n  abs(y)\n}'],
  ['a function parameter', 'f(y) := lower(y)\nx := f("A")'],
  ['a result of a function of the policy', 'f(a) := a\nx if {\n  y := f("A")\n  lower(y)\n}'],
  ['a comparison after the binding', 'x if {\n  y := 1\n  y == input.a\n  format_int(y, 10)\n}'],
  ['an argument that takes any type', 'x if {\n  y := 1\n  is_string(y)\n  json.marshal(y)\n}'],
  ['the same name in another rule', 'y := 1\nx if {\n  y := "A"\n  lower(y)\n}'],
  ['an array destructured from a reference', 'x if {\n  [a, b] := input.pair\n  lower(a)\n  upper(b)\n}'],
  ['a variable bound by iterating over a reference', 'x if {\n  some y in input.names\n  lower(y)\n}'],
  ['a typed variable inside an array argument', 'x if {\n  n := 1\n  sprintf("%d", [n])\n}'],
  ['a number where a number is declared', 'x if {\n  n := count(input.xs)\n  format_int(n + 1, 16)\n}'],
  ['iteration over a mixed literal (a union that admits it)', 'x if {\n  some y in [1, "a"]\n  lower(y)\n}'],
  ['iteration over an empty literal', 'x if {\n  some y in []\n  lower(y)\n}'],
  ['iteration over a literal holding a reference', 'x if {\n  some y in [input.a, 1]\n  lower(y)\n}'],
  ['iteration over a comprehension', 'x if {\n  some y in [v | some v in input.xs]\n  lower(y)\n}'],
  ['iteration over a builtin result', 'x if {\n  some p in split(input.s, "/")\n  lower(p)\n}'],
  ['another key of an object literal', 'x if {\n  o := {"a": 1, "b": "s"}\n  lower(o.b)\n}'],
  ['a key of an object literal compared', 'x if {\n  some k, _ in {"a": 1}\n  lower(k)\n}'],
  ['a variable bound before it is iterated with', 'x if {\n  i := "s"\n  some i2 in [1]\n  lower(i)\n  i2 > 0\n}'],
  ['object destructuring of a reference', 'x if {\n  {"a": n} := input.o\n  lower(n)\n}'],
  ['iteration over a typed local in an every body', 'x if {\n  every v in [1] {\n    lower(v)\n  }\n}'],
  ['a rule whose definitions differ in type', 'v := 1 if input.a\nv := "s" if input.b\nx if {\n  lower(v)\n}'],
  ['a rule with an else of another type', 'v := 1 if input.a\nelse := "s"\nx if {\n  lower(v)\n}'],
  ['a rule whose default has another type', 'default v := "s"\nv := 1 if input.a\nx if {\n  lower(v)\n}'],
  ['a rule of input', 'v := input.v\nx if {\n  lower(v)\n}'],
  [
    'a rule below a partial object (OPA merges its type in)',
    'c[k] := 1 if {\n  some k in input.ks\n}\nc.s := "x"\nx if {\n  lower(c.s)\n}',
  ],
  ['a partial set of references', 'names contains input.a\nx if {\n  some n in names\n  lower(n)\n}'],
  ['a rule of the same name in another package', 'x if {\n  lower(data.q.n)\n}'],
  // OPA merges the types of several definitions into a union of function types, and checks no call of it then.
  ['a function whose definitions differ in type', 'f(1) := 1\nf(2) := "s"\nx if {\n  lower(f(1))\n}'],
  ['a function with an else of another type', 'f(x) := 1 if x > 0\nelse := "s"\nx if {\n  lower(f(1))\n}'],
  ['= with a reference to input', 'x if {\n  y := 1\n  y = input.a\n}'],
  ['= with a union that shares a type', 'x if {\n  some y in [1, "a"]\n  y = "a"\n}'],
  ['= that binds a variable of a pattern', 'x if {\n  [a, 1] = [2, 1]\n  a > 0\n}'],
  ['== between different types (equal takes any)', 'x if {\n  y := 1\n  not y == "a"\n}'],
  // OPA's checker does not read `every` bodies (nor what is nested in them): an error there is a run-time one.
  ['a typed variable in an every body', 'x if {\n  n := 1\n  every v in input.xs {\n    startswith(v, n)\n  }\n}'],
  ['a literal in an every body', 'x if {\n  every v in input.xs {\n    lower(1)\n    [upper(2) | v]\n  }\n}'],
];

describe('argument types of local variables', () => {
  for (const [what, rules, message] of REFUSED) {
    it(`refuses ${what} with file:line:col and kind invalid`, () => {
      const error = compile(rules);
      expect(error, rules).toBeInstanceOf(RegoCompileError);
      expect((error as RegoCompileError).message).toBe(message);
      expect((error as RegoCompileError).kind).toBe('invalid');
    });
  }

  for (const [what, rules] of ACCEPTED) {
    it(`compiles ${what}`, () => {
      const result = compile(rules);
      expect(result, result instanceof RegoCompileError ? result.message : rules).toBe('compiled');
    });
  }

  it('are reported by checkRego (`policy check`) with every other error of the file', () => {
    const source = 'package p\nimport rego.v1\na if {\n  n := 1\n  lower(n)\n}\nb := upper(2)\n';
    expect(checkRego([{ path: 'p.rego', source }]).map((p) => p.message)).toEqual([
      'p.rego:5:9: lower: n (argument 1) is a number, but lower takes string there',
      'p.rego:7:12: upper: argument 1 is a number, but upper takes string there',
    ]);
  });
});
