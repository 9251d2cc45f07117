import { describe, expect, it } from 'vitest';
import { parseBody } from '../../src/input/parseBody.js';

const source = (contentType: string | undefined, body: string, contentLength?: string) => ({
  contentType,
  contentLength,
  body,
  rawBody: undefined,
});

describe('parseBody (input.parsed_body)', () => {
  it('parses a JSON body', () => {
    expect(parseBody(source('application/json', '{"a":[1,2],"b":{"c":true}}'))).toEqual({
      parsedBody: { a: [1, 2], b: { c: true } },
      truncatedBody: false,
    });
  });
  it('parses a JSON body sent with a charset and a +json media type', () => {
    expect(parseBody(source('application/problem+json; charset=utf-8', '{"x":1}')).parsedBody).toEqual({ x: 1 });
  });
  it('gives null for malformed JSON instead of failing', () => {
    expect(parseBody(source('application/json', '{"a":')).parsedBody).toBeNull();
  });
  it('parses form-urlencoded bodies into lists of values', () => {
    expect(parseBody(source('application/x-www-form-urlencoded', 'a=1&a=2&name=J%C3%BCrgen+M')).parsedBody).toEqual({
      a: ['1', '2'],
      name: ['Jürgen M'],
    });
  });
  it('parses multipart/form-data fields, JSON parts as JSON', () => {
    const body = [
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
    ].join('\r\n');
    expect(parseBody(source('multipart/form-data; boundary=XyZ', body)).parsedBody).toEqual({
      title: ['hello', 'second'],
      meta: [{ tags: ['a'] }],
    });
  });
  it('gives null for a multipart body without its closing boundary', () => {
    const body = '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n';
    expect(parseBody(source('multipart/form-data; boundary="XyZ"', body)).parsedBody).toBeNull();
  });
  it('prefers raw_body bytes when Envoy sends them', () => {
    const facts = parseBody({
      contentType: 'application/json',
      contentLength: undefined,
      body: undefined,
      rawBody: Buffer.from('{"raw":true}'),
    });
    expect(facts.parsedBody).toEqual({ raw: true });
  });
  it('marks a body shorter than its content-length as truncated and does not parse the prefix', () => {
    expect(parseBody(source('application/json', '{"a":1}', '100'))).toEqual({ parsedBody: null, truncatedBody: true });
  });
  it('gives null for unknown content types', () => {
    expect(parseBody(source('text/plain', 'hello')).parsedBody).toBeNull();
  });
  it('gives null and not truncated without a body', () => {
    expect(parseBody(source('application/json', ''))).toEqual({ parsedBody: null, truncatedBody: false });
  });
});
