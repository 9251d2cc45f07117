// How deep a protobuf message nests, read from its wire bytes along its descriptor: the message fields
// (singular, repeated, map values, groups) the decoder would descend into. decodeGrpcBody asks it only after
// @bufbuild/protobuf refused a frame, to tell a message nested past the recursion limit (`too_deep`) from
// bytes that are not the method's input type (`invalid_grpc`) without reading the library's error text.
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** The message type a field descends into, or undefined for scalars, enums and their lists and maps. */
function childMessage(field: DescField | undefined): DescMessage | undefined {
  if (field === undefined) return undefined;
  if (field.fieldKind === 'message') return field.message;
  if (field.fieldKind === 'list' && field.listKind === 'message') return field.message;
  return undefined;
}

/** The message a map field's values are, or undefined. */
function mapValueMessage(field: DescField | undefined): DescMessage | undefined {
  return field?.fieldKind === 'map' && field.mapKind === 'message' ? field.message : undefined;
}

/**
 * Whether the message at the reader nests more than `limit` messages deep counting itself (as the decoder's
 * recursionLimit counts); `end` is where it ends, or undefined for a group (it ends at its EndGroup tag).
 * Recursion stops one past `limit`, so the stack stays bounded.
 */
function deeper(
  desc: DescMessage,
  reader: BinaryReader,
  end: number | undefined,
  depth: number,
  limit: number,
): boolean {
  if (depth > limit) return true;
  const byNumber = new Map(desc.fields.map((f) => [f.number, f]));
  while (end === undefined ? reader.pos < reader.len : reader.pos < end) {
    const [fieldNo, wireType] = reader.tag();
    if (wireType === WireType.EndGroup) return false;
    const field = byNumber.get(fieldNo);
    const child = childMessage(field);
    const mapValue = mapValueMessage(field);
    if (child !== undefined && wireType === WireType.LengthDelimited) {
      const length = reader.uint32();
      const childEnd = reader.pos + length;
      if (deeper(child, reader, childEnd, depth + 1, limit)) return true;
      reader.pos = childEnd;
    } else if (child !== undefined && wireType === WireType.StartGroup) {
      if (deeper(child, reader, undefined, depth + 1, limit)) return true;
    } else if (mapValue !== undefined && wireType === WireType.LengthDelimited) {
      // A map entry: key 1 and value 2, the value a message one level down (the entry itself is not counted).
      const entryEnd = reader.pos + reader.uint32();
      while (reader.pos < entryEnd) {
        const [entryField, entryWire] = reader.tag();
        if (entryField === 2 && entryWire === WireType.LengthDelimited) {
          const valueEnd = reader.pos + reader.uint32();
          if (deeper(mapValue, reader, valueEnd, depth + 1, limit)) return true;
          reader.pos = valueEnd;
        } else reader.skip(entryWire, entryField);
      }
    } else {
      reader.skip(wireType, fieldNo, Math.max(0, limit - depth));
    }
  }
  return false;
}

/** Whether `bytes`, read as `desc`, nest more than `limit` messages deep; false for bytes that do not parse. */
export function nestsDeeperThan(desc: DescMessage, bytes: Uint8Array, limit: number): boolean {
  try {
    return deeper(desc, new BinaryReader(bytes), bytes.length, 1, limit);
  } catch {
    // Bytes that are not this message (a bad tag, a length past the end) before any level past the limit.
    return false;
  }
}
