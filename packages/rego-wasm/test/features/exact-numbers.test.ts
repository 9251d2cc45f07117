import { describe, expect, it } from 'vitest';
import { evaluate, valueOf } from './evaluate.js';

// OPA compares numbers exactly (big numbers), never through doubles: each case is OPA's answer.
const head = 'package test\nimport rego.v1\n';

async function holds(expr: string, input?: unknown): Promise<boolean> {
  return (await evaluate(`${head}p if ${expr}`, 'test/p', input)).defined;
}

describe('number comparison and equality are exact for every JSON number', () => {
  it.each([
    ['1e400 > 1e399'],
    ['1e400 != 1e399'],
    ['1e-400 > 0'],
    ['0 < 1e-400'],
    ['-1e-400 < 0'],
    ['0.1234567890123456789 > 0.1234567890123456788'],
    ['1.00000000000000001 != 1'],
    ['1.00000000000000001 > 1'],
    ['count({1e400, 1e399}) == 2'],
    ['1e2 == 100'],
    ['1.0 == 1'],
    ['0.0 == -0'],
    ['100e-2 == 1'],
    ['12345678901234567890 < 12345678901234567891'],
    ['-12345678901234567891 < -12345678901234567890'],
    ['9223372036854775808 > 9223372036854775807'],
    ['1.5e1 == 15'],
    ['0.3 == 0.1 + 0.2'],
  ])('%s', async (expr) => {
    expect(await holds(expr)).toBe(true);
  });

  it.each([['1e400 == 1e399'], ['1.00000000000000001 == 1'], ['1e-400 == 0'], ['1e-400 < 0']])(
    'not %s',
    async (expr) => {
      expect(await holds(expr)).toBe(false);
    },
  );

  it('orders parsed JSON numbers exactly too (a set keeps each distinct one)', async () => {
    // The SDK's JSON.stringify cannot carry 1e400 in input, so the policy parses the text itself.
    const policy = `${head}p := count({x | some x in json.unmarshal(input.text)})`;
    expect(
      await valueOf(policy, 'test/p', { text: '[1e400, 1e399, 1e400, 0.1234567890123456789, 0.1234567890123456788]' }),
    ).toBe(4);
  });

  it('a literal whose double is an integer is not an integer index unless its text is', async () => {
    expect(await holds('[10, 20][1.00000000000000001] == 20')).toBe(false);
    expect(await holds('[10, 20][1.0] == 20')).toBe(true);
  });
});

describe('% and abs beyond int64', () => {
  it.each([
    ['10 % 18446744073709551616 == 10'],
    ['-10 % 18446744073709551616 == -10'],
    ['18446744073709551616 % 10 == 6'],
    ['-18446744073709551617 % 10 == -7'],
    ['18446744073709551617 % 18446744073709551616 == 1'],
    ['36893488147419103233 % 18446744073709551616 == 1'],
    ['abs(-9223372036854775808) == 9223372036854775808'],
    ['abs(-18446744073709551616) == 18446744073709551616'],
  ])('%s', async (expr) => {
    expect(await holds(expr)).toBe(true);
  });

  it('is undefined for a zero divisor or a non-integer', async () => {
    expect(await holds('x := 18446744073709551616 % 0')).toBe(false);
    expect(await holds('x := 18446744073709551616 % 1.5')).toBe(false);
  });
});
