// json.patch, json.filter, json.remove and json.marshal_with_options compiled from Rego: the answers OPA
// gives. Expected values come from OPA's own test data (test/cases/testdata/v1/jsonpatch, jsonbuiltins).
import { describe, expect, it } from 'vitest';
import opa from '@open-policy-agent/opa-wasm';
import { customBuiltins } from '../../src/builtins/index.js';
import { compileRego } from '../../src/compile.js';
import { valueOf } from './evaluate.js';

/** Each rule's value (undefined when OPA's is), compiled once and run through the SDK. */
async function rulesOf(source: string, names: readonly string[]): Promise<Record<string, unknown>> {
  const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints: names.map((n) => `t/${n}`) });
  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const rs = policy.evaluate({}, `t/${n}`) as Array<{ result: unknown }>;
    out[n] = rs.length === 0 ? undefined : rs[0]!.result;
  }
  return out;
}

/** json.patch(doc, patch) for each case: its value, or undefined when OPA answers undefined. */
async function patched(cases: ReadonlyArray<readonly [string, string, unknown]>): Promise<unknown[]> {
  // The patch through a function of the policy (OPA types `id`'s result as its parameter, any): a literal of the wrong
  // type (an object), or a rule of such a value, would be refused at compile time.
  const rules = cases.map(([doc, patch], i) => `q${i} := id(${patch})\np${i} := json.patch(${doc}, q${i})`).join('\n');
  const values = await rulesOf(
    `package t\nid(x) := x\n${rules}\n`,
    cases.map((_, i) => `p${i}`),
  );
  return cases.map((_, i) => values[`p${i}`]);
}

describe('json.patch', () => {
  it('applies RFC 6902 operations as OPA does (RFC appendix A and the json-patch test suite)', async () => {
    const cases: Array<readonly [string, string, unknown]> = [
      ['{"foo": "bar"}', '[{"op": "add", "path": "/baz", "value": "qux"}]', { baz: 'qux', foo: 'bar' }],
      ['{"foo": ["bar", "baz"]}', '[{"op": "add", "path": "/foo/1", "value": "qux"}]', { foo: ['bar', 'qux', 'baz'] }],
      ['{"baz": "qux", "foo": "bar"}', '[{"op": "remove", "path": "/baz"}]', { foo: 'bar' }],
      ['{"foo": ["bar", "qux", "baz"]}', '[{"op": "remove", "path": "/foo/1"}]', { foo: ['bar', 'baz'] }],
      [
        '{"baz": "qux", "foo": "bar"}',
        '[{"op": "replace", "path": "/baz", "value": "boo"}]',
        { baz: 'boo', foo: 'bar' },
      ],
      [
        '{"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}',
        '[{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]',
        { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
      ],
      [
        '{"foo": ["all", "grass", "cows", "eat"]}',
        '[{"op": "move", "from": "/foo/1", "path": "/foo/3"}]',
        { foo: ['all', 'cows', 'eat', 'grass'] },
      ],
      [
        '{"baz": "qux", "foo": ["a", 2, "c"]}',
        '[{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}]',
        { baz: 'qux', foo: ['a', 2, 'c'] },
      ],
      ['{"baz": "qux"}', '[{"op": "test", "path": "/baz", "value": "bar"}]', undefined],
      ['{"foo": "bar"}', '[{"op": "add", "path": "/baz/bat", "value": "qux"}]', undefined],
      ['{"/": 9, "~1": 10}', '[{"op": "test", "path": "/~01", "value": 10}]', { '/': 9, '~1': 10 }],
      ['{"/": 9, "~1": 10}', '[{"op": "test", "path": "/~01", "value": "10"}]', undefined],
      [
        '{"foo": ["bar"]}',
        '[{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]',
        { foo: ['bar', ['abc', 'def']] },
      ],
      ['{}', '[{"op": "add", "path": "", "value": []}]', []],
      ['[]', '[{"op": "add", "path": "/-", "value": "hi"}]', ['hi']],
      ['{}', '[{"op": "add", "path": "/", "value": 1}]', { '': 1 }],
      ['{"foo": {}}', '[{"op": "add", "path": "/foo/", "value": 1}]', { foo: { '': 1 } }],
      ['{"bar": [1, 2]}', '[{"op": "add", "path": "/bar/8", "value": "5"}]', undefined],
      ['{"bar": [1, 2]}', '[{"op": "add", "path": "/bar/-1", "value": "5"}]', undefined],
      ['{"foo": 1}', '[{"op": "add", "path": "/0", "value": "bar"}]', { foo: 1, 0: 'bar' }],
      ['["foo", "sil"]', '[{"op": "add", "path": "/2", "value": "bar"}]', ['foo', 'sil', 'bar']],
      ['["foo", "sil"]', '[{"op": "add", "path": "/3", "value": "bar"}]', undefined],
      ['{"1e0": "foo"}', '[{"op": "test", "path": "/1e0", "value": "foo"}]', { '1e0': 'foo' }],
      ['["foo", "bar"]', '[{"op": "test", "path": "/1e0", "value": "bar"}]', undefined],
      ['["foo", "sil"]', '[{"op": "add", "path": "/bar", "value": 42}]', undefined],
      [
        '{"foo": {"foo": 1, "bar": 2}}',
        '[{"op": "test", "path": "/foo", "value": {"bar": 2, "foo": 1}}]',
        { foo: { foo: 1, bar: 2 } },
      ],
      ['{"foo": 1}', '[{"op": "move", "from": "/foo", "path": "/foo"}]', { foo: 1 }],
      [
        '{"baz": [{"qux": "hello"}], "bar": 1}',
        '[{"op": "move", "from": "/baz/0/qux", "path": "/baz/1"}]',
        { baz: [{}, 'hello'], bar: 1 },
      ],
      [
        '[1, 2, [3, [4, 5]]]',
        '[{"op": "add", "path": "/2/1/-", "value": {"foo": ["bar", "baz"]}}]',
        [1, 2, [3, [4, 5, { foo: ['bar', 'baz'] }]]],
      ],
      ['[1, 2, 3, 4]', '[{"op": "remove", "path": "/1"}, {"op": "remove", "path": "/2"}]', [1, 3]],
      ['[1, 2, 3, 4]', '[{"op": "remove", "path": "/1e0"}]', undefined],
      ['{}', '[{"op": "add", "value": "bar"}]', undefined],
      ['{}', '[{"op": "add", "path": null, "value": "bar"}]', undefined],
      ['[1]', '[{"op": "add", "path": "/-"}]', undefined],
      ['[1]', '[{"op": "copy", "path": "/-"}]', undefined],
      ['{"foo": 1}', '[{"op": "copy", "from": "/bar", "path": "/foo"}]', undefined],
      ['{"foo": 1}', '[{"op": "spam", "path": "/foo", "value": 1}]', undefined],
      ['["foo", "bar"]', '[{"op": "test", "path": "/00", "value": "foo"}]', undefined],
      ['["foo", "bar"]', '[{"op": "test", "path": "/01", "value": "bar"}]', undefined],
      ['{"foo": "bar"}', '[{"op": "remove", "path": "/missing1/missing2"}]', undefined],
      ['["foo", "bar"]', '[{"op": "remove", "path": "/2"}]', undefined],
      // OPA trims leading slashes: a path without one addresses the same member.
      ['{}', '[{"op": "add", "path": "foo", "value": "bar"}]', { foo: 'bar' }],
    ];
    const got = await patched(cases);
    expect(got).toEqual(cases.map(([, , want]) => want));
  });

  it('addresses set members by value, and undefined where OPA is (sets, root, indexes)', async () => {
    const cases: Array<readonly [string, string, unknown]> = [
      ['{"foo": {"a", "b", "c"}}', '[{"op": "remove", "path": "foo/b"}]', { foo: ['a', 'c'] }],
      ['{"foo": {"a", "b", "c"}}', '[{"op": "add", "path": "foo/d", "value": "d"}]', { foo: ['a', 'b', 'c', 'd'] }],
      ['{"foo": {"a", "b", "c"}}', '[{"op": "add", "path": "foo/d", "value": "e"}]', undefined],
      [
        '{"foo": {"a", "b"}, "bar": {"c", "d"}}',
        '[{"op": "move", "from": "foo/a", "path": "bar/a"}]',
        { foo: ['b'], bar: ['a', 'c', 'd'] },
      ],
      ['{[1]}', '[{"op": "add", "path": [[1], 1], "value": 2}]', [[1, 2]]],
      // A member changed inside a set no longer exists under its old value: the second step of replace fails.
      ['{{"a": [1, 2]}}', '[{"op": "replace", "path": [{"a": [1, 2]}, "a", 0], "value": 9}]', undefined],
      [
        '{{"a": [1, 2]}}',
        '[{"op": "copy", "from": [{"a": [1, 2]}, "a", 0], "path": [{"a": [1, 2]}, "a", 1]}]',
        [{ a: [1, 1, 2] }],
      ],
      ['{"a": 1}', '[{"op": "remove", "path": ""}]', undefined],
      ['{"a": 1}', '[{"op": "remove", "path": ""}, {"op": "add", "path": "", "value": 2}]', 2],
      ['[1, 2]', '[{"op": "add", "path": [1.0], "value": 3}]', undefined],
      ['[1, 2]', '[{"op": "add", "path": [1], "value": 3}]', [1, 3, 2]],
      ['{"a": {"b": 1}}', '[{"op": "move", "from": "/a", "path": "/a/b"}]', undefined],
      ['{"a": 1}', '{"op": "add", "path": "/b", "value": 2}', undefined],
      ['{"a": 1}', '["not a patch"]', undefined],
      ['5', '[{"op": "replace", "path": "", "value": {"x": 1.5}}]', { x: 1.5 }],
    ];
    const got = await patched(cases);
    expect(got).toEqual(cases.map(([, , want]) => want));
  });
});

describe('json.filter and json.remove', () => {
  it('keep or drop the paths OPA names: strings split on /, arrays of segments, array indexes as strings', async () => {
    const source = `package t
doc := {"a": {"b": [10, 20, 30], "c": {"d", "e"}, "f": 1}, "g": 2, "~k": 3, 7: "seven"}
f1 := json.filter(doc, ["a/b/1", "g"])
f2 := json.filter(doc, {"/a/c/d", ["a", "f"]})
f3 := json.filter(doc, ["a", "a/b"])
f4 := json.filter(doc, [""])
f5 := json.filter(doc, ["~0k", [7]])
f6 := json.filter(doc, [["a", "b", 1]])
f7 := json.filter(doc, ["g/x"])
r1 := json.remove(doc, ["a/b/1", "g"])
r2 := json.remove(doc, {"/a/c/d", ["a", "f"], [7]})
r3 := json.remove(doc, [""])
# Through a function of the policy (its result is typed any): literals of these types, and rules of such constant
# values, are refused at compile time.
id(x) := x
not_object := id([1])
not_paths := id("a")
bad1 := json.filter(not_object, ["a"])
bad2 := json.filter(doc, not_paths)
bad3 := json.remove(doc, [1])`;
    const values = await rulesOf(source, [
      'f1',
      'f2',
      'f3',
      'f4',
      'f5',
      'f6',
      'f7',
      'r1',
      'r2',
      'r3',
      'bad1',
      'bad2',
      'bad3',
    ]);
    expect(values).toEqual({
      f1: { a: { b: [20] }, g: 2 },
      f2: { a: { c: ['d'], f: 1 } },
      f3: { a: { b: [10, 20, 30], c: ['d', 'e'], f: 1 } },
      f4: {},
      f5: { '~k': 3, 7: 'seven' },
      // A number segment does not select an array element (OPA looks indexes up as strings).
      f6: { a: { b: [] } },
      // A path below a scalar keeps the scalar.
      f7: { g: 2 },
      r1: { a: { b: [10, 30], c: ['d', 'e'], f: 1 }, '~k': 3, 7: 'seven' },
      r2: { a: { b: [10, 20, 30], c: ['e'] }, g: 2, '~k': 3 },
      r3: { a: { b: [10, 20, 30], c: ['d', 'e'], f: 1 }, g: 2, '~k': 3, 7: 'seven' },
      bad1: undefined,
      bad2: undefined,
      bad3: undefined,
    });
  });
});

describe('json.marshal_with_options', () => {
  it("writes Go's MarshalIndent layout: sorted keys, the prefix on every line, tabs by default", async () => {
    const source = `package t
nums := [1234500000 + 67890, 1e6 * 2, 1e109 / 1e100]
indent := json.marshal_with_options(nums, {"indent": "  "})
none := json.marshal_with_options(nums, {})
pretty := json.marshal_with_options(nums, {"pretty": true})
off := json.marshal_with_options(nums, {"pretty": false, "prefix": "NO!", "indent": "BAD!"})
prefixed := json.marshal_with_options({"foo": "bar", "bar": "baz"}, {"prefix": "JSON => "})
empty := json.marshal_with_options([], {"indent": "    ", "prefix": "---"})
deep := json.marshal_with_options([[[]]], {"indent": " "})
mixed := json.marshal_with_options({"b": {1, 2}, "10": 1.0, "9": "<&>", 3: null}, {"indent": " "})
unknown := json.marshal_with_options([], {"indent": "    ", "include_winning_lottery_numbers": true})
not_bool := json.marshal_with_options([], {"pretty": "yes"})`;
    const names = ['indent', 'none', 'pretty', 'off', 'prefixed', 'empty', 'deep', 'mixed', 'unknown', 'not_bool'];
    const values = await rulesOf(source, names);
    expect(values).toEqual({
      indent: '[\n  1234567890,\n  2000000,\n  1000000000\n]',
      none: '[1234567890,2000000,1000000000]',
      pretty: '[\n\t1234567890,\n\t2000000,\n\t1000000000\n]',
      off: '[1234567890,2000000,1000000000]',
      prefixed: 'JSON => {\nJSON => \t"bar": "baz",\nJSON => \t"foo": "bar"\nJSON => }',
      empty: '---[]',
      deep: '[\n [\n  []\n ]\n]',
      // Keys in Go's byte order, a number key as its JSON text, 1.0 as written, HTML characters escaped.
      mixed: '{\n "10": 1.0,\n "3": null,\n "9": "\\u003c\\u0026\\u003e",\n "b": [\n  1,\n  2\n ]\n}',
      unknown: undefined,
      not_bool: undefined,
    });
  });

  it('is defined for every value a policy holds', async () => {
    expect(
      await valueOf('package t\np := json.marshal_with_options(input, {"pretty": false})', 't/p', {
        a: [1, { b: null }],
      }),
    ).toBe('{"a":[1,{"b":null}]}');
  });
});
