import { describe, expect, it } from 'vitest';
import { parsePathAndQuery } from '../../src/input/parsePath.js';
import { parseQueryString } from '../../src/input/parseQuery.js';
import { MAX_PATH_SEGMENTS, MAX_QUERY_PAIRS } from '../../src/input/limits.js';

const parsedPath = (path: string) => {
  const outcome = parsePathAndQuery(path);
  if (!outcome.ok) throw new Error(outcome.detail);
  return outcome.parsedPath;
};
const parsedQuery = (path: string) => {
  const outcome = parsePathAndQuery(path);
  if (!outcome.ok) throw new Error(outcome.detail);
  return outcome.parsedQuery;
};

describe('input.parsed_path, as current OPA-Envoy builds it', () => {
  it.each([
    ['/', ['']],
    ['', ['']],
    ['/a/', ['a', '']],
    ['//admin/x', ['admin', 'x']],
    ['///a//b', ['a', '', 'b']],
    ['/a%2Fb/c', ['a', 'b', 'c']],
    ['/%2F%2Fadmin/x', ['admin', 'x']],
    ['/orders/7?expand=items', ['orders', '7']],
    ['/users/j%C3%BCrgen/caf%C3%A9%20au%20lait', ['users', 'jürgen', 'café au lait']],
    ['/a+b', ['a+b']],
    ['/x#frag', ['x#frag']],
  ])('%s -> %j', (path, expected) => {
    expect(parsedPath(path)).toEqual(expected);
  });
  it('refuses a malformed percent-escape in the path or the query', () => {
    expect(parsePathAndQuery('/bad/%zz')).toEqual({ ok: false, detail: 'path: malformed percent-escape' });
    expect(parsePathAndQuery('/bad/%4')).toMatchObject({ ok: false });
    expect(parsePathAndQuery('/ok?a=%zz')).toMatchObject({ ok: false, detail: 'query: a malformed percent-escape' });
    expect(parsePathAndQuery('/ok?a=1;b=2')).toMatchObject({ ok: false });
  });
  it(`refuses more than ${MAX_PATH_SEGMENTS} segments and accepts exactly that many`, () => {
    expect(parsePathAndQuery('/' + 'a/'.repeat(MAX_PATH_SEGMENTS))).toMatchObject({ ok: false });
    expect(parsedPath('/' + 'a/'.repeat(MAX_PATH_SEGMENTS - 1))).toHaveLength(MAX_PATH_SEGMENTS);
  });
});

describe('input.parsed_query', () => {
  it('collects repeated names in order', () => {
    expect(parsedQuery('/p?a=1&b=2&a=3')).toEqual({ a: ['1', '3'], b: ['2'] });
  });
  it('gives an empty value for a bare name, skips empty pairs, keeps an empty name', () => {
    expect(parsedQuery('/p?flag&&=x')).toEqual({ flag: [''], '': ['x'] });
  });
  it('decodes escapes and + as a space', () => {
    expect(parsedQuery('/p?q=caf%C3%A9+au+lait')).toEqual({ q: ['café au lait'] });
  });
  it('is empty without a query', () => {
    expect(parsedQuery('/p')).toEqual({});
  });
  it('reads prototype names as ordinary names', () => {
    const query = parseQueryString('constructor=1&__proto__=2&toString=3&hasOwnProperty=4&valueOf=5&constructor=6');
    expect(query.ok && JSON.stringify(query.values)).toBe(
      '{"constructor":["1","6"],"__proto__":["2"],"toString":["3"],"hasOwnProperty":["4"],"valueOf":["5"]}',
    );
  });
  it(`refuses more than ${MAX_QUERY_PAIRS} pairs`, () => {
    expect(parsePathAndQuery('/p?' + 'a&'.repeat(MAX_QUERY_PAIRS + 1))).toMatchObject({ ok: false });
  });
});
