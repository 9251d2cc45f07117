// walk, OPA's one builtin relation: every [path, value] pair, the root first, keys and elements in Rego order.
// Expected values are OPA's own test data (test/cases/testdata/v1/walkbuiltin).
import { describe, expect, it } from 'vitest';
import { compileError, evaluate, valueOf } from './evaluate.js';

describe('walk', () => {
  it('yields [[], x] for a scalar, and every index of an array', async () => {
    expect(await valueOf('package t\np := [x | walk(3, x)]', 't/p')).toEqual([[[], 3]]);
    expect(await valueOf('package t\np := [x | walk(input.a, x)]', 't/p', { a: [1, 2, 3, 4] })).toEqual([
      [[], [1, 2, 3, 4]],
      [[0], 1],
      [[1], 2],
      [[2], 3],
      [[3], 4],
    ]);
  });

  it('walks objects by sorted key and sets by element (the element is its own path key)', async () => {
    expect(await valueOf('package t\np := [x | walk({"v2": "goodbye", "v1": "hello"}, x)]', 't/p')).toEqual([
      [[], { v1: 'hello', v2: 'goodbye' }],
      [['v1'], 'hello'],
      [['v2'], 'goodbye'],
    ]);
    expect(await valueOf('package t\np := [x | walk({{3, 1, 2}}, x)]', 't/p')).toEqual([
      [[], [[1, 2, 3]]],
      [[[1, 2, 3]], [1, 2, 3]],
      [[[1, 2, 3], 1], 1],
      [[[1, 2, 3], 2], 2],
      [[[1, 2, 3], 3], 3],
    ]);
  });

  it('unifies the output with a pattern: filters, partly ground paths, wildcards', async () => {
    const match = `package t
q := [{"foo": 1, "bar": 2, "bazoo": 3}]
p contains [k, x] if {
  walk(q, [k, x])
  contains(k[1], "oo")
}`;
    expect(await valueOf(match, 't/p')).toEqual([
      [[0, 'bazoo'], 3],
      [[0, 'foo'], 1],
    ]);
    const partly = `package t
q := {"a": [{"b": {"foo": 1, "bar": 2}}, {"b": {"baz": 3, "qux": 4}}]}
p contains [k1, k2, x] if walk(q, [["a", k1, "b", k2], x])`;
    expect(await valueOf(partly, 't/p')).toEqual([
      [0, 'bar', 2],
      [0, 'foo', 1],
      [1, 'baz', 3],
      [1, 'qux', 4],
    ]);
    expect(await valueOf('package t\np := [x | walk(input.a, [_, x])]', 't/p', { a: [1, 2] })).toEqual([[1, 2], 1, 2]);
    const same = `package t
obj := {"bar": "baz", "qux": [1, {"p": "rego", "q": "rules"}, {1, 2, 3, {"a": "b", "c": {"d", "e", 1}}}]}
with_path contains value if walk(obj, [path, value])
without_path contains value if walk(obj, [_, value])
p := with_path == without_path`;
    expect(await valueOf(same, 't/p')).toBe(true);
  });

  it('iterates when used as a value, and is undefined over an undefined argument', async () => {
    expect(await valueOf('package t\np contains pv if pv := walk([7])', 't/p')).toEqual([
      [[], [7]],
      [[0], 7],
    ]);
    expect(await valueOf('package t\np := count([1 | walk(input.missing, _)])', 't/p', {})).toBe(0);
    expect((await evaluate('package t\np if walk(input.missing, _)', 't/p', {})).defined).toBe(false);
  });

  it('takes one argument besides its output', () => {
    expect(compileError('package test\np if walk(1, 2, 3)').message).toMatch(/walk/);
  });
});
