import { describe, expect, it } from 'vitest';
import { parseBody } from '../../src/input/parseBody.js';
import { ExactNumber, scanJson, stringifyInput } from '../../src/input/exactJson.js';
import { MAX_FORM_FIELDS, MAX_JSON_DEPTH, MAX_MULTIPART_PARTS } from '../../src/input/limits.js';

const source = (contentType: string | undefined, body: string, contentLength?: string, partialBody?: string) => ({
  contentType,
  contentLength,
  partialBody,
  body,
  rawBody: undefined,
});

const multipart = (lines: string[], nl = '\r\n') => lines.join(nl);

describe('parseBody (input.parsed_body, input.body_error)', () => {
  it('parses a JSON body', () => {
    expect(parseBody(source('application/json', '{"a":[1,2],"b":{"c":true}}'))).toEqual({
      parsedBody: { a: [1, 2], b: { c: true } },
      truncatedBody: false,
      bodyError: null,
    });
  });
  it('parses a JSON body sent with a charset and a +json media type', () => {
    expect(parseBody(source('application/problem+json; charset=utf-8', '{"x":1}')).parsedBody).toEqual({ x: 1 });
  });
  it('gives null and invalid_json for malformed JSON instead of failing', () => {
    expect(parseBody(source('application/json', '{"a":'))).toMatchObject({
      parsedBody: null,
      bodyError: 'invalid_json',
    });
  });
  it(`gives null and too_deep past ${MAX_JSON_DEPTH} levels, and parses exactly ${MAX_JSON_DEPTH}`, () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parseBody(source('application/json', deep(MAX_JSON_DEPTH + 1)))).toMatchObject({
      parsedBody: null,
      bodyError: 'too_deep',
    });
    expect(parseBody(source('application/json', deep(MAX_JSON_DEPTH))).bodyError).toBeNull();
    // brackets inside strings do not count
    expect(parseBody(source('application/json', JSON.stringify({ s: '['.repeat(1000) }))).bodyError).toBeNull();
  });
  it('keeps integers beyond 2^53 and long decimals exact', () => {
    const facts = parseBody(
      source('application/json', '{"big":9007199254740993,"d":0.1000000000000000055511151231257827,"n":-12}'),
    );
    const body = facts.parsedBody as Record<string, unknown>;
    expect(body['big']).toBeInstanceOf(ExactNumber);
    // any other JSON writer (a log line) gets the nearest double rather than an error
    expect(JSON.stringify(body['big'])).toBe('9007199254740992');
    expect(stringifyInput(body)).toBe('{"big":9007199254740993,"d":0.1000000000000000055511151231257827,"n":-12}');
  });
  it('takes the native parser only when every number is one a double holds as written', () => {
    expect(scanJson('{"a":[1,-2.5,0.000123,1e20,-0,"99999999999999999"]}')).toEqual({ depth: 2, plainNumbers: true });
    for (const literal of [
      '9007199254740993',
      '1e400',
      '1e-320',
      '0.1000000000000000055511151231257827',
      '1234567890123456',
    ]) {
      expect(scanJson(`[${literal}]`).plainNumbers, literal).toBe(false);
      expect(stringifyInput(parseBody(source('application/json', `[${literal}]`)).parsedBody)).toBe(`[${literal}]`);
    }
    const plain = parseBody(source('application/json', '{"n":[1,2.5,1e20,0.000123]}'));
    expect(stringifyInput(plain.parsedBody)).toBe('{"n":[1,2.5,100000000000000000000,0.000123]}');
  });
  it('keeps the last of duplicate keys and reads __proto__ as an ordinary key', () => {
    const body = parseBody(source('application/json', '{"a":1,"a":2,"__proto__":{"x":1}}')).parsedBody as object;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.keys(body)).toEqual(['a', '__proto__']);
    expect(stringifyInput(body)).toBe('{"a":2,"__proto__":{"x":1}}');
  });
  it('parses form-urlencoded bodies into lists of values', () => {
    expect(parseBody(source('application/x-www-form-urlencoded', 'a=1&a=2&name=J%C3%BCrgen+M')).parsedBody).toEqual({
      a: ['1', '2'],
      name: ['Jürgen M'],
    });
  });
  it('reads constructor, __proto__, toString, hasOwnProperty and valueOf as ordinary form names', () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
    const body = parseBody(source('application/x-www-form-urlencoded', names.map((n) => `${n}=1&${n}=2`).join('&')));
    expect(stringifyInput(body.parsedBody)).toBe(JSON.stringify(Object.fromEntries(names.map((n) => [n, ['1', '2']]))));
  });
  it('gives invalid_form for a malformed escape and too_many_fields past the limit', () => {
    expect(parseBody(source('application/x-www-form-urlencoded', 'a=%zz'))).toMatchObject({
      parsedBody: null,
      bodyError: 'invalid_form',
    });
    const many = Array.from({ length: MAX_FORM_FIELDS + 1 }, (_, i) => `f${i}=1`).join('&');
    expect(parseBody(source('application/x-www-form-urlencoded', many))).toMatchObject({
      parsedBody: null,
      bodyError: 'too_many_fields',
    });
  });
  const parts = [
    '--XyZ',
    'Content-Disposition: form-data; name="title"',
    '',
    'hello',
    '--XyZ',
    'Content-Disposition: form-data; name="meta"',
    'Content-Type: application/json',
    '',
    '{"tags":["a"]}',
    '--XyZ',
    'Content-Disposition: form-data; name="title"',
    '',
    'second',
    '--XyZ--',
    '',
  ];
  it('parses multipart/form-data fields, JSON parts as JSON', () => {
    expect(parseBody(source('multipart/form-data; boundary=XyZ', multipart(parts))).parsedBody).toEqual({
      title: ['hello', 'second'],
      meta: [{ tags: ['a'] }],
    });
  });
  it('parses multipart bodies with LF-only line breaks', () => {
    expect(parseBody(source('multipart/form-data; boundary=XyZ', multipart(parts, '\n'))).parsedBody).toEqual({
      title: ['hello', 'second'],
      meta: [{ tags: ['a'] }],
    });
  });
  it('skips a part without a form name, keeps a preamble out, and decodes quoted-printable', () => {
    const body = multipart([
      'preamble text',
      '--b',
      'Content-Disposition: attachment; name="not-a-form-field"',
      '',
      'skipped',
      '--b',
      'Content-Type: text/plain',
      '',
      'no disposition at all',
      '--b',
      'Content-Disposition: form-data; name="qp"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=C3=A9 =',
      'au lait',
      '--b',
      'Content-Disposition: form-data; name="text"',
      '',
      'line one',
      'line two --b-not-a-boundary',
      '--b--',
    ]);
    expect(parseBody(source('multipart/form-data; boundary=b', body))).toEqual({
      parsedBody: { qp: ['café au lait'], text: ['line one\r\nline two --b-not-a-boundary'] },
      truncatedBody: false,
      bodyError: null,
    });
  });
  it('gives invalid_multipart for a body without its closing boundary or without a boundary parameter', () => {
    const body = '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n';
    expect(parseBody(source('multipart/form-data; boundary="XyZ"', body))).toMatchObject({
      parsedBody: null,
      bodyError: 'invalid_multipart',
    });
    expect(parseBody(source('multipart/form-data', multipart(parts))).bodyError).toBe('invalid_multipart');
  });
  it('gives too_deep for a deep JSON part and too_many_parts past the limit', () => {
    const deep = '['.repeat(600) + ']'.repeat(600);
    const body = multipart([
      '--b',
      'Content-Disposition: form-data; name="j"',
      'Content-Type: application/json',
      '',
      deep,
      '--b--',
    ]);
    expect(parseBody(source('multipart/form-data; boundary=b', body))).toMatchObject({
      parsedBody: null,
      bodyError: 'too_deep',
    });
    const many = [];
    for (let i = 0; i <= MAX_MULTIPART_PARTS; i++)
      many.push('--b', `Content-Disposition: form-data; name="f${i}"`, '', 'v');
    many.push('--b--');
    expect(parseBody(source('multipart/form-data; boundary=b', multipart(many))).bodyError).toBe('too_many_parts');
  });
  it('reads prototype names as ordinary multipart field names', () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
    const lines = names.flatMap((n) => ['--b', `Content-Disposition: form-data; name="${n}"`, '', n]);
    const body = parseBody(source('multipart/form-data; boundary=b', multipart([...lines, '--b--'])));
    expect(stringifyInput(body.parsedBody)).toBe(JSON.stringify(Object.fromEntries(names.map((n) => [n, [n]]))));
  });
  it('prefers raw_body bytes when Envoy sends them', () => {
    const facts = parseBody({
      contentType: 'application/json',
      contentLength: undefined,
      partialBody: undefined,
      body: undefined,
      rawBody: Buffer.from('{"raw":true}'),
    });
    expect(facts.parsedBody).toEqual({ raw: true });
  });
  it('marks a body shorter than its content-length as truncated and does not parse the prefix', () => {
    expect(parseBody(source('application/json', '{"a":1}', '100'))).toEqual({
      parsedBody: null,
      truncatedBody: true,
      bodyError: 'truncated',
    });
  });
  it('marks a body Envoy flagged with x-envoy-auth-partial-body: true as truncated', () => {
    expect(parseBody(source('application/x-www-form-urlencoded', 'a=1&b=2', undefined, 'true'))).toEqual({
      parsedBody: null,
      truncatedBody: true,
      bodyError: 'truncated',
    });
    expect(parseBody(source('application/x-www-form-urlencoded', 'a=1', undefined, 'false')).parsedBody).toEqual({
      a: ['1'],
    });
  });
  it('leaves the body unparsed with skipRequestBodyParse', () => {
    expect(parseBody({ ...source('application/json', '{"a":1}'), skip: true })).toEqual({
      parsedBody: null,
      truncatedBody: false,
      bodyError: 'skipped',
    });
  });
  it('gives null without an error for unknown content types', () => {
    expect(parseBody(source('text/plain', 'hello'))).toEqual({
      parsedBody: null,
      truncatedBody: false,
      bodyError: null,
    });
  });
  it('gives null and not truncated without a body', () => {
    expect(parseBody(source('application/json', ''))).toEqual({
      parsedBody: null,
      truncatedBody: false,
      bodyError: null,
    });
  });
});
