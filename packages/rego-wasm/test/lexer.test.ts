import { describe, expect, it } from 'vitest';
import { tokenize } from '../src/lexer.js';
import { RegoCompileError } from '../src/errors.js';

const kinds = (source: string) => tokenize('t.rego', source).map((t) => `${t.kind}:${t.text}`);

function lexError(source: string): RegoCompileError {
  try {
    tokenize('bad.rego', source);
  } catch (err) {
    if (err instanceof RegoCompileError) return err;
    throw err;
  }
  throw new Error(`expected a lexer error for ${JSON.stringify(source)}`);
}

describe('lexer', () => {
  it('splits operators longest-first so := and == are single tokens', () => {
    expect(kinds('x := a == b != c <= d >= e')).toEqual([
      'ident:x',
      'punct::=',
      'ident:a',
      'punct:==',
      'ident:b',
      'punct:!=',
      'ident:c',
      'punct:<=',
      'ident:d',
      'punct:>=',
      'ident:e',
      'eof:',
    ]);
  });

  it('keeps number literals as written, including big integers and exponents', () => {
    expect(kinds('12345678901234567890 1.50 2e10 3.5E-2 0')).toEqual([
      'number:12345678901234567890',
      'number:1.50',
      'number:2e10',
      'number:3.5E-2',
      'number:0',
      'eof:',
    ]);
  });

  it('does not read a ref dot after an integer as a fraction', () => {
    expect(kinds('x[1].y')).toEqual(['ident:x', 'punct:[', 'number:1', 'punct:]', 'punct:.', 'ident:y', 'eof:']);
  });

  it('decodes JSON string escapes and joins \\u surrogate pairs into one code point', () => {
    const [token] = tokenize('t.rego', String.raw`"a\"b\\c\/\n\t\u00e9\uD83D\uDE00"`);
    expect(token?.text).toBe('a"b\\c/\n\té😀');
    expect(token?.raw).toBe(false);
  });

  it('keeps raw backtick strings verbatim, across lines, without escapes', () => {
    const [token] = tokenize('t.rego', '`a\\d+\n"x"`');
    expect(token?.text).toBe('a\\d+\n"x"');
    expect(token?.raw).toBe(true);
  });

  it('skips comments and records whitespace and line breaks before each token', () => {
    const tokens = tokenize('t.rego', 'a.b # comment\n[c] d');
    expect(tokens.map((t) => t.text)).toEqual(['a', '.', 'b', '[', 'c', ']', 'd', '']);
    expect(tokens[1]?.spaceBefore).toBe(false);
    expect(tokens[3]?.newlineBefore).toBe(true);
    expect(tokens[6]?.spaceBefore).toBe(true);
    expect(tokens[6]?.newlineBefore).toBe(false);
  });

  it('counts columns in code points, so astral characters in strings count once', () => {
    const tokens = tokenize('t.rego', 'x := "😀😀" + y');
    const y = tokens.find((t) => t.text === 'y');
    expect(y?.loc).toEqual({ file: 't.rego', line: 1, col: 13 });
  });

  it('reports 1-based line and column of each token', () => {
    const tokens = tokenize('t.rego', 'package a\n\n  allow := true');
    const allow = tokens.find((t) => t.text === 'allow');
    expect(allow?.loc).toEqual({ file: 't.rego', line: 3, col: 3 });
  });

  it('refuses an unterminated string at the opening quote', () => {
    const err = lexError('x := "abc\ny := 1');
    expect(err.code).toBe('REGO_COMPILE');
    expect(err.loc).toEqual({ file: 'bad.rego', line: 1, col: 6 });
    expect(err.message).toMatch(/^bad\.rego:1:6: string literal: unterminated/);
  });

  it('refuses an unterminated raw string', () => {
    expect(lexError('x := `abc').construct).toBe('raw string literal');
  });

  it('refuses unknown escapes at the backslash', () => {
    const err = lexError('x := "a\\qb"');
    expect(err.loc.col).toBe(8);
    expect(err.detail).toMatch(/unknown escape \\q/);
  });

  it('refuses a lone surrogate escape', () => {
    expect(lexError('x := "\\uD83D"').detail).toMatch(/surrogate pair/);
    expect(lexError('x := "\\uDE00"').detail).toMatch(/surrogate pair/);
  });

  it('refuses a short \\u escape', () => {
    expect(lexError('x := "\\u12"').detail).toMatch(/4 hex digits/);
  });

  it('refuses leading zeros and malformed exponents in numbers', () => {
    expect(lexError('x := 007').detail).toMatch(/leading zeros/);
    expect(lexError('x := 1e').detail).toMatch(/exponent/);
    expect(lexError('x := 12abc').detail).toMatch(/must not run into a name/);
  });

  it('explains && and || and single-quoted strings, which come from other languages', () => {
    expect(lexError('p if { a && b }').detail).toMatch(/no `&&`/);
    expect(lexError('p if { a || b }').detail).toMatch(/no `\|\|`.*union/);
    expect(lexError("x := 'bob'").detail).toMatch(/double quotes/);
  });

  it('refuses characters that are not Rego, naming them and their column', () => {
    const err = lexError('x := a ^ b');
    expect(err.loc.col).toBe(8);
    expect(err.detail).toContain('"^"');
  });
});
