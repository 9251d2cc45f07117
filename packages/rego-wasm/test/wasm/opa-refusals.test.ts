// Inputs OPA's builtins refuse with an error are undefined here, never a value; inputs OPA answers get OPA's
// answer. Each case was a value where OPA errors, or a different value, before the fix it guards.
import opa from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { customBuiltins } from '../../src/builtins/index.js';
import { compileRego } from '../../src/index.js';

/** Each expression as a rule of one compiled policy; undefined where the rule is undefined. */
async function valuesOf(exprs: Record<string, string>): Promise<Record<string, unknown>> {
  const names = Object.keys(exprs);
  const source = `package t\n${names.map((n) => `${n} := ${exprs[n]}`).join('\n')}\n`;
  const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints: names.map((n) => `t/${n}`) });
  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const rs = policy.evaluate({}, `t/${n}`) as Array<{ result: unknown }>;
    out[n] = rs.length === 0 ? undefined : rs[0]!.result;
  }
  return out;
}

describe('integer operands OPA reads with ParseInt (IntOperand): 1.0 is an error', () => {
  it('substring, time.add_date, regex.find_n and regex.find_all_string_submatch_n', async () => {
    expect(
      await valuesOf({
        sub_int: 'substring("abcdef", 1, 2)',
        sub_float: 'substring("abcdef", 1.0, 2)',
        sub_len_float: 'substring("abcdef", 1, 2.0)',
        add_int: 'time.add_date(0, 1, 0, 0)',
        add_float: 'time.add_date(0, 1.0, 0, 0)',
        // The timestamp is NumberOperand + an exact Int64: whole numbers in any spelling pass.
        add_ns_exp: 'time.add_date(1.7e18, 0, 0, 1)',
        add_ns_fraction: 'time.add_date(1.5, 0, 0, 1)',
        find_int: 'regex.find_n("a", "aaa", 2)',
        find_float: 'regex.find_n("a", "aaa", 2.0)',
        submatch_float: 'regex.find_all_string_submatch_n("a", "aaa", -1.0)',
      }),
    ).toEqual({
      sub_int: 'bc',
      sub_float: undefined,
      sub_len_float: undefined,
      add_int: 31_536_000_000_000_000,
      add_float: undefined,
      add_ns_exp: 1_700_000_000_000_000_000 + 86_400_000_000_000,
      add_ns_fraction: undefined,
      find_int: ['a', 'a'],
      find_float: undefined,
      submatch_float: undefined,
    });
  });
});

describe("lower and upper map each code point as Go's strings.ToLower/ToUpper (simple mappings)", () => {
  it('keeps ß, ligatures and Greek final sigma as Go does', async () => {
    expect(
      await valuesOf({
        sharp_s: 'upper("straße")',
        ligature: 'upper("\\ufb01x")',
        ypogegrammeni: 'upper("\\u1f80\\u1fb3")',
        final_sigma: 'lower("ΟΔΟΣ")',
        dotted_i: 'lower("\\u0130")',
        plain: 'upper("grüße")',
      }),
    ).toEqual({
      sharp_s: 'STRAßE',
      ligature: '\ufb01X',
      ypogegrammeni: '\u1f88\u1fbc',
      final_sigma: 'οδοσ',
      dotted_i: 'i',
      plain: 'GRÜßE',
    });
  });
});

describe("base64 and base64url decoding as Go's decoder (OPA)", () => {
  it('refuses wrong padding, skips CR and LF, and never alters bytes that are not UTF-8', async () => {
    expect(
      await valuesOf({
        url_short_pad: 'base64url.decode("YQ=")',
        url_extra_pad: 'base64url.decode("YWI==")',
        url_unpadded: 'base64url.decode("YWI")',
        url_padded: 'base64url.decode("YWI=")',
        url_bad_length: 'base64url.decode("YWJjZ")',
        std_newlines: 'base64.decode("YW\\nJj\\r\\n")',
        std_not_utf8: 'base64.decode("/w==")',
        url_not_utf8: 'base64url.decode("_w")',
        valid_not_utf8: 'base64.is_valid("/w==")',
        valid_short: 'base64.is_valid("YQ=")',
        trailing: 'base64.decode("YQ==YQ==")',
      }),
    ).toEqual({
      url_short_pad: undefined,
      url_extra_pad: undefined,
      url_unpadded: 'ab',
      url_padded: 'ab',
      url_bad_length: undefined,
      std_newlines: 'abc',
      std_not_utf8: undefined,
      url_not_utf8: undefined,
      valid_not_utf8: true,
      valid_short: false,
      trailing: undefined,
    });
  });
});

describe("urlquery objects as Go's net/url", () => {
  it("refuses ';' separators (url.ParseQuery), keeps __proto__ a key, and sorts keys in byte order", async () => {
    expect(
      await valuesOf({
        semicolon: 'urlquery.decode_object("a=1;b=2")',
        proto: 'urlquery.decode_object("__proto__=1&a=2")',
        order: 'urlquery.encode_object({"\\uffff": "1", "\\ud83d\\ude00": "2"})',
      }),
    ).toEqual({
      semicolon: undefined,
      proto: JSON.parse('{"__proto__": ["1"], "a": ["2"]}') as unknown,
      order: '%EF%BF%BF=1&%F0%9F%98%80=2',
    });
  });
});

describe("net.cidr_* with Go's IPv4-mapped IPv6 rules (net.IPNet.Contains)", () => {
  it('treats ::ffff:a.b.c.d as the IPv4 address, in addresses and in networks', async () => {
    expect(
      await valuesOf({
        mapped_ip: 'net.cidr_contains("10.0.0.0/8", "::ffff:10.1.2.3")',
        mapped_cidr: 'net.cidr_contains("10.0.0.0/8", "::ffff:10.0.0.0/104")',
        mapped_network: 'net.cidr_contains("::ffff:10.0.0.0/104", "10.9.9.9")',
        mapped_wide: 'net.cidr_contains("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/100")',
        other_v6: 'net.cidr_contains("10.0.0.0/8", "::10.1.2.3")',
        intersects: 'net.cidr_intersects("10.0.0.0/8", "::ffff:10.0.0.0/120")',
        plain: 'net.cidr_contains("10.0.0.0/8", "10.0.0.0/16")',
        v6: 'net.cidr_contains("2001:db8::/32", "2001:db8::1")',
      }),
    ).toEqual({
      mapped_ip: true,
      mapped_cidr: true,
      mapped_network: true,
      // /100 keeps only the first 4 bits of the IPv4 part: its first address, ::ffff:0.0.0.0, is outside 10.0.0.0/8.
      mapped_wide: false,
      other_v6: false,
      intersects: true,
      plain: true,
      v6: true,
    });
  });
});

describe('io.jwt.decode as OPA decodes the parts (base64url.decode) and nested tokens', () => {
  const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const inner = `${b64({ alg: 'none' })}.${b64({ sub: 'alice' })}.`;
  it('nests on cty "JWT" only, trims quotes around the inner token, and refuses wrong padding', async () => {
    const values = await valuesOf({
      nested: `io.jwt.decode("${b64({ alg: 'none', cty: 'JWT' })}.${b64(inner)}.")[1]`,
      quoted: `io.jwt.decode("${b64({ alg: 'none', cty: 'JWT' })}.${b64(`"${inner}"`)}.")[1]`,
      lower_cty: `io.jwt.decode("${b64({ alg: 'none', cty: 'jwt' })}.${b64(inner)}.")`,
      padded: `io.jwt.decode("${b64({ alg: 'none' })}.e30=.")[1]`,
      bad_padding: `io.jwt.decode("${b64({ alg: 'none' })}.e30==.")`,
    });
    expect(values).toEqual({
      nested: { sub: 'alice' },
      quoted: { sub: 'alice' },
      lower_cty: undefined,
      padded: {},
      bad_padding: undefined,
    });
  });
});
