import { describe, expect, it } from 'vitest';
import { DuplicateKeyError, JsonTooDeepError, parseJsonRejectingDuplicates } from '../../src/identity/strict-json.js';
import { MAX_TOKEN_LENGTH, decodeCompactJws } from '../../src/identity/compact-jws.js';
import { TokenRejectedError } from '../../src/identity/errors.js';
import { b64url } from './helpers.js';

function rejection(run: () => unknown): TokenRejectedError {
  try {
    run();
  } catch (error) {
    if (error instanceof TokenRejectedError) return error;
    throw error;
  }
  throw new Error('expected a TokenRejectedError');
}

describe('parseJsonRejectingDuplicates', () => {
  it('parses JSON without repeated keys like JSON.parse', () => {
    expect(parseJsonRejectingDuplicates('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).toEqual({
      a: 1,
      b: { a: 2 },
      c: [{ a: 3 }, { a: 4 }],
    });
  });

  it('rejects a key repeated in the same object', () => {
    expect(() => parseJsonRejectingDuplicates('{"sub":"alice","sub":"admin"}')).toThrow(DuplicateKeyError);
  });

  it('rejects a repeated key spelled with a unicode escape', () => {
    expect(() => parseJsonRejectingDuplicates('{"sub":"alice","s\\u0075b":"admin"}')).toThrow(DuplicateKeyError);
  });

  it('rejects a key repeated in a nested object', () => {
    expect(() => parseJsonRejectingDuplicates('{"a":{"x":1, "x" :2}}')).toThrow(DuplicateKeyError);
  });

  it('accepts string values equal to keys and strings containing quotes and colons', () => {
    expect(parseJsonRejectingDuplicates('{"a":"a","b":"\\"a\\":1","c":["a","a"]}')).toEqual({
      a: 'a',
      b: '"a":1',
      c: ['a', 'a'],
    });
  });

  it('rejects nesting deeper than the limit', () => {
    expect(() => parseJsonRejectingDuplicates('['.repeat(100) + ']'.repeat(100))).toThrow(JsonTooDeepError);
  });

  it('rejects invalid JSON with a SyntaxError', () => {
    expect(() => parseJsonRejectingDuplicates('{"a":}')).toThrow(SyntaxError);
  });
});

describe('decodeCompactJws', () => {
  const header = b64url('{"alg":"RS256","kid":"k1"}');
  const payload = b64url('{"iss":"https://id.example.com","sub":"alice"}');

  it('decodes header and payload of a well-formed token', () => {
    const decoded = decodeCompactJws(`${header}.${payload}.c2ln`);
    expect(decoded.header).toEqual({ alg: 'RS256', kid: 'k1' });
    expect(decoded.payload['sub']).toBe('alice');
    expect(decoded.unsigned).toBe(false);
  });

  it('marks a token with an empty signature segment as unsigned', () => {
    expect(decodeCompactJws(`${header}.${payload}.`).unsigned).toBe(true);
  });

  it.each([
    ['two segments', `${header}.${payload}`],
    ['four segments', `${header}.${payload}.c2ln.c2ln`],
    ['a character outside base64url', `${header}!.${payload}.c2ln`],
    ['standard base64 padding', `${header}=.${payload}.c2ln`],
    ['a segment length no byte string has', `${header}.${payload}.c2lua`],
    ['an empty header', `.${payload}.c2ln`],
    ['a payload that is not JSON', `${header}.${b64url('not json')}.c2ln`],
    ['a payload that is a JSON array', `${header}.${b64url('[1,2]')}.c2ln`],
    ['a payload that is not UTF-8', `${header}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.c2ln`],
  ])('rejects %s as malformed', (_name, token) => {
    expect(rejection(() => decodeCompactJws(token)).failure).toBe('malformed');
  });

  it('rejects a header with a repeated key', () => {
    const error = rejection(() => decodeCompactJws(`${b64url('{"alg":"RS256","alg":"none"}')}.${payload}.c2ln`));
    expect(error.failure).toBe('malformed');
    expect(error.description).toMatch(/repeats a JSON key/);
  });

  it('rejects a token longer than the limit before decoding it', () => {
    const big = `${header}.${b64url(`{"x":"${'a'.repeat(MAX_TOKEN_LENGTH)}"}`)}.c2ln`;
    const error = rejection(() => decodeCompactJws(big));
    expect(error.failure).toBe('malformed');
    expect(error.detail).toBe('too_large');
  });
});
