// A CheckResponse straight to its protobuf bytes, the same bytes protobufjs writes for it
// (`type.encode(type.fromObject(message))`, what the Check method's serializer did before): fields in field
// number order, fields present in the object written even when they hold the default value, map entries in
// Object.keys order, strings as protobufjs writes them (under 40 characters with its own UTF-8 writer, which
// writes a lone surrogate as its three bytes; longer ones with Buffer's, which writes U+FFFD), and the same
// nesting limit. protobufjs builds a message object per field and then a linked list of write operations per
// value; the answer to every check went through that (~3.5 µs and ~5 KB of garbage per check). Here one pass
// measures every length-delimited part (kept in pre-order), the next writes them into one buffer.
// test/response/encodeCheckResponse.test.ts compares the two on generated messages.
import protobuf from 'protobufjs/light.js';
import type { CheckResponseMessage } from './buildCheckResponse.js';
import type { HeaderValueOptionMessage } from './headers.js';
import type { StructMessage, ValueMessage } from './struct.js';

const { utf8 } = protobuf.util;
/** protobufjs refuses messages nested deeper than this (policy dynamic_metadata can be) */
const RECURSION_LIMIT = protobuf.util.recursionLimit;
/** where protobufjs switches from its own UTF-8 writer to Buffer's */
const SHORT_STRING = 40;

const APPEND_ACTIONS: Readonly<Record<string, number>> = {
  APPEND_IF_EXISTS_OR_ADD: 0,
  ADD_IF_ABSENT: 1,
  OVERWRITE_IF_EXISTS_OR_ADD: 2,
  OVERWRITE_IF_EXISTS: 3,
};

export class NestingTooDeepError extends Error {
  constructor() {
    super('maximum nesting depth exceeded');
  }
}

/** The message's bytes; throws NestingTooDeepError where protobufjs throws for nesting. */
export function encodeCheckResponse(message: CheckResponseMessage): Buffer {
  return encode(message, 0);
}

/**
 * The message as one gRPC frame: the 5-byte prefix (uncompressed, length) and the message's bytes, written
 * into one buffer (no second buffer and copy to frame it).
 */
export function encodeCheckResponseFrame(message: CheckResponseMessage): Buffer {
  return encode(message, FRAME_PREFIX);
}

const FRAME_PREFIX = 5;

function encode(message: CheckResponseMessage, prefix: number): Buffer {
  const lengths: number[] = [];
  const size = measureCheckResponse(message, lengths);
  const writer = new Writer(Buffer.allocUnsafe(prefix + size) as WritableBytes, lengths);
  if (prefix === FRAME_PREFIX) {
    writer.byte(0);
    writer.buffer.writeUInt32BE(size, 1);
    writer.pos = FRAME_PREFIX;
  }
  writeCheckResponse(writer, message);
  return writer.buffer;
}

// --- measuring: each length-delimited part's byte length is pushed in the order the writer meets them ---

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** protobufjs's int32: a negative value is a ten-byte varint (its 64-bit two's complement) */
function int32Size(value: number): number {
  return value < 0 ? 10 : varintSize(value >>> 0);
}

/** tag (one byte for every field here) + length + bytes */
function delimited(length: number): number {
  return 1 + varintSize(length) + length;
}

function measureString(value: string, lengths: number[]): number {
  const length = Buffer.byteLength(value);
  lengths.push(length);
  return delimited(length);
}

function measureCheckResponse(m: CheckResponseMessage, lengths: number[]): number {
  let size = 0;
  const status = m.status;
  if (status != null) {
    const slot = lengths.push(0) - 1;
    let length = 0;
    if (status.code != null) length += 1 + int32Size(status.code | 0);
    if (status.message != null) length += measureString(status.message, lengths);
    size += delimited((lengths[slot] = length));
  }
  const denied = m.deniedResponse;
  if (denied != null) {
    const slot = lengths.push(0) - 1;
    let length = 0;
    if (denied.status != null) {
      const code = denied.status.code;
      const statusLength = typeof code === 'number' ? 1 + int32Size(code) : 0;
      lengths.push(statusLength);
      length += delimited(statusLength);
    }
    length += measureHeaders(denied.headers, lengths);
    if (denied.body != null) length += measureString(denied.body, lengths);
    size += delimited((lengths[slot] = length));
  }
  const ok = m.okResponse;
  if (ok != null) {
    const slot = lengths.push(0) - 1;
    let length = measureHeaders(ok.headers, lengths);
    length += measureStrings(ok.headersToRemove, lengths);
    length += measureHeaders(ok.responseHeadersToAdd, lengths);
    const parameters = ok.queryParametersToSet;
    if (parameters != null) {
      for (const parameter of parameters) {
        const parameterSlot = lengths.push(0) - 1;
        let part = 0;
        if (parameter.key != null) part += measureString(parameter.key, lengths);
        if (parameter.value != null) part += measureString(parameter.value, lengths);
        length += delimited((lengths[parameterSlot] = part));
      }
    }
    length += measureStrings(ok.queryParametersToRemove, lengths);
    size += delimited((lengths[slot] = length));
  }
  const metadata = m.dynamicMetadata;
  if (metadata != null) {
    const slot = lengths.push(0) - 1;
    size += delimited((lengths[slot] = measureStruct(metadata, 1, lengths)));
  }
  return size;
}

function measureStrings(values: readonly string[] | undefined, lengths: number[]): number {
  let size = 0;
  if (values != null) for (const value of values) size += measureString(value, lengths);
  return size;
}

function measureHeaders(headers: readonly HeaderValueOptionMessage[] | undefined, lengths: number[]): number {
  let size = 0;
  if (headers == null) return size;
  for (const option of headers) {
    const slot = lengths.push(0) - 1;
    let length = 0;
    const header = option.header;
    if (header != null) {
      const headerSlot = lengths.push(0) - 1;
      let part = 0;
      if (header.key != null) part += measureString(header.key, lengths);
      if (header.value != null) part += measureString(header.value, lengths);
      length += delimited((lengths[headerSlot] = part));
    }
    const append = option.append;
    if (append != null) {
      const part = append.value != null ? 2 : 0;
      lengths.push(part);
      length += delimited(part);
    }
    const action = appendAction(option.appendAction);
    if (action !== undefined) length += 1 + int32Size(action);
    size += delimited((lengths[slot] = length));
  }
  return size;
}

function appendAction(value: string | number | undefined): number | undefined {
  if (typeof value === 'number') return value;
  return value === undefined ? undefined : APPEND_ACTIONS[value];
}

function measureStruct(struct: StructMessage, depth: number, lengths: number[]): number {
  if (depth > RECURSION_LIMIT) throw new NestingTooDeepError();
  let size = 0;
  const fields = struct.fields;
  if (!fields) return size;
  for (const key of Object.keys(fields)) {
    const entrySlot = lengths.push(0) - 1;
    let entry = measureString(key, lengths);
    const valueSlot = lengths.push(0) - 1;
    entry += delimited((lengths[valueSlot] = measureValue(fields[key]!, depth + 1, lengths)));
    size += delimited((lengths[entrySlot] = entry));
  }
  return size;
}

function measureValue(value: ValueMessage, depth: number, lengths: number[]): number {
  if (depth > RECURSION_LIMIT) throw new NestingTooDeepError();
  const v = value as Partial<Record<string, unknown>>;
  let size = 0;
  const nullValue = nullValueOf(v['nullValue']);
  if (nullValue !== undefined) size += 1 + int32Size(nullValue);
  if (v['numberValue'] != null) size += 9;
  if (v['stringValue'] != null) size += measureString(String(v['stringValue']), lengths);
  if (v['boolValue'] != null) size += 2;
  const struct = v['structValue'] as StructMessage | undefined | null;
  if (struct != null) {
    const slot = lengths.push(0) - 1;
    size += delimited((lengths[slot] = measureStruct(struct, depth + 1, lengths)));
  }
  const list = v['listValue'] as { values?: ValueMessage[] } | undefined | null;
  if (list != null) {
    if (depth + 1 > RECURSION_LIMIT) throw new NestingTooDeepError();
    const slot = lengths.push(0) - 1;
    let length = 0;
    for (const item of list.values ?? []) {
      const itemSlot = lengths.push(0) - 1;
      length += delimited((lengths[itemSlot] = measureValue(item, depth + 2, lengths)));
    }
    size += delimited((lengths[slot] = length));
  }
  return size;
}

/** Value.fromObject's reading of nullValue: the enum's name or number; anything else leaves it unset */
function nullValueOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  return value === 'NULL_VALUE' ? 0 : undefined;
}

// --- writing ---

/**
 * Buffer's own Latin-1 write, what Buffer.write calls once it has normalized its arguments (the encoding name,
 * the offset, the length): for the short strings of an answer that normalization cost more than the copy.
 */
type WritableBytes = Buffer & { latin1Write(text: string, offset: number, length: number): number };

class Writer {
  pos = 0;
  private next = 0;

  constructor(
    readonly buffer: WritableBytes,
    private readonly lengths: readonly number[],
  ) {}

  byte(value: number): void {
    this.buffer[this.pos++] = value;
  }

  varint(value: number): void {
    while (value > 0x7f) {
      this.buffer[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[this.pos++] = value;
  }

  int32(value: number): void {
    if (value >= 0) {
      this.varint(value >>> 0);
      return;
    }
    // sign-extended to 64 bits: the low 32 bits, then all ones
    let low = value >>> 0;
    for (let i = 0; i < 4; i++) {
      this.buffer[this.pos++] = (low & 0x7f) | 0x80;
      low >>>= 7;
    }
    this.buffer[this.pos++] = (low & 0x0f) | 0x70 | 0x80;
    for (let i = 0; i < 4; i++) this.buffer[this.pos++] = 0xff;
    this.buffer[this.pos++] = 0x01;
  }

  /** the next length-delimited part: its tag and length */
  part(tag: number): void {
    this.buffer[this.pos++] = tag;
    this.varint(this.lengths[this.next++]!);
  }

  string(tag: number, value: string): void {
    const length = this.lengths[this.next++]!;
    this.buffer[this.pos++] = tag;
    this.varint(length);
    if (length === 0) return;
    // ASCII (as many bytes as characters) is the same bytes either way: a short one copied by a plain loop
    // (a call into Buffer costs more than copying the header names and values of an answer), a longer one by
    // Buffer in one call (protobufjs's UTF-8 writer, character by character, cost more than the rest of the
    // message).
    if (length === value.length) {
      if (length < SHORT_STRING) {
        const buffer = this.buffer;
        for (let i = 0, at = this.pos; i < length; i++, at++) buffer[at] = value.charCodeAt(i);
      } else this.buffer.latin1Write(value, this.pos, length);
    } else if (value.length < SHORT_STRING) utf8.write(value, this.buffer, this.pos);
    else this.buffer.write(value, this.pos);
    this.pos += length;
  }

  double(tag: number, value: number): void {
    this.buffer[this.pos++] = tag;
    this.buffer.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }
}

function writeCheckResponse(w: Writer, m: CheckResponseMessage): void {
  const status = m.status;
  if (status != null) {
    w.part(0x0a);
    if (status.code != null) {
      w.byte(0x08);
      w.int32(status.code | 0);
    }
    if (status.message != null) w.string(0x12, status.message);
  }
  const denied = m.deniedResponse;
  if (denied != null) {
    w.part(0x12);
    if (denied.status != null) {
      w.part(0x0a);
      const code = denied.status.code;
      if (typeof code === 'number') {
        w.byte(0x08);
        w.int32(code);
      }
    }
    writeHeaders(w, 0x12, denied.headers);
    if (denied.body != null) w.string(0x1a, denied.body);
  }
  const ok = m.okResponse;
  if (ok != null) {
    w.part(0x1a);
    writeHeaders(w, 0x12, ok.headers);
    writeStrings(w, 0x2a, ok.headersToRemove);
    writeHeaders(w, 0x32, ok.responseHeadersToAdd);
    for (const parameter of ok.queryParametersToSet ?? []) {
      w.part(0x3a);
      if (parameter.key != null) w.string(0x0a, parameter.key);
      if (parameter.value != null) w.string(0x12, parameter.value);
    }
    writeStrings(w, 0x42, ok.queryParametersToRemove);
  }
  if (m.dynamicMetadata != null) {
    w.part(0x22);
    writeStruct(w, m.dynamicMetadata);
  }
}

function writeStrings(w: Writer, tag: number, values: readonly string[] | undefined): void {
  if (values != null) for (const value of values) w.string(tag, value);
}

function writeHeaders(w: Writer, tag: number, headers: readonly HeaderValueOptionMessage[] | undefined): void {
  if (headers == null) return;
  for (const option of headers) {
    w.part(tag);
    const header = option.header;
    if (header != null) {
      w.part(0x0a);
      if (header.key != null) w.string(0x0a, header.key);
      if (header.value != null) w.string(0x12, header.value);
    }
    const append = option.append;
    if (append != null) {
      w.part(0x12);
      if (append.value != null) {
        w.byte(0x08);
        w.byte(append.value ? 1 : 0);
      }
    }
    const action = appendAction(option.appendAction);
    if (action !== undefined) {
      w.byte(0x18);
      w.int32(action);
    }
  }
}

function writeStruct(w: Writer, struct: StructMessage): void {
  const fields = struct.fields;
  if (!fields) return;
  for (const key of Object.keys(fields)) {
    w.part(0x0a);
    w.string(0x0a, key);
    w.part(0x12);
    writeValue(w, fields[key]!);
  }
}

function writeValue(w: Writer, value: ValueMessage): void {
  const v = value as Partial<Record<string, unknown>>;
  const nullValue = nullValueOf(v['nullValue']);
  if (nullValue !== undefined) {
    w.byte(0x08);
    w.int32(nullValue);
  }
  if (v['numberValue'] != null) w.double(0x11, Number(v['numberValue']));
  if (v['stringValue'] != null) w.string(0x1a, String(v['stringValue']));
  if (v['boolValue'] != null) {
    w.byte(0x20);
    w.byte(v['boolValue'] ? 1 : 0);
  }
  const struct = v['structValue'] as StructMessage | undefined | null;
  if (struct != null) {
    w.part(0x2a);
    writeStruct(w, struct);
  }
  const list = v['listValue'] as { values: ValueMessage[] } | undefined | null;
  if (list != null) {
    w.part(0x32);
    for (const item of list.values ?? []) {
      w.part(0x0a);
      writeValue(w, item);
    }
  }
}
