// The depth walk that tells a gRPC message nested past the decoder's recursion limit (`too_deep`) from bytes
// that are not the input type (`invalid_grpc`): checked against @bufbuild/protobuf's own limit on the
// well-known recursive types (Value/ListValue through repeated fields, Struct through map values).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ListValueSchema, StructSchema, ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../src/input/grpcDepth.js';

const LIMIT = 16;

function nestedLists(wraps: number): Uint8Array {
  let value: Value = create(ValueSchema, { kind: { case: 'stringValue', value: 'leaf' } });
  for (let i = 0; i < wraps; i++) {
    value = create(ValueSchema, { kind: { case: 'listValue', value: create(ListValueSchema, { values: [value] }) } });
  }
  return toBinary(ValueSchema, value);
}

function nestedStructs(wraps: number): Uint8Array {
  let value: Value = create(ValueSchema, { kind: { case: 'numberValue', value: 1 } });
  for (let i = 0; i < wraps; i++) {
    value = create(ValueSchema, {
      kind: { case: 'structValue', value: create(StructSchema, { fields: { a: value } }) },
    });
  }
  return toBinary(ValueSchema, value);
}

function decoderRefuses(bytes: Uint8Array): boolean {
  try {
    fromBinary(ValueSchema, bytes, { recursionLimit: LIMIT });
    return false;
  } catch {
    return true;
  }
}

describe('nestsDeeperThan', () => {
  it('agrees with the decoder at its limit, through repeated message fields and map values', () => {
    for (const build of [nestedLists, nestedStructs]) {
      const verdicts = Array.from({ length: 12 }, (_, wraps) => {
        const bytes = build(wraps);
        return [nestsDeeperThan(ValueSchema, bytes, LIMIT), decoderRefuses(bytes)];
      });
      for (const [ours, decoder] of verdicts) expect(ours).toBe(decoder);
      // Both sides of the limit are covered.
      expect(verdicts.some(([ours]) => ours)).toBe(true);
      expect(verdicts.some(([ours]) => !ours)).toBe(true);
    }
  });

  it('is false for bytes that are not the message, so the body is invalid_grpc rather than too_deep', () => {
    expect(nestsDeeperThan(ValueSchema, Uint8Array.of(0x32, 0xff, 0x01), LIMIT)).toBe(false);
    expect(nestsDeeperThan(ValueSchema, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), LIMIT)).toBe(false);
    expect(decoderRefuses(Uint8Array.of(0x32, 0xff, 0x01))).toBe(true);
  });

  it('stops one level past the limit however deep the message goes', () => {
    // Written on the wire by hand (the encoder's own recursion would overflow first): Value.list_value (6)
    // holding ListValue.values (1) holding the next Value, 1000 times (2001 levels).
    const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
    let bytes: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const list = [0x0a, ...varint(bytes.length), ...bytes];
      bytes = [0x32, ...varint(list.length), ...list];
    }
    expect(nestsDeeperThan(ValueSchema, Uint8Array.from(bytes), 128)).toBe(true);
  });
});
