// Integers beyond 2^53 crossing between the module and JS builtins: modules Portcullis emits call these
// builtins with JSON texts both ways, so the values OPA computes exactly stay exact here too.
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { compileRego } from '../../src/index.js';
import { customBuiltins } from '../../src/builtins/index.js';
import { parseExactJson, stringifyExactJson } from '../../src/builtins/exact.js';

/** Compiles `package t` with the given rules and evaluates data.t.<rule> for each entrypoint. */
async function evalRules(rules: string, entrypoints: string[], input: unknown = {}): Promise<Record<string, unknown>> {
  const source = `package t\nimport rego.v1\n${rules}\n`;
  const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints: entrypoints.map((e) => `t/${e}`) });
  const policy = await loadPolicy(wasm, undefined, customBuiltins);
  const out: Record<string, unknown> = {};
  for (const e of entrypoints) {
    const rs = policy.evaluate(input, `t/${e}`) as { result: unknown }[];
    out[e] = rs.length === 0 ? undefined : rs[0]!.result;
  }
  return out;
}

describe('big integers from JS builtins stay exact in emitted modules', () => {
  it('time.parse_rfc3339_ns keeps every nanosecond', async () => {
    const r = await evalRules(
      `
eq if time.parse_rfc3339_ns("2024-01-01T00:00:00.123456789Z") == 1704067200123456789
off_by_one if time.parse_rfc3339_ns("2024-01-01T00:00:00.123456789Z") == 1704067200123456788
diff := time.parse_rfc3339_ns("2024-01-01T00:00:00.000000001Z") - time.parse_rfc3339_ns("2024-01-01T00:00:00Z")
text := sprintf("%d", [time.parse_rfc3339_ns("2024-01-01T00:00:00.123456789Z")])
old := time.parse_rfc3339_ns("1969-12-31T23:59:59.999999999Z")`,
      ['eq', 'off_by_one', 'diff', 'text', 'old'],
    );
    expect(r.eq).toBe(true);
    expect(r.off_by_one).toBeUndefined();
    expect(r.diff).toBe(1);
    expect(r.old).toBe(-1);
    expect(r.text).toBe('1704067200123456789');
  });

  it('units.parse_bytes is exact beyond 2^53 and follows OPA (big.Float, 64-bit mantissa)', async () => {
    const r = await evalRules(
      `
eib if units.parse_bytes("10EiB") == 11529215046068469760
eb if units.parse_bytes("9.5EB") == 9500000000000000000
tenth := units.parse_bytes("0.1kb")
zetta := units.parse_bytes("1ZiB")
big := units.parse_bytes("12345678901234567890")`,
      ['eib', 'eb', 'tenth', 'zetta', 'big'],
    );
    expect(r.eib).toBe(true);
    expect(r.eb).toBe(true);
    expect(r.tenth).toBe(100);
    // OPA knows no unit beyond exa (an error there): undefined.
    expect(r.zetta).toBeUndefined();
    // 12345678901234567890 < 2^64 fits a 64-bit mantissa: exact (the SDK returns it as a rounded JS number).
    expect(r.big).toBe(12345678901234567890);
  });

  it('time.now_ns has nanosecond digits (not a double rounded to 256 ns)', async () => {
    const r = await evalRules(
      `
now := time.now_ns()
text := format_int(time.now_ns(), 10)
same if time.now_ns() == time.now_ns()`,
      ['text', 'same'],
    );
    expect(r.same).toBe(true);
    const text = r.text as string;
    expect(text).toMatch(/^\d{19}$/);
    const ns = BigInt(text);
    const wall = BigInt(Date.now()) * 1_000_000n;
    expect(ns > wall - 60_000_000_000n && ns < wall + 60_000_000_000n).toBe(true);
    // A double near 1.7e18 is a multiple of 256; exact readings are not, save once in 256.
    const readings = await Promise.all([0, 1, 2, 3].map(() => evalRules('t := format_int(time.now_ns(), 10)', ['t'])));
    expect(readings.some((x) => BigInt(x.t as string) % 256n !== 0n)).toBe(true);
  });

  it('time.date, time.clock and time.weekday read exact timestamps (no rounding into the next second)', async () => {
    const r = await evalRules(
      `
clock := time.clock(1704067199999999999)
date := time.date(1704067199999999999)
weekday := time.weekday(1704067199999999999)
added := time.add_date(1704067199999999999, 0, 0, 1)
frac := time.date(1.5)
paris := time.date([1704067199999999999, "Europe/Paris"])
local := time.clock([1704067199999999999, "Local"])
float_text := time.clock(1704067199999999999.0)`,
      ['clock', 'date', 'weekday', 'added', 'frac', 'paris', 'local', 'float_text'],
    );
    expect(r.clock).toEqual([23, 59, 59]);
    expect(r.date).toEqual([2023, 12, 31]);
    expect(r.weekday).toBe('Sunday');
    expect(r.frac).toBeUndefined();
    // 2023-12-31T23:59:59.999999999Z is already 2024 in Paris; Local follows the process's zone (TZ).
    expect(r.paris).toEqual([2024, 1, 1]);
    const localHour = Number(
      new Intl.DateTimeFormat('en-US', { hour: 'numeric', hourCycle: 'h23' }).format(new Date(1704067199999)),
    );
    expect((r.local as number[])[0]).toBe(localHour);
    expect(r.float_text).toEqual([23, 59, 59]);
    const check = await evalRules('ok if time.add_date(1704067199999999999, 0, 0, 1) == 1704153599999999999', ['ok']);
    expect(check.ok).toBe(true);
  });

  it('time.parse_duration_ns, to_number and numbers.range keep big integers', async () => {
    const r = await evalRules(
      `
long if time.parse_duration_ns("2562047h47m16.854775807s") == 9223372036854775807
over := time.parse_duration_ns("2562047h47m16.854775808s")
num if to_number("+12345678901234567891") == 12345678901234567891
range if numbers.range(9007199254740993, 9007199254740995) == [9007199254740993, 9007199254740994, 9007199254740995]
hex := format_int(18446744073709551615, 16)`,
      ['long', 'over', 'num', 'range', 'hex'],
    );
    expect(r.long).toBe(true);
    expect(r.over).toBeUndefined();
    expect(r.num).toBe(true);
    expect(r.range).toBe(true);
    expect(r.hex).toBe('ffffffffffffffff');
  });

  it('sprintf formats big integers from their exact digits', async () => {
    const r = await evalRules(
      `
d := sprintf("%d|%v|%x|%s", [9007199254740993, 9007199254740993, 18446744073709551615, 123456789012345678901234567890])
nested := sprintf("%v", [[9007199254740993]])
bad := sprintf("%f", [123456789012345678901234567890])`,
      ['d', 'nested', 'bad'],
    );
    expect(r.d).toBe('9007199254740993|9007199254740993|ffffffffffffffff|123456789012345678901234567890');
    expect(r.nested).toBe('[9007199254740993]');
    expect(r.bad).toBe('%!f(big.Int=123456789012345678901234567890)');
  });

  it('OPA-built bundles still get JS numbers from the plain names', () => {
    expect(customBuiltins['time.parse_rfc3339_ns']!('2024-01-01T00:00:00.123456789Z')).toBe(1704067200123456789);
    expect(typeof customBuiltins['time.now_ns']!()).toBe('number');
    expect(customBuiltins['units.parse_bytes']!('10EiB')).toBe(11529215046068469760);
    expect(customBuiltins['portcullis.wire.units.parse_bytes']!('"10EiB"')).toBe('11529215046068469760');
  });

  it('the exact JSON codec round-trips big integers and ordinary JSON', () => {
    const text = '{"a":[1,-9223372036854775808,1.5,"x\\"y",true,null],"b":{}}';
    const value = parseExactJson(text) as { a: unknown[] };
    expect(value.a[1]).toBe(-9223372036854775808n);
    expect(stringifyExactJson(value)).toBe(text);
    expect(() => parseExactJson('[1,]')).toThrow();
    expect(parseExactJson('[1704067199999999999.0, 1.5e18, 1e19, 9007199254740993.5]')).toEqual([
      1704067199999999999n,
      1500000000000000000n,
      10000000000000000000n,
      9007199254740994,
    ]);
  });
});
