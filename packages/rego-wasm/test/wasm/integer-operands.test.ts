// Integer operands beyond 2^53, for every catalog entry that declares one: each answer is OPA's (read from
// its Go sources: IntOperand parses the text as an int64, BigIntOperand reads a 64-bit-mantissa big.Float and
// takes it when whole) or a refusal (undefined) where OPA's own answer is not reproduced. Each case runs with
// its arguments written in the policy and again read from the input (a JSON text the SDK hands over as is),
// and the answers are compared inside the policy, so the SDK's JSON.parse of the result rounds nothing.
// A catalog entry with integer operands and no row here fails the first test.
import opa from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/builtins/catalog.js';
import { customBuiltins } from '../../src/builtins/index.js';
import { compileRego } from '../../src/compile.js';

interface Case {
  /** The arguments as Rego terms that are also JSON (they are read from the input too). */
  readonly args: readonly string[];
  /**
   * OPA's answer as a Rego term, compared with `==` in the policy; undefined when OPA errors (or the answer
   * is refused); a function when the answer is a condition on `r` (rand.intn).
   */
  readonly expect: string | undefined | { readonly holds: string };
}

const TWO_53_PLUS_1 = '9007199254740993';
const INT64_MAX = '9223372036854775807';
const INT64_MAX_PLUS_1 = '9223372036854775808';
const INT64_MIN = '-9223372036854775808';

/** Per builtin: a call that is defined (`base`, its integer operands replaced by the generic cases) and cases. */
const TABLE: Readonly<Record<string, { readonly base: readonly string[]; readonly cases: readonly Case[] }>> = {
  substring: {
    base: ['"abc"', '1', '1'],
    cases: [
      { args: ['"abc"', TWO_53_PLUS_1, '1'], expect: '""' },
      { args: ['"äbc"', TWO_53_PLUS_1, '1'], expect: '""' },
      { args: ['"abc"', '1', TWO_53_PLUS_1], expect: '"bc"' },
      { args: ['"äbc"', '1', TWO_53_PLUS_1], expect: '"bc"' },
      { args: ['"abc"', INT64_MAX, '1'], expect: '""' },
      { args: ['"abc"', '0', INT64_MAX], expect: '"abc"' },
      { args: ['"abc"', '1', INT64_MIN], expect: '"bc"' },
      { args: ['""', INT64_MAX, INT64_MAX], expect: '""' },
      { args: ['"abc"', '3', INT64_MAX], expect: '""' },
      // OPA computes 1 + MaxInt64 in int64: it wraps and Go's slice panics. Refused, in Wasm and in JS.
      { args: ['"abc"', '1', INT64_MAX], expect: undefined },
      { args: ['"äbc"', '1', INT64_MAX], expect: undefined },
      { args: ['"abc"', `-${TWO_53_PLUS_1}`, '1'], expect: undefined },
    ],
  },
  'array.slice': {
    base: ['[1, 2, 3]', '0', '2'],
    cases: [
      { args: ['[1, 2, 3]', '1', TWO_53_PLUS_1], expect: '[2, 3]' },
      { args: ['[1, 2, 3]', `-${TWO_53_PLUS_1}`, '2'], expect: '[1, 2]' },
      { args: ['[1, 2, 3]', TWO_53_PLUS_1, INT64_MAX], expect: '[]' },
      { args: ['[1, 2, 3]', INT64_MIN, INT64_MAX], expect: '[1, 2, 3]' },
    ],
  },
  format_int: {
    base: ['10', '16'],
    cases: [
      { args: [TWO_53_PLUS_1, '10'], expect: `"${TWO_53_PLUS_1}"` },
      { args: [INT64_MAX, '16'], expect: '"7fffffffffffffff"' },
      // Beyond int64 the number is read as a 64-bit big.Float and truncated: 2^64 + 1 is 2^64.
      { args: ['18446744073709551617', '10'], expect: '"18446744073709551616"' },
    ],
  },
  'time.add_date': {
    base: ['0', '1', '1', '1'],
    cases: [
      { args: ['0', '0', '0', '106751'], expect: '9223286400000000000' },
      { args: ['0', '0', '0', '106752'], expect: undefined },
      { args: ['1704067199999999999', '0', '1', '0'], expect: '1706745599999999999' },
      { args: ['1675123200000000000', '0', '1', '0'], expect: '1677801600000000000' },
      // 10^10 years are 25,000,000 Gregorian cycles of 146,097 days: back to the epoch.
      { args: ['0', '10000000000', '0', '-3652425000000'], expect: '0' },
      { args: ['0', '0', '0', TWO_53_PLUS_1], expect: undefined },
      // Beyond Go's exact range of AddDate (its int arithmetic wraps): refused.
      { args: ['0', '10000000001', '0', '-3652425000000'], expect: undefined },
    ],
  },
  'regex.find_n': {
    base: ['"a"', '"aaa"', '2'],
    cases: [
      { args: ['"a"', '"aaa"', TWO_53_PLUS_1], expect: '["a", "a", "a"]' },
      { args: ['"a"', '"aaa"', INT64_MAX], expect: '["a", "a", "a"]' },
      { args: ['"a"', '"aaa"', `-${TWO_53_PLUS_1}`], expect: '["a", "a", "a"]' },
    ],
  },
  'regex.find_all_string_submatch_n': {
    base: ['"a(b)"', '"abab"', '1'],
    cases: [
      { args: ['"a(b)"', '"abab"', TWO_53_PLUS_1], expect: '[["ab", "b"], ["ab", "b"]]' },
      { args: ['"a(b)"', '"abab"', INT64_MIN], expect: '[["ab", "b"], ["ab", "b"]]' },
    ],
  },
  'rand.intn': {
    base: ['"k"', '10'],
    cases: [
      { args: ['"k"', TWO_53_PLUS_1], expect: { holds: `r >= 0; r < ${TWO_53_PLUS_1}; is_number(r)` } },
      { args: ['"k"', `-${INT64_MAX}`], expect: { holds: `r >= 0; r < ${INT64_MAX}` } },
      { args: ['"k"', '0'], expect: '0' },
      // Go's -n of the smallest int64 is itself, and Intn panics on it.
      { args: ['"k"', INT64_MIN], expect: undefined },
    ],
  },
  'numbers.range': {
    base: ['1', '3'],
    cases: [
      {
        args: [TWO_53_PLUS_1, '9007199254740995'],
        expect: '[9007199254740993, 9007199254740994, 9007199254740995]',
      },
      {
        args: ['-9007199254740995', `-${TWO_53_PLUS_1}`],
        expect: '[-9007199254740995, -9007199254740994, -9007199254740993]',
      },
      { args: [INT64_MAX, INT64_MAX_PLUS_1], expect: `[${INT64_MAX}, ${INT64_MAX_PLUS_1}]` },
      // 2^64 + 1 has 65 significant bits: OPA reads it as 2^64 (2^64 + 2 is exact), so three numbers.
      {
        args: ['18446744073709551617', '18446744073709551618'],
        expect: '[18446744073709551616, 18446744073709551617, 18446744073709551618]',
      },
      { args: ['1e1', '11'], expect: '[10, 11]' },
      // 1 + 10^-20 rounds to 1 at 64 bits; 1 + 10^-17 does not and is no integer.
      { args: ['1.00000000000000000001', '2'], expect: '[1, 2]' },
    ],
  },
  'numbers.range_step': {
    base: ['1', '5', '2'],
    cases: [
      {
        args: [TWO_53_PLUS_1, '9007199254740999', '3'],
        expect: '[9007199254740993, 9007199254740996, 9007199254740999]',
      },
      { args: ['0', '10', INT64_MAX_PLUS_1], expect: '[0]' },
      { args: ['0', '1', `-${TWO_53_PLUS_1}`], expect: undefined },
    ],
  },
  'bits.and': {
    base: ['6', '3'],
    cases: [
      { args: [TWO_53_PLUS_1, TWO_53_PLUS_1], expect: TWO_53_PLUS_1 },
      { args: ['18446744073709551617', '1'], expect: '0' },
      { args: ['-9223372036854775809', '-1'], expect: '-9223372036854775809' },
    ],
  },
  'bits.or': {
    base: ['6', '3'],
    cases: [{ args: ['9007199254740992', '1'], expect: TWO_53_PLUS_1 }],
  },
  'bits.xor': {
    base: ['6', '3'],
    cases: [{ args: [TWO_53_PLUS_1, '1'], expect: '9007199254740992' }],
  },
  'bits.negate': {
    base: ['6'],
    cases: [{ args: [TWO_53_PLUS_1], expect: '-9007199254740994' }],
  },
  'bits.lsh': {
    base: ['6', '2'],
    cases: [
      { args: ['1', '64'], expect: '18446744073709551616' },
      { args: [TWO_53_PLUS_1, '1'], expect: '18014398509481986' },
      { args: ['1', '-1'], expect: undefined },
    ],
  },
  'bits.rsh': {
    base: ['6', '1'],
    cases: [
      { args: ['18014398509481987', '1'], expect: TWO_53_PLUS_1 },
      { args: ['-5', '100000'], expect: '-1' },
      { args: ['5', '100000'], expect: '0' },
      { args: ['1', '-1'], expect: undefined },
      // Go shifts by the low 64 bits of the count: not reproduced, refused.
      { args: ['1', '18446744073709551616'], expect: undefined },
    ],
  },
};

const WITH_INTEGERS = Object.entries(CATALOG).filter(([, spec]) => spec.integers !== undefined);

/**
 * Cases every entry gets from its catalog row alone: at each integer operand, values OPA refuses as that
 * operand kind (IntOperand: outside int64 or not written as an integer; BigIntOperand: not whole at 64 bits).
 */
function generatedCases(name: string): Case[] {
  const spec = CATALOG[name]!;
  const base = TABLE[name]!.base;
  return Object.entries(spec.integers ?? {}).flatMap(([position, kind]) => {
    const at = (text: string): Case => ({
      args: base.map((a, i) => (i === Number(position) ? text : a)),
      expect: undefined,
    });
    return kind === 'int64'
      ? [at(INT64_MAX_PLUS_1), at('-9223372036854775809'), at('1.0'), at('1e0')]
      : [at('1.00000000000000001'), at('9007199254740993.5'), at('1.5')];
  });
}

function casesOf(name: string): Case[] {
  return [...TABLE[name]!.cases, ...generatedCases(name)];
}

/** The policy: for case i, r_i with the arguments written in it, s_i with them read from input.c<i>. */
function policyOf(name: string, cases: readonly Case[]): string {
  const lines = ['package t', 'import rego.v1'];
  cases.forEach((c, i) => {
    const fromInput = c.args.map((_, j) => `input.c${i}[${j}]`);
    for (const [rule, args] of [
      [`r_${i}`, c.args],
      [`s_${i}`, fromInput],
    ] as const) {
      lines.push(`${rule} := ${name}(${args.join(', ')})`);
      if (typeof c.expect === 'string') lines.push(`${rule}_ok if ${rule} == ${c.expect}`);
      else if (c.expect !== undefined) lines.push(`${rule}_ok if { r := ${rule}; ${c.expect.holds} }`);
    }
  });
  return `${lines.join('\n')}\n`;
}

async function run(name: string): Promise<void> {
  const cases = casesOf(name);
  const checked = cases.flatMap((c, i) =>
    ['r', 's'].map((side) => `t/${side}_${i}${c.expect === undefined ? '' : '_ok'}`),
  );
  const entrypoints = [...new Set([...checked, ...checked.map((e) => e.replace(/_ok$/, ''))])];
  const { wasm } = compileRego([{ path: 't.rego', source: policyOf(name, cases) }], { entrypoints });
  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  // The input as JSON text, so every digit reaches the module (the SDK would JSON.stringify an object).
  const text = `{${cases.map((c, i) => `"c${i}": [${c.args.join(', ')}]`).join(', ')}}`;
  const input = new TextEncoder().encode(text);
  for (const entrypoint of checked) {
    const result = policy.evaluate(input.buffer.slice(0, input.byteLength), entrypoint) as Array<{ result: unknown }>;
    const index = Number(/_(\d+)/.exec(entrypoint)![1]);
    const c = cases[index]!;
    const call = `${name}(${c.args.join(', ')})${entrypoint.startsWith('t/s') ? ' from input' : ''}`;
    if (c.expect === undefined) expect(result, `${call} is undefined in OPA`).toEqual([]);
    else {
      const answer = policy.evaluate(input.buffer.slice(0, input.byteLength), entrypoint.replace(/_ok$/, ''));
      expect(result, `${call} → ${JSON.stringify(answer)}, OPA: ${JSON.stringify(c.expect)}`).toEqual([
        { result: true },
      ]);
    }
  }
}

describe('integer operands beyond 2^53', () => {
  it('every catalog entry with integer operands has a row in this table', () => {
    expect(Object.keys(TABLE).sort()).toEqual(WITH_INTEGERS.map(([name]) => name).sort());
  });

  for (const [name] of WITH_INTEGERS) {
    it(`${name}: OPA's answer or undefined, written in the policy and read from the input`, async () => {
      await run(name);
    });
  }

  // Bundles built by `opa build` hand builtin arguments over through the SDK's JSON.parse: a double beyond
  // 2^53 no longer says which integer the policy held, so the call is refused instead of answered for a
  // neighbour of that number.
  it('refuses a double beyond 2^53 at an integer operand in the SDK JSON form (opa build bundles)', () => {
    for (const [name, spec] of WITH_INTEGERS) {
      if (spec.lowering !== 'js') continue;
      const base = TABLE[name]!.base.map((a) => JSON.parse(a) as unknown);
      const plain = customBuiltins[name]!;
      expect(plain(...base), `${name}(${JSON.stringify(base)})`).toBeDefined();
      for (const position of Object.keys(spec.integers ?? {})) {
        const args = base.map((a, i) => (i === Number(position) ? 2 ** 53 + 2 : a));
        expect(plain(...args), `${name}(${JSON.stringify(args)})`).toBeUndefined();
      }
    }
  });
});
