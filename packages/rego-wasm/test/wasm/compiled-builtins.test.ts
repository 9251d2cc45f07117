// Builtins added to BUILTINS, compiled from Rego and run through the SDK: the answers OPA gives.
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { compileRego } from '../../src/index.js';
import { customBuiltins } from '../../src/builtins/index.js';

async function evalRules(rules: string, names: string[]): Promise<Record<string, unknown>> {
  const source = `package t\nimport rego.v1\n${rules}\n`;
  const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints: names.map((n) => `t/${n}`) });
  const policy = await loadPolicy(wasm, undefined, customBuiltins);
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const rs = policy.evaluate({}, `t/${n}`) as { result: unknown }[];
    out[n] = rs.length === 0 ? undefined : rs[0]!.result;
  }
  return out;
}

describe('builtins compiled from Rego', () => {
  it('sets, non-string keys and numbers beyond a double cross the builtin wire exactly', async () => {
    const r = await evalRules(
      `
big := sprintf("%v", [2e308])
tiny := sprintf("%v", [[1e-400]])
a_set := sprintf("%v", [{"k": {1, 2}}])
number_keys := object.filter({1: "a", 2: "b"}, [2])
subset_of_set := object.subset({"a": {1, 2, 3}}, {"a": {3}})
not_a_subarray := object.subset({"a": [1, 2, 3]}, {"a": [3, 1]})`,
      ['big', 'tiny', 'a_set', 'number_keys', 'subset_of_set', 'not_a_subarray'],
    );
    expect(r).toEqual({
      big: '2e308',
      tiny: '[1e-400]',
      a_set: '{"k": {1, 2}}',
      number_keys: { 2: 'b' },
      subset_of_set: true,
      not_a_subarray: false,
    });
  });

  it('deprecated builtins compile in v0 modules and are refused under import rego.v1', () => {
    expect(() =>
      compileRego([{ path: 'v1.rego', source: 'package t\nimport rego.v1\np := any([true])\n' }], {
        entrypoints: ['t/p'],
      }),
    ).toThrow(/deprecated/);
    expect(() =>
      compileRego([{ path: 'v0.rego', source: 'package t\np := any([true])\n' }], { entrypoints: ['t/p'] }),
    ).not.toThrow();
  });

  it('strings.replace_n is undefined for a non-string key (JSON would have turned 1 into "1")', async () => {
    const r = await evalRules(
      `
string_keys := strings.replace_n({"1": "one", "b": "B"}, "1b")
number_key := strings.replace_n({1: "one"}, "1")
mixed_first := strings.replace_n({1: "one", "b": "B"}, "1b")
mixed_last := strings.replace_n({"b": "B", ["x"]: "y"}, "b")
empty := strings.replace_n({}, "ab")
set_keys := strings.replace_n({"a": "b"}, not_a_string)
# Through a function of the policy (its result is typed any): a set literal there, or a rule of that value, is
# refused at compile time.
id(x) := x
not_a_string := id({"a"})`,
      ['string_keys', 'number_key', 'mixed_first', 'mixed_last', 'empty', 'set_keys'],
    );
    expect(r).toEqual({
      string_keys: 'oneB',
      number_key: undefined,
      mixed_first: undefined,
      mixed_last: undefined,
      empty: 'ab',
      set_keys: undefined,
    });
  });

  it('hashes, hex, semver, CIDRs and Go-style regex replacement', async () => {
    const r = await evalRules(
      `
hmac := crypto.hmac.sha256("The quick brown fox jumps over the lazy dog", "key")
same if crypto.hmac.equal(crypto.md5("x"), crypto.md5("x"))
decoded := hex.decode(hex.encode("héllo"))
newer if semver.compare("1.10.0", "1.9.0") == 1
valid_cidrs := [c | some c in ["10.0.0.0/8", "10.0.0.0/33", "::/0", "x"]; net.cidr_is_valid(c)]
swapped := regex.replace("john smith", "(\\\\w+) (\\\\w+)", "$2 $1")
words := regex.find_n("\\\\w+", "a bb ccc", 2)
n := strings.count("banana", "an")`,
      ['hmac', 'same', 'decoded', 'newer', 'valid_cidrs', 'swapped', 'words', 'n'],
    );
    expect(r).toEqual({
      hmac: 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
      same: true,
      decoded: 'héllo',
      newer: true,
      valid_cidrs: ['10.0.0.0/8', '::/0'],
      swapped: 'smith john',
      words: ['a', 'bb'],
      n: 2,
    });
  });

  it('time builtins in UTC and in named zones (CET is UTC+1 in February)', async () => {
    const r = await evalRules(
      `
ns := time.parse_rfc3339_ns("2024-02-29T13:14:15Z")
date := time.date(ns)
clock := time.clock([ns, "UTC"])
weekday := time.weekday(ns)
next_month := time.add_date(ns, 0, 1, 0)
cet := time.clock([ns, "CET"])
timeout := time.parse_duration_ns("1m30s")
r := numbers.range(1, 3)`,
      ['date', 'clock', 'weekday', 'next_month', 'cet', 'timeout', 'r'],
    );
    expect(r).toEqual({
      date: [2024, 2, 29],
      clock: [13, 14, 15],
      weekday: 'Thursday',
      next_month: 1711718055000000000,
      cet: [14, 14, 15],
      timeout: 90_000_000_000,
      r: [1, 2, 3],
    });
  });
});
