// The catalog's fields drive behaviour: declared argument types refuse wrong literals at compile time, the
// integer operands are checked in front of every implementation (and by the runtime for native builtins),
// and the emitter and planner read scans, operators and per-evaluation keys from it.
import opa from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { CATALOG, operatorBuiltin, takesNumberTexts } from '../../src/builtins/catalog.js';
import { answerSizes, builtinWireName, customBuiltins } from '../../src/builtins/index.js';
import { compileRego } from '../../src/compile.js';
import { RegoCompileError } from '../../src/errors.js';
import { checkRego } from '../../src/tools/check.js';

/** A call of each builtin with integer operands that is defined, as Rego argument texts. */
const DEFINED_CALLS: Readonly<Record<string, readonly string[]>> = {
  substring: ['"abcdef"', '1', '2'],
  'array.slice': ['[1, 2, 3]', '0', '2'],
  'time.add_date': ['0', '1', '1', '1'],
  'regex.find_n': ['"a"', '"aaa"', '2'],
  'regex.find_all_string_submatch_n': ['"a"', '"aaa"', '2'],
  'rand.intn': ['"k"', '10'],
  format_int: ['10', '16'],
  'numbers.range': ['1', '3'],
  'numbers.range_step': ['1', '5', '2'],
  'bits.and': ['6', '3'],
  'bits.or': ['6', '3'],
  'bits.xor': ['6', '3'],
  'bits.negate': ['6'],
  'bits.lsh': ['6', '2'],
  'bits.rsh': ['6', '1'],
};

const withIntegers = Object.entries(CATALOG).filter(([, spec]) => spec.integers !== undefined);

interface Probe {
  rule: string;
  call: string;
  defined: boolean;
}

/** For every integer operand: the defined call, the call with 1.5 there, and with 2.0 there. */
function probes(): Probe[] {
  const out: Probe[] = [];
  for (const [name, spec] of withIntegers) {
    const args = DEFINED_CALLS[name]!;
    const rule = (suffix: string): string => `${name.replace(/\./g, '_')}_${suffix}`;
    out.push({ rule: rule('ok'), call: `${name}(${args.join(', ')})`, defined: true });
    for (const [position, operand] of Object.entries(spec.integers ?? {})) {
      const at = (text: string): string =>
        `${name}(${args.map((a, i) => (i === Number(position) ? text : a)).join(', ')})`;
      out.push({ rule: rule(`${position}_fraction`), call: at('1.5'), defined: false });
      // 2.0 is whole: BigIntOperand takes it, IntOperand parses the text and refuses it.
      out.push({ rule: rule(`${position}_written`), call: at('2.0'), defined: operand === 'integer' });
    }
  }
  return out;
}

describe('the catalog entries', () => {
  it('declare as many argument types as their arity, and integer operands only where the type is number', () => {
    for (const [name, spec] of Object.entries(CATALOG)) {
      expect(spec.args.length, name).toBe(spec.arity);
      for (const position of Object.keys(spec.integers ?? {}))
        expect(spec.args[Number(position)], name).toEqual(['number']);
      expect(spec.result.length, name).toBeGreaterThan(0);
    }
  });

  it('mark scans and fast paths only on what the runtime answers, number texts only on JavaScript builtins', () => {
    for (const [name, spec] of Object.entries(CATALOG)) {
      if (spec.scans !== undefined) expect(spec.args[spec.scans.arg], name).toBeDefined();
      if (spec.scans !== undefined && spec.fastPath !== true) expect(spec.lowering, name).toBe('native');
      if (takesNumberTexts(spec)) expect(spec.lowering === 'js' || spec.lowering === 'native', name).toBe(true);
      if (spec.numberTexts === true) expect(spec.lowering, name).toBe('js');
    }
    expect(CATALOG['internal.member_2']?.scans).toEqual({ arg: 1, setIsLookup: true });
    expect(CATALOG['rand.intn']?.perEvaluation).toEqual({ absoluteArgs: [1] });
  });

  it('name one builtin per operator and operand count', () => {
    expect(operatorBuiltin('+', 2)).toBe('plus');
    expect(operatorBuiltin('in', 2)).toBe('internal.member_2');
    expect(operatorBuiltin('in', 3)).toBe('internal.member_3');
    expect(operatorBuiltin('|', 2)).toBe('or');
    expect(operatorBuiltin('+', 3)).toBeUndefined();
    const keys = Object.values(CATALOG).flatMap((spec) =>
      spec.infix === undefined ? [] : [`${spec.infix}/${spec.arity}`],
    );
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('list a defined call here for every builtin with integer operands', () => {
    expect(withIntegers.map(([name]) => name).sort()).toEqual(Object.keys(DEFINED_CALLS).sort());
  });

  it('decide which operands must be integers: a fraction is an error, 2.0 only where OPA parses the text', async () => {
    const all = probes();
    const source = ['package t', ...all.map((p) => `${p.rule} := ${p.call}`)].join('\n');
    const entrypoints = all.map((p) => `t/${p.rule}`);
    const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints });
    const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
    const answers = Object.fromEntries(
      all.map((p) => [`${p.call}`, (policy.evaluate({}, `t/${p.rule}`) as unknown[]).length > 0]),
    );
    expect(answers).toEqual(Object.fromEntries(all.map((p) => [p.call, p.defined])));
  });
});

describe('declared argument types', () => {
  const compile = (body: string): unknown => {
    try {
      compileRego([{ path: 'p.rego', source: `package p\n${body}` }], { entrypoints: ['p/x'] });
      return 'compiled';
    } catch (error) {
      return error;
    }
  };

  it('refuse a literal of another type at compile time with file:line:col, as OPA does for uuid.rfc4122(1)', () => {
    const error = compile('x := uuid.rfc4122(1)');
    expect(error).toBeInstanceOf(RegoCompileError);
    expect((error as RegoCompileError).kind).toBe('invalid');
    expect((error as RegoCompileError).construct).toBe('uuid.rfc4122');
    expect((error as RegoCompileError).message).toBe(
      'p.rego:2:19: uuid.rfc4122: argument 1 is a number, but uuid.rfc4122 takes string there',
    );
  });

  it('check collections, comprehensions and operators too, and leave variables and unions alone', () => {
    expect(compile('x := count(1)')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := lower(["A"])')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := upper({a | a := "b"})')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := 1 & 2')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := "a" + 1')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := count("abc")')).toBe('compiled');
    expect(compile('x := {1} - {2}')).toBe('compiled');
    expect(compile('x := 3 - 2')).toBe('compiled');
    expect(compile('x := to_number(null)')).toBe('compiled');
    expect(compile('x := uuid.rfc4122(input.k)')).toBe('compiled');
    expect(compile('x := json.marshal(1)')).toBe('compiled');
  });

  it('know the result type of a nested builtin call or operator, as OPA infers it', () => {
    expect(compile('x := lower(count(input.xs))')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := upper(input.a == 1)')).toBeInstanceOf(RegoCompileError);
    expect(compile('x := startswith(1 in input.xs, "a")')).toBeInstanceOf(RegoCompileError);
    expect((compile('x := lower(count(input.xs))') as RegoCompileError).detail).toBe(
      'argument 1 is a number, but lower takes string there',
    );
    expect(compile('x := uuid.rfc4122(concat(",", input.xs))')).toBe('compiled');
    expect(compile('x := abs(1 - input.n)')).toBe('compiled');
    expect(compile('x := lower(json.unmarshal(input.s))')).toBe('compiled');
    expect(compile('f(v) := v\nx := lower(f(1))')).toBe('compiled');
  });

  it('refuse in a rule no entrypoint reaches as well, since OPA type-checks the whole module', () => {
    expect(compile('x := 1\ny := uuid.rfc4122(1)')).toBeInstanceOf(RegoCompileError);
  });

  it('do not apply to a function of the policy that shadows a builtin', () => {
    expect(compile('lower(n) := n + 1\nx := lower(1)')).toBe('compiled');
  });

  it('are reported by checkRego (`policy check`) with the others', () => {
    const problems = checkRego([{ path: 'p.rego', source: 'package p\nx := uuid.rfc4122(1)\ny := lower(2)\n' }]);
    expect(problems.map((p) => p.message)).toEqual([
      'p.rego:2:19: uuid.rfc4122: argument 1 is a number, but uuid.rfc4122 takes string there',
      'p.rego:3:12: lower: argument 1 is a number, but lower takes string there',
    ]);
  });
});

describe('answerSizes (the catalog elementsBuilt a host charges fuel with)', () => {
  it('counts what the builtin then builds, for the plain and the wire form, and nothing for non-integers', () => {
    const calls: Array<readonly [string, number[]]> = [
      ['numbers.range', [1, 10]],
      ['numbers.range', [10, -5]],
      ['numbers.range', [3, 3]],
      ['numbers.range_step', [1, 10, 3]],
      ['numbers.range_step', [10, 1, 4]],
      ['numbers.range_step', [0, 1000, 7]],
    ];
    for (const [name, args] of calls) {
      const built = customBuiltins[name]!(...args) as unknown[];
      expect(answerSizes[name]!(args), `${name}(${args.join(', ')})`).toBe(built.length);
      expect(answerSizes[builtinWireName(name)]!(args.map(String))).toBe(built.length);
    }
    expect(answerSizes['numbers.range']!([1, 2.5])).toBeUndefined();
    expect(answerSizes['numbers.range']!(['1', '"a"'])).toBeUndefined();
    expect(Object.keys(answerSizes).sort()).toEqual(
      ['numbers.range', 'numbers.range_step'].flatMap((n) => [n, builtinWireName(n)]).sort(),
    );
  });
});
