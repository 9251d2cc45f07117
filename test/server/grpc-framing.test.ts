// The pure parts of gRPC over HTTP/2 (src/server/grpcFraming.ts), against PROTOCOL-HTTP2.md's grammar.
import { describe, expect, it } from 'vitest';
import {
  SingleMessageReader,
  encodeGrpcMessage,
  frameMessage,
  isGrpcProtoContentType,
  messageEncoding,
  parseGrpcTimeout,
} from '../../src/server/grpcFraming.js';

describe('grpc-timeout', () => {
  it('reads every unit, in milliseconds', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('4S')).toBe(4000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('99999999n')).toBeCloseTo(99.999999);
  });

  it('is absent without the header and malformed beyond 8 digits, without a unit, or with another', () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    for (const bad of ['123456789m', '100', 'm', '10s', '-1S', ' 1S', '1.5S', ''])
      expect(parseGrpcTimeout(bad), bad).toBeNull();
  });
});

describe('grpc-message', () => {
  it('leaves printable ASCII as it is and percent-encodes the rest as UTF-8 bytes, % included', () => {
    expect(encodeGrpcMessage('plain text: (ok) [1/2]')).toBe('plain text: (ok) [1/2]');
    expect(encodeGrpcMessage('100%')).toBe('100%25');
    expect(encodeGrpcMessage('é\n')).toBe('%C3%A9%0A');
    for (const text of ['naïve 100% \u{1F600}\r\n\t', 'a%2Fb', ''])
      expect(decodeURIComponent(encodeGrpcMessage(text))).toBe(text);
  });
});

describe('content-type and grpc-encoding', () => {
  it('accepts gRPC with protobuf messages, with or without parameters', () => {
    for (const ok of [
      'application/grpc',
      'application/grpc+proto',
      'application/grpc; charset=x',
      'application/grpc+proto;a=b',
    ])
      expect(isGrpcProtoContentType(ok), ok).toBe(true);
    for (const bad of [undefined, '', 'application/json', 'application/grpc+json', 'application/grpc-web', 'text/grpc'])
      expect(isGrpcProtoContentType(bad), String(bad)).toBe(false);
  });

  it('knows identity (also when absent), gzip and deflate', () => {
    expect([undefined, 'identity', 'gzip', 'deflate', 'snappy', 'GZIP'].map(messageEncoding)).toEqual([
      'identity',
      'identity',
      'gzip',
      'deflate',
      null,
      null,
    ]);
  });
});

describe('SingleMessageReader', () => {
  const message = Buffer.from('the message bytes');
  const framed = frameMessage(message);

  it('frames a message as flag 0, big-endian length, bytes', () => {
    expect([...framed.subarray(0, 5)]).toEqual([0, 0, 0, 0, message.length]);
    expect(framed.subarray(5).equals(message)).toBe(true);
  });

  it('reads one message whatever the chunking, without copying when it comes whole', () => {
    for (let cut = 0; cut <= framed.length; cut++) {
      const reader = new SingleMessageReader(1024);
      expect(reader.push(framed.subarray(0, cut))).toBeUndefined();
      expect(reader.push(framed.subarray(cut))).toBeUndefined();
      const read = reader.end();
      expect('bytes' in read && read.bytes.equals(message), `cut at ${cut}`).toBe(true);
    }
    const whole = new SingleMessageReader(1024);
    whole.push(framed);
    const read = whole.end();
    expect('bytes' in read && read.bytes.buffer === framed.buffer).toBe(true);
  });

  it('reads an empty message and the compressed flag', () => {
    const reader = new SingleMessageReader(10);
    reader.push(Buffer.from([1, 0, 0, 0, 0]));
    expect(reader.end()).toEqual({ compressed: true, bytes: Buffer.alloc(0) });
  });

  it('refuses a message over the limit from its prefix alone', () => {
    const reader = new SingleMessageReader(message.length - 1);
    expect(reader.push(framed.subarray(0, 5))).toEqual({
      kind: 'too_large',
      length: message.length,
      limit: message.length - 1,
    });
  });

  it('refuses a second message, and reports no message or a truncated one at the end', () => {
    const two = new SingleMessageReader(1024);
    expect(two.push(Buffer.concat([framed, framed.subarray(0, 1)]))).toEqual({ kind: 'second_message' });
    expect(new SingleMessageReader(1024).end()).toEqual({ kind: 'no_message' });
    const cut = new SingleMessageReader(1024);
    cut.push(framed.subarray(0, 3));
    expect(cut.end()).toEqual({ kind: 'truncated' });
    const cutBody = new SingleMessageReader(1024);
    cutBody.push(framed.subarray(0, 8));
    expect(cutBody.end()).toEqual({ kind: 'truncated' });
  });
});
