import { describe, expect, it } from 'vitest';
import { parsePath } from '../../src/input/parsePath.js';
import { parseQuery } from '../../src/input/parseQuery.js';

describe('parsePath (input.parsed_path)', () => {
  it('gives [""] for the root path', () => {
    expect(parsePath('/')).toEqual(['']);
  });
  it('keeps the empty segment after a trailing slash', () => {
    expect(parsePath('/a/')).toEqual(['a', '']);
  });
  it('keeps the empty first segment of a doubled leading slash so //admin cannot pass as admin', () => {
    expect(parsePath('//admin/x')).toEqual(['', 'admin', 'x']);
  });
  it('drops the query string and fragment', () => {
    expect(parsePath('/orders/7?expand=items#top')).toEqual(['orders', '7']);
  });
  it('percent-decodes each segment', () => {
    expect(parsePath('/users/j%C3%BCrgen/caf%C3%A9%20au%20lait')).toEqual(['users', 'jürgen', 'café au lait']);
  });
  it('decodes %2F inside its segment instead of splitting on it', () => {
    expect(parsePath('/files/a%2Fb/c')).toEqual(['files', 'a/b', 'c']);
  });
  it('keeps a malformed escape as sent', () => {
    expect(parsePath('/bad/%zz')).toEqual(['bad', '%zz']);
  });
  it('keeps empty inner segments', () => {
    expect(parsePath('/a//b')).toEqual(['a', '', 'b']);
  });
});

describe('parseQuery (input.parsed_query)', () => {
  it('collects repeated names into lists in order', () => {
    expect(parseQuery('/p?a=1&b=2&a=3')).toEqual({ a: ['1', '3'], b: ['2'] });
  });
  it('gives an empty value for a name without "="', () => {
    expect(parseQuery('/p?flag')).toEqual({ flag: [''] });
  });
  it('decodes percent escapes and "+" as a space', () => {
    expect(parseQuery('/p?q=caf%C3%A9+au+lait')).toEqual({ q: ['café au lait'] });
  });
  it('is empty without a query string', () => {
    expect(parseQuery('/p')).toEqual({});
  });
  it('ignores a fragment', () => {
    expect(parseQuery('/p?a=1#frag')).toEqual({ a: ['1'] });
  });
});
