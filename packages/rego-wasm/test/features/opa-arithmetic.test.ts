// Arithmetic gives OPA's answers, digit for digit: OPA's Go evaluator computes on math/big (ints in the
// int32 window, then exact integers, then 64-bit-mantissa floats written back as the shortest decimal), so
// `1 / 3` is 0.33333333333333333334 and `0.1 + 0.0000001` is 0.100000100000000000004 there, not what
// doubles or exact decimals give. test/fixtures/opa-arithmetic.json holds hand-picked and random cases
// with the answers Go's math/big gave (scripts/opa-arithmetic-oracle.go); each is checked in JavaScript
// and in a compiled policy, where equality with the expected literal is exact.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregate, arithmetic, formatInt, unary, type ArithOp, type UnaryOp } from '../../src/builtins/bigFloat.js';
import { valueOf } from './evaluate.js';

interface Case {
  op: ArithOp | UnaryOp | 'sum' | 'product';
  args: Array<string | string[]>;
  want: string | null;
}

const CASES = JSON.parse(readFileSync(new URL('../fixtures/opa-arithmetic.json', import.meta.url), 'utf8')) as Case[];

function computed(c: Case): string | undefined {
  const [a, b] = c.args;
  if (c.op === 'sum' || c.op === 'product') return aggregate(c.op, `[${(a as string[]).join(',')}]`);
  if (b === undefined) return unary(c.op as UnaryOp, a as string);
  return arithmetic(c.op as ArithOp, a as string, b as string);
}

const INFIX: Readonly<Record<string, string>> = { plus: '+', minus: '-', mul: '*', div: '/', rem: '%' };

function regoExpr(c: Case): string {
  const [a, b] = c.args;
  if (c.op === 'sum' || c.op === 'product') return `${c.op}([${(a as string[]).join(', ')}])`;
  if (b === undefined) return `${c.op}(${a as string})`;
  return `(${a as string}) ${INFIX[c.op] as string} (${b as string})`;
}

describe("OPA's arithmetic", () => {
  it('has cases with every operation, errors among them', () => {
    expect(new Set(CASES.map((c) => c.op)).size).toBe(11);
    expect(CASES.filter((c) => c.want === null).length).toBeGreaterThan(3);
  });

  it.each(CASES.map((c) => [`${c.op} ${JSON.stringify(c.args)}`, c] as const))('%s', (_, c) => {
    expect(computed(c)).toBe(c.want ?? undefined);
  });

  it('a compiled policy answers every case exactly (compared with the literal in Wasm)', async () => {
    const rules = CASES.map((c, i) =>
      c.want === null
        ? `ok contains ${i} if { count([1 | _ := ${regoExpr(c)}]) == 0 }`
        : `ok contains ${i} if { ${regoExpr(c)} == ${c.want} }`,
    );
    const policy = ['package test', 'import rego.v1', ...rules].join('\n');
    const ok = (await valueOf(policy, 'test/ok')) as number[];
    const failed = CASES.map((c, i) => [i, c] as const).filter(([i]) => !ok.includes(i));
    expect(failed.map(([, c]) => `${regoExpr(c)} should be ${c.want ?? 'undefined'}`)).toEqual([]);
  });

  // Recorded from Go: new(big.Float).SetString(n), .Int(nil), fmt.Sprintf("%d" / "%x" / "%b") as OPA does.
  it('format_int truncates the 64-bit float OPA reads, in JavaScript and in a compiled policy', async () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['12345678901234567.9', '10', '12345678901234567'],
      ['12345678901234567890123', '10', '12345678901234567889920'],
      ['12345678901234567890123', '16', '29d42b64e7671424400'],
      ['-5.9', '10', '-5'],
      ['-0.5', '2', '0'],
      ['1e20', '2', '1010110101111000111010111100010110101100011000100000000000000000000'],
      ['255', '3', undefined],
      ['255', '2.5', undefined],
      ['"255"', '16', undefined],
    ];
    for (const [n, base, want] of cases) expect(formatInt(n, base), `${n} ${base}`).toBe(want);
    const policy = [
      'package test',
      'import rego.v1',
      'p := [format_int(12345678901234567.9, 10), format_int(12345678901234567890123, 16), format_int(-5.9, 10)]',
    ].join('\n');
    expect(await valueOf(policy, 'test/p')).toEqual(['12345678901234567', '29d42b64e7671424400', '-5']);
  });

  it('the examples that differ from plain decimal or double arithmetic', async () => {
    const policy = [
      'package test',
      'import rego.v1',
      'third := 1 / 3',
      'p := [',
      '  0.1 + 0.2 == 0.3,',
      '  third == 0.33333333333333333334,',
      '  third == 0.3333333333333333,',
      '  third * 3 == 1,',
      '  0.1 + 0.0000001 == 0.1000001,',
      '  round(2.4999999999999999) == 2,',
      '  ceil(-0.5) == 1,',
      '  floor(-0.5) == 0,',
      '  sum([0.1, 0.0000001]) == 0.100000100000000000004,',
      '  12345678901234567890123 + 1 == 12345678901234567890124,',
      ']',
    ].join('\n');
    expect(await valueOf(policy, 'test/p')).toEqual([true, true, false, true, false, true, true, true, true, true]);
  });
});
