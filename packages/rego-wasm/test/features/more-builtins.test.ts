// units.parse, uuid.parse, uuid.rfc4122, rand.intn, graph.reachable_paths and time.parse_ns compiled from
// Rego: the answers OPA gives (vectors from OPA's test/cases/testdata/v1 and the regorus suites, which record
// OPA's answers), undefined where OPA's builtin errors.
import opa from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { customBuiltins } from '../../src/builtins/index.js';
import { compileRego } from '../../src/compile.js';

/** Each rule's value (undefined when OPA's is), compiled once; `runs` evaluations of each. */
async function rulesOf(source: string, names: readonly string[], runs = 1): Promise<Array<Record<string, unknown>>> {
  const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints: names.map((n) => `t/${n}`) });
  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  return Array.from({ length: runs }, () => {
    const out: Record<string, unknown> = {};
    for (const n of names) {
      const rs = policy.evaluate({}, `t/${n}`) as Array<{ result: unknown }>;
      out[n] = rs.length === 0 ? undefined : rs[0]!.result;
    }
    return out;
  });
}

async function valuesOf(exprs: Record<string, string>): Promise<Record<string, unknown>> {
  // `wrong_number`, `wrong_array`, `wrong_string`: values of a type a builtin does not take, through a function of the
  // policy (OPA types `id`'s result as its parameter, any), since such a literal, or a rule of such a constant value, is
  // refused at compile time (as OPA's type checker refuses it).
  const source = `package t\nid(x) := x\nwrong_number := id(5)\nwrong_array := id([])\nwrong_string := id("a")\n${Object.entries(
    exprs,
  )
    .map(([name, expr]) => `${name} := ${expr}`)
    .join('\n')}\n`;
  const [values] = await rulesOf(source, Object.keys(exprs));
  return values!;
}

describe('units.parse', () => {
  it('reads SI and binary suffixes with case as OPA does: m is milli, M mega, mi and Mi mebi', async () => {
    expect(
      await valuesOf({
        quoted: 'units.parse("\\"100TI\\"")',
        zero: 'units.parse("0")',
        zero_float: 'units.parse("0.0")',
        bare: 'units.parse(".0")',
        raw: 'units.parse("12345")',
        k: 'units.parse("10K")',
        ki_upper: 'units.parse("10KI")',
        ki_lower: 'units.parse("10ki")',
        mega: 'units.parse("200M")',
        gi: 'units.parse("300Gi")',
        frac_k: 'units.parse("1.1K")',
        frac_ki: 'units.parse("1.1Ki")',
        half_k: 'units.parse(".5K")',
        mebi: 'units.parse("100mi")',
        exa: 'units.parse("10e")',
        exbi: 'units.parse("10Ei")',
        exponent: 'units.parse("1e3k")',
        negative: 'units.parse("-1.5K")',
        milli_times_1000: 'round(units.parse("100m") * 1000)',
        milli_text: 'json.marshal(units.parse("1m"))',
        integer_text: 'json.marshal(units.parse("1G"))',
      }),
    ).toEqual({
      quoted: 109951162777600,
      zero: 0,
      zero_float: 0,
      bare: 0,
      raw: 12345,
      k: 10000,
      ki_upper: 10240,
      ki_lower: 10240,
      mega: 200000000,
      gi: 322122547200,
      frac_k: 1100,
      frac_ki: 1126.4,
      half_k: 500,
      mebi: 104857600,
      exa: 10000000000000000000,
      exbi: 11529215046068469760,
      exponent: 1000000,
      negative: -1500,
      milli_times_1000: 100,
      // OPA multiplies by the double 0.001 exactly and writes ten decimals.
      milli_text: '0.0010000000',
      integer_text: '1000000000',
    });
  });

  it('is undefined for what OPA refuses: no amount, two points, spaces, unknown units, huge exponents', async () => {
    const values = await valuesOf({
      empty: 'units.parse("")',
      unit_only: 'units.parse("G")',
      word: 'units.parse("foo")',
      points: 'units.parse("0.0.0")',
      points2: 'units.parse(".5.2")',
      space: 'units.parse("100 k")',
      spaces: 'units.parse(" 327Mi ")',
      bytes: 'units.parse("1KB")',
      milli_upper: 'units.parse("1mB")',
      zetta: 'units.parse("1Z")',
      exponent: 'units.parse("1e1234567")',
      not_string: 'units.parse(wrong_number)',
    });
    expect(Object.values(values).every((v) => v === undefined)).toBe(true);
  });
});

describe('uuid.parse', () => {
  it('decodes version 1 and 2 fields as OPA does, version and variant for the others', async () => {
    expect(
      await valuesOf({
        v1: 'uuid.parse("b01d0062-a116-11ee-822b-7ab0b9e5e0c0")',
        v1_max_clock: 'uuid.parse("b700c334-a128-11ee-bfff-7ab0b9e5e0c0")',
        v2: 'uuid.parse("000003e8-48b9-21ee-b200-325096b39f47")',
        v2_urn: 'uuid.parse("urn:uuid:000003e8-48b9-21ee-b200-325096b39f47")',
        v3: 'uuid.parse("38074da4-0b00-388d-9c3c-362de965547a")',
        v3_no_dashes: 'uuid.parse("6bea8ef2d3d33cd184e09bab06a52ece")',
        v4_braces: 'uuid.parse("{00000000-0000-4000-8000-000000000000}")',
        v7: 'uuid.parse("018c9a3e-7a5b-7c3d-9e1f-0123456789ab")',
        microsoft: 'uuid.parse("00000000-0000-4000-c000-000000000000")',
        reserved: 'uuid.parse("00000000-0000-4000-0000-000000000000")',
        future: 'uuid.parse("00000000-0000-4000-e000-000000000000")',
      }),
    ).toEqual({
      v1: {
        clocksequence: 555,
        macvariables: 'local:unicast',
        nodeid: '7a-b0-b9-e5-e0-c0',
        time: 1703282931110717000,
        variant: 'RFC4122',
        version: 1,
      },
      v1_max_clock: {
        clocksequence: 16383,
        macvariables: 'local:unicast',
        nodeid: '7a-b0-b9-e5-e0-c0',
        time: 1703290673610834000,
        variant: 'RFC4122',
        version: 1,
      },
      v2: {
        clocksequence: 12800,
        domain: 'Person',
        id: 1000,
        macvariables: 'local:unicast',
        nodeid: '32-50-96-b3-9f-47',
        time: 1693566990121469600,
        variant: 'RFC4122',
        version: 2,
      },
      v2_urn: {
        clocksequence: 12800,
        domain: 'Person',
        id: 1000,
        macvariables: 'local:unicast',
        nodeid: '32-50-96-b3-9f-47',
        time: 1693566990121469600,
        variant: 'RFC4122',
        version: 2,
      },
      v3: { variant: 'RFC4122', version: 3 },
      v3_no_dashes: { variant: 'RFC4122', version: 3 },
      v4_braces: { variant: 'RFC4122', version: 4 },
      v7: { variant: 'RFC4122', version: 7 },
      microsoft: { variant: 'Microsoft', version: 4 },
      reserved: { variant: 'Reserved', version: 4 },
      future: { variant: 'Future', version: 4 },
    });
  });

  it('is undefined for what is not a UUID', async () => {
    const values = await valuesOf({
      number: 'uuid.parse(wrong_number)',
      short: 'uuid.parse("00000000-0000-4000-8000-00000000000")',
      dashes: 'uuid.parse("00000000x0000-4000-8000-000000000000")',
      hex: 'uuid.parse("g0000000-0000-4000-8000-000000000000")',
      urn: 'uuid.parse("urn:uid:000003e8-48b9-21ee-b200-325096b39f47")',
    });
    expect(Object.values(values).every((v) => v === undefined)).toBe(true);
  });
});

describe('uuid.rfc4122 and rand.intn', () => {
  const source = `package t
a := uuid.rfc4122("k")
same_uuid := uuid.rfc4122("k") == uuid.rfc4122("k")
other_uuid := uuid.rfc4122("k") != uuid.rfc4122("j")
n := rand.intn("x", 1000000000)
same_n := rand.intn("x", 1000000000) == rand.intn("x", 1000000000)
abs_n := rand.intn("x", -1000000000) == rand.intn("x", 1000000000)
zero := rand.intn("x", 0)
big := rand.intn("x", 9223372036854775807)
float := rand.intn("x", 1.0)
key_not_string := rand.intn(one, 5)
# Through a function of the policy: a rule \`one := 1\` is typed number, and OPA refuses it here at compile time.
id(x) := x
one := id(1)`;
  const names = ['a', 'same_uuid', 'other_uuid', 'n', 'same_n', 'abs_n', 'zero', 'big', 'float', 'key_not_string'];

  it('answer the same key with the same value within one evaluation, as OPA caches them per query', async () => {
    const [first, second] = await rulesOf(source, names, 2);
    expect(first!.a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first).toMatchObject({ same_uuid: true, other_uuid: true, same_n: true, abs_n: true, zero: 0 });
    expect(first!.n).toBeGreaterThanOrEqual(0);
    expect(first!.n).toBeLessThan(1000000000);
    expect(typeof first!.big).toBe('number');
    expect(first!.float).toBeUndefined();
    expect(first!.key_not_string).toBeUndefined();
    // A new evaluation draws again: the decision is not repeatable.
    expect(second!.a).not.toBe(first!.a);
  });
});

describe('graph.reachable_paths', () => {
  it('follows edges to leaves, stopping before a node the graph lacks or one already on the path', async () => {
    const values = await valuesOf({
      chain: 'graph.reachable_paths({"a": ["b"], "b": ["c"], "c": []}, ["a"])',
      fork: 'graph.reachable_paths({"a": {"b", "c"}, "b": [], "c": []}, {"a"})',
      cycle: 'graph.reachable_paths({"a": ["b"], "b": ["a"]}, ["a"])',
      missing: 'graph.reachable_paths({"a": ["x"]}, ["a"])',
      lone: 'graph.reachable_paths({"a": []}, ["a", "z"])',
      null_edges: 'graph.reachable_paths({"a": ["b"], "b": null}, ["a"])',
      diamond: 'graph.reachable_paths({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": ["a"]}, ["a"])',
      // OPA's test data (reachable_paths cycle_1022_1 and components).
      tree: 'graph.reachable_paths({"one": ["two", "five"], "two": ["four"], "three": [""], "four": ["three"], "five": ["seven", "six"], "six": ["nine"], "seven": ["eight"], "eight": [""], "nine": [""]}, {"one"})',
      components:
        'graph.reachable_paths({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set(), "e": {"f"}, "f": {"e"}, "x": {"x"}}, {"b", "e"})',
      invalid_end: 'graph.reachable_paths({"a": ["b"], "b": ["nonexistent"]}, {"a", "b"})',
      // Releases differ: seven is met again under six (older OPA stops there, newer goes on), and a self-loop.
      shared:
        'graph.reachable_paths({"one": ["five"], "five": ["seven", "six"], "six": ["seven"], "seven": ["eight"], "eight": []}, ["one"])',
      self_loop: 'graph.reachable_paths({"x": ["y"], "y": ["y"]}, ["x"])',
      not_object: 'graph.reachable_paths(wrong_array, ["a"])',
      not_collection: 'graph.reachable_paths({"a": []}, wrong_string)',
    });
    const sortPaths = (v: unknown): unknown =>
      Array.isArray(v) ? [...v].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))) : v;
    expect(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, sortPaths(v)]))).toEqual({
      chain: [['a', 'b', 'c']],
      fork: [
        ['a', 'b'],
        ['a', 'c'],
      ],
      cycle: [['a', 'b']],
      missing: [['a']],
      lone: [['a']],
      null_edges: [['a', 'b']],
      diamond: [
        ['a', 'b', 'd'],
        ['a', 'c', 'd'],
      ],
      tree: [
        ['one', 'five', 'seven', 'eight'],
        ['one', 'five', 'six', 'nine'],
        ['one', 'two', 'four', 'three'],
      ],
      components: [
        ['b', 'd'],
        ['e', 'f'],
      ],
      invalid_end: [['a', 'b'], ['b']],
      shared: undefined,
      self_loop: undefined,
      not_object: undefined,
      not_collection: undefined,
    });
  });
});

describe('time.parse_ns', () => {
  it("reads Go reference-time layouts as Go's time.Parse does", async () => {
    const parse = (layout: string, value: string): string =>
      `json.marshal(time.parse_ns(${JSON.stringify(layout)}, ${JSON.stringify(value)}))`;
    expect(
      await valuesOf({
        iso: parse('2006-01-02T15:04:05', '2016-05-10T19:06:42'),
        spaced: parse('2006-01-02 15:04:05', '2015-09-05 23:56:04'),
        rfc3339_z: parse('2006-01-02T15:04:05Z07:00', '2016-05-10T19:06:42Z'),
        rfc3339_offset: parse('2006-01-02T15:04:05Z07:00', '2016-05-10T21:06:42+02:00'),
        rfc1123z: parse('Mon, 02 Jan 2006 15:04:05 -0700', 'Tue, 10 May 2016 12:06:42 -0700'),
        // A zone abbreviation OPA's UTC zone does not know keeps the clock time as UTC.
        rfc1123: parse('Mon, 02 Jan 2006 15:04:05 MST', 'Tue, 10 May 2016 19:06:42 PST'),
        utc: parse('Mon, 02 Jan 2006 15:04:05 MST', 'Tue, 10 May 2016 19:06:42 UTC'),
        millis: parse('2006-01-02T15:04:05.000', '2016-05-10T19:06:42.123'),
        optional_fraction: parse('2006-01-02T15:04:05.999', '2016-05-10T19:06:42'),
        unasked_fraction: parse('2006-01-02 15:04:05', '2016-05-10 19:06:42.5'),
        pm: parse('Jan 2 2006 3:04PM', 'May 10 2016 7:06PM'),
        month_name: parse('January _2, 2006', 'may 10, 2016'),
        year_69: parse('06-01-02', '69-01-01'),
        year_68: parse('06-01-02', '68-01-01'),
        day_of_year: parse('2006-002', '2016-131'),
        date_only: parse('2006-01-02', '2016-05-10'),
        weekday_unchecked: parse('Mon Jan 2 2006', 'Fri May 5 2016'),
        spaces: parse('2006  01', '2016 01'),
      }),
    ).toEqual({
      iso: '1462907202000000000',
      spaced: '1441497364000000000',
      rfc3339_z: '1462907202000000000',
      rfc3339_offset: '1462907202000000000',
      rfc1123z: '1462907202000000000',
      rfc1123: '1462907202000000000',
      utc: '1462907202000000000',
      millis: '1462907202123000000',
      optional_fraction: '1462907202000000000',
      unasked_fraction: '1462907202500000000',
      pm: '1462907160000000000',
      month_name: '1462838400000000000',
      year_69: '-31536000000000000',
      year_68: '3092601600000000000',
      day_of_year: '1462838400000000000',
      date_only: '1462838400000000000',
      weekday_unchecked: '1462406400000000000',
      spaces: '1451606400000000000',
    });
  });

  it('is undefined where Go refuses the value or the instant leaves int64', async () => {
    const values = await valuesOf({
      month: 'time.parse_ns("2006-01-02", "2016-13-01")',
      day: 'time.parse_ns("2006-01-02", "2016-02-30")',
      extra: 'time.parse_ns("2006-01-02", "2016-02-03x")',
      literal: 'time.parse_ns("2006-01-02", "2016/02/03")',
      hour: 'time.parse_ns("15:04", "24:00")',
      fixed_fraction: 'time.parse_ns("05.000", "01.12")',
      yday_mismatch: 'time.parse_ns("2006-01-02 002", "2016-01-02 003")',
      too_late: 'time.parse_ns("2006", "2263")',
      not_string: 'time.parse_ns("2006", wrong_number)',
    });
    expect(Object.values(values).every((v) => v === undefined)).toBe(true);
  });
});

describe('uri.parse and uri.is_valid', () => {
  it("split a URI as Go's net/url does: host and port apart, path decoded, raw_path as written", async () => {
    expect(
      await valuesOf({
        full: 'uri.parse("https://user:pass@www.example.com:8443/a%20b/c?x=1&y=2#frag%21")',
        slash: 'uri.parse("http://example.com/a%2Fb")',
        escaped_letter: 'uri.parse("http://x/%41")',
        opaque: 'uri.parse("mailto:user@example.org?subject=hi")',
        relative: 'uri.parse("/relative/path?q")',
        ipv6: 'uri.parse("http://[::1]:80/x")',
        upper_scheme: 'uri.parse("HTTP://Example.COM")',
        star: 'uri.parse("*")',
      }),
    ).toEqual({
      full: {
        scheme: 'https',
        hostname: 'www.example.com',
        port: '8443',
        path: '/a b/c',
        raw_path: '/a b/c',
        raw_query: 'x=1&y=2',
        fragment: 'frag!',
      },
      slash: { scheme: 'http', hostname: 'example.com', path: '/a/b', raw_path: '/a%2Fb' },
      escaped_letter: { scheme: 'http', hostname: 'x', path: '/A', raw_path: '/%41' },
      opaque: { scheme: 'mailto', raw_query: 'subject=hi' },
      relative: { path: '/relative/path', raw_path: '/relative/path', raw_query: 'q' },
      ipv6: { scheme: 'http', hostname: '::1', port: '80', path: '/x', raw_path: '/x' },
      upper_scheme: { scheme: 'http', hostname: 'Example.COM' },
      star: { path: '*', raw_path: '*' },
    });
  });

  it('is undefined (uri.parse) or false (uri.is_valid) where Go refuses the URI', async () => {
    const values = await valuesOf({
      port: 'uri.parse("http://example.com:8a/")',
      host: 'uri.parse("http://exa mple.com/")',
      escape: 'uri.parse("/a%zz")',
      scheme: 'uri.parse(":foo")',
      colon: 'uri.parse("1a:b")',
      control: 'uri.parse("http://x/\\n")',
      // Go releases disagree on colons outside brackets: neither answer is given.
      colons: 'uri.parse("http://::1/")',
      valid: 'uri.is_valid("http://ok.example/x?y#z")',
      empty: 'uri.is_valid("")',
      bad_host: 'uri.is_valid("http://bad host/")',
      not_string: 'uri.is_valid(wrong_number)',
      valid_colons: 'uri.is_valid("http://::1/")',
    });
    expect(values).toEqual({
      port: undefined,
      host: undefined,
      escape: undefined,
      scheme: undefined,
      colon: undefined,
      control: undefined,
      colons: undefined,
      valid: true,
      empty: false,
      bad_host: false,
      not_string: false,
      valid_colons: undefined,
    });
  });
});
