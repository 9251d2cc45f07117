// The CheckRequests Envoy sends, decoded straight into the object form the pipeline reads: what protobufjs gives
// (`type.toObject(type.decode(bytes), protoLoaderOptions)`, server/protos.ts) without the message object it
// builds first and then copies field by field, and without its generic reader's work per value. It reads the
// fields Envoy fills for an HTTP check (peers with socket addresses, labels, principal and certificate; the
// request's time and its HTTP attributes with the `headers` map; context extensions; empty metadata; the TLS
// SNI) and nothing else: any other field, a wire type or length it does not expect, a value beyond what it
// writes exactly (an int64 above 2^53, a 10-byte int32), a `__proto__` map key, and the whole message goes to
// protobufjs instead (decodeCheckRequest answers undefined), so the result is protobufjs's in every case.
// Keys come out in protobufjs's order (field number, present fields only, explicit defaults included; maps in
// the order of their keys as a JS object orders them). test/input/decodeCheckRequest.test.ts compares the two
// on generated messages and on damaged ones.
import type { DecodedAttributes, DecodedCheckRequest, DecodedHttpRequest, DecodedPeer } from './checkRequest.js';

/** Map keys remembered, by a hash of their bytes (a later key with the same hash replaces an earlier one). */
const KEY_SLOTS = 512;
const MAX_KEY_LENGTH = 48;
const knownKeys: Array<string | undefined> = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

/** Thrown inside the decoder when it meets something it leaves to protobufjs; never escapes it. */
class NotHandled extends Error {}
const NOT_HANDLED = new NotHandled();

/**
 * Buffer's own UTF-8 slice, what protobufjs's reader calls for every string (Buffer.toString checks and
 * normalizes its arguments on top of it).
 */
type SliceableBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/** One pass over a Buffer: the position, and the end of the message being read. */
class Reader {
  pos = 0;

  constructor(readonly buf: SliceableBuffer) {}

  varint32(end: number): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= end) throw NOT_HANDLED;
      const byte = buf[this.pos++]!;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    // more than five bytes: a negative int32 or a malformed varint
    throw NOT_HANDLED;
  }

  /** a non-negative varint below 2^53 (int64 fields as Envoy writes them), as a decimal string */
  varint53(end: number): string {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= end) throw NOT_HANDLED;
      const byte = buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw NOT_HANDLED;
        return String(value);
      }
      scale *= 128;
    }
    throw NOT_HANDLED;
  }

  /** the end of the length-delimited field starting here (its length read) */
  delimited(end: number): number {
    const length = this.varint32(end);
    const fieldEnd = this.pos + length;
    if (fieldEnd > end) throw NOT_HANDLED;
    return fieldEnd;
  }

  string(end: number): string {
    const fieldEnd = this.delimited(end);
    const start = this.pos;
    this.pos = fieldEnd;
    return this.buf.utf8Slice(start, fieldEnd);
  }

  /**
   * A map key: header names and the like repeat from one request to the next, so a short ASCII key is taken
   * from the keys seen before when its bytes match one: the same characters, already internalized by V8 (a
   * fresh string used as a property name is looked up in V8's string table first).
   */
  key(end: number): string {
    const fieldEnd = this.delimited(end);
    const start = this.pos;
    const length = fieldEnd - start;
    this.pos = fieldEnd;
    const buf = this.buf;
    if (length === 0 || length > MAX_KEY_LENGTH) return buf.utf8Slice(start, fieldEnd);
    let hash = length;
    for (let i = start; i < fieldEnd; i++) hash = (Math.imul(hash, 31) + buf[i]!) | 0;
    const slot = hash & (KEY_SLOTS - 1);
    const seen = knownKeys[slot];
    if (seen !== undefined && seen.length === length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (seen.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return seen;
    }
    const key = buf.utf8Slice(start, fieldEnd);
    // ASCII only (one byte per character), so comparing characters with bytes is comparing the keys
    if (key.length === length) knownKeys[slot] = key;
    return key;
  }

  bool(end: number): boolean {
    return this.varint32(end) !== 0;
  }
}

/** The tag's field number, after checking its wire type (0 varint, 2 length-delimited). */
function fieldOf(tag: number, varintFields: number, stringFields: number): number {
  const field = tag >>> 3;
  const wire = tag & 7;
  if (field > 31) throw NOT_HANDLED;
  const bit = 1 << field;
  if (wire === 0 ? (varintFields & bit) === 0 : wire !== 2 || (stringFields & bit) === 0) throw NOT_HANDLED;
  return field;
}

const bits = (...fields: number[]): number => fields.reduce((set, field) => set | (1 << field), 0);

/** The CheckRequest in protobufjs's object form, or undefined: protobufjs must decode this one. */
export function decodeCheckRequest(bytes: Buffer): DecodedCheckRequest | undefined {
  if (!Buffer.isBuffer(bytes)) return undefined;
  const r = new Reader(bytes as SliceableBuffer);
  try {
    let attributes: DecodedAttributes | undefined;
    const end = bytes.length;
    while (r.pos < end) {
      const tag = r.varint32(end);
      if (tag !== 0x0a) throw NOT_HANDLED;
      attributes = attributeContext(r, r.delimited(end));
    }
    return attributes === undefined ? {} : { attributes };
  } catch (error) {
    if (error === NOT_HANDLED) return undefined;
    throw error;
  }
}

const ATTRIBUTE_FIELDS = bits(1, 2, 4, 10, 11, 12, 13);

function attributeContext(r: Reader, end: number): DecodedAttributes {
  let source: DecodedPeer | undefined;
  let destination: DecodedPeer | undefined;
  let request: DecodedAttributes['request'];
  let contextExtensions: Record<string, string> | undefined;
  let metadataContext: Record<string, never> | undefined;
  let tlsSession: { sni?: string } | undefined;
  let routeMetadataContext: Record<string, never> | undefined;
  while (r.pos < end) {
    switch (fieldOf(r.varint32(end), 0, ATTRIBUTE_FIELDS)) {
      case 1:
        source = peer(r, r.delimited(end));
        break;
      case 2:
        destination = peer(r, r.delimited(end));
        break;
      case 4:
        request = requestOf(r, r.delimited(end));
        break;
      case 10:
        contextExtensions = mapEntry(r, r.delimited(end), contextExtensions ?? {});
        break;
      case 11:
        metadataContext = emptyMessage(r, end);
        break;
      case 12:
        tlsSession = tls(r, r.delimited(end));
        break;
      case 13:
        routeMetadataContext = emptyMessage(r, end);
        break;
    }
  }
  const out: DecodedAttributes = {};
  if (source !== undefined) out.source = source;
  if (destination !== undefined) out.destination = destination;
  if (request !== undefined) out.request = request;
  if (contextExtensions !== undefined) out['contextExtensions'] = contextExtensions;
  if (metadataContext !== undefined) out['metadataContext'] = metadataContext;
  if (tlsSession !== undefined) out['tlsSession'] = tlsSession;
  if (routeMetadataContext !== undefined) out['routeMetadataContext'] = routeMetadataContext;
  return out;
}

/** Metadata without any entry (what Envoy sends when no namespace is configured): `{}`. */
function emptyMessage(r: Reader, end: number): Record<string, never> {
  if (r.delimited(end) !== r.pos) throw NOT_HANDLED;
  return {};
}

const TLS_FIELDS = bits(1);

function tls(r: Reader, end: number): { sni?: string } {
  let sni: string | undefined;
  while (r.pos < end) {
    fieldOf(r.varint32(end), 0, TLS_FIELDS);
    sni = r.string(end);
  }
  return sni === undefined ? {} : { sni };
}

const PEER_FIELDS = bits(1, 2, 3, 4, 5);

function peer(r: Reader, end: number): DecodedPeer {
  let address: DecodedPeer['address'];
  let service: string | undefined;
  let labels: Record<string, string> | undefined;
  let principal: string | undefined;
  let certificate: string | undefined;
  while (r.pos < end) {
    switch (fieldOf(r.varint32(end), 0, PEER_FIELDS)) {
      case 1:
        address = addressOf(r, r.delimited(end));
        break;
      case 2:
        service = r.string(end);
        break;
      case 3:
        labels = mapEntry(r, r.delimited(end), labels ?? {});
        break;
      case 4:
        principal = r.string(end);
        break;
      case 5:
        certificate = r.string(end);
        break;
    }
  }
  const out: DecodedPeer = {};
  if (address !== undefined) out.address = address;
  if (service !== undefined) out['service'] = service;
  if (labels !== undefined) out['labels'] = labels;
  if (principal !== undefined) out.principal = principal;
  if (certificate !== undefined) out['certificate'] = certificate;
  return out;
}

const ADDRESS_FIELDS = bits(1);

function addressOf(r: Reader, end: number): NonNullable<DecodedPeer['address']> {
  let socketAddress: NonNullable<DecodedPeer['address']>['socketAddress'];
  while (r.pos < end) {
    fieldOf(r.varint32(end), 0, ADDRESS_FIELDS);
    socketAddress = socket(r, r.delimited(end));
  }
  return socketAddress === undefined ? {} : { socketAddress };
}

const SOCKET_VARINTS = bits(3, 6);
const SOCKET_STRINGS = bits(2, 4, 5);

function socket(r: Reader, end: number): Record<string, string | number | boolean> {
  let address: string | undefined;
  let portValue: number | undefined;
  let namedPort: string | undefined;
  let resolverName: string | undefined;
  let ipv4Compat: boolean | undefined;
  while (r.pos < end) {
    switch (fieldOf(r.varint32(end), SOCKET_VARINTS, SOCKET_STRINGS)) {
      case 2:
        address = r.string(end);
        break;
      case 3:
        portValue = r.varint32(end);
        break;
      case 4:
        namedPort = r.string(end);
        break;
      case 5:
        resolverName = r.string(end);
        break;
      case 6:
        ipv4Compat = r.bool(end);
        break;
    }
  }
  const out: Record<string, string | number | boolean> = {};
  if (address !== undefined) out['address'] = address;
  if (portValue !== undefined) out['portValue'] = portValue;
  if (namedPort !== undefined) out['namedPort'] = namedPort;
  if (resolverName !== undefined) out['resolverName'] = resolverName;
  if (ipv4Compat !== undefined) out['ipv4Compat'] = ipv4Compat;
  return out;
}

const REQUEST_FIELDS = bits(1, 2);

function requestOf(r: Reader, end: number): NonNullable<DecodedAttributes['request']> {
  let time: { seconds?: string; nanos?: number } | undefined;
  let http: DecodedHttpRequest | undefined;
  while (r.pos < end) {
    if (fieldOf(r.varint32(end), 0, REQUEST_FIELDS) === 1) time = timestamp(r, r.delimited(end));
    else http = httpRequest(r, r.delimited(end));
  }
  const out: NonNullable<DecodedAttributes['request']> = {};
  if (time !== undefined) out.time = time;
  if (http !== undefined) out.http = http;
  return out;
}

const TIMESTAMP_VARINTS = bits(1, 2);

function timestamp(r: Reader, end: number): { seconds?: string; nanos?: number } {
  let seconds: string | undefined;
  let nanos: number | undefined;
  while (r.pos < end) {
    if (fieldOf(r.varint32(end), TIMESTAMP_VARINTS, 0) === 1) seconds = r.varint53(end);
    else nanos = r.varint32(end) | 0;
  }
  const out: { seconds?: string; nanos?: number } = {};
  if (seconds !== undefined) out.seconds = seconds;
  if (nanos !== undefined) out.nanos = nanos;
  return out;
}

const HTTP_VARINTS = bits(9);
const HTTP_STRINGS = bits(1, 2, 3, 4, 5, 6, 7, 8, 10, 11);

function httpRequest(r: Reader, end: number): DecodedHttpRequest {
  let id: string | undefined;
  let method: string | undefined;
  let headers: Record<string, string> | undefined;
  let path: string | undefined;
  let host: string | undefined;
  let scheme: string | undefined;
  let query: string | undefined;
  let fragment: string | undefined;
  let size: string | undefined;
  let protocol: string | undefined;
  let body: string | undefined;
  while (r.pos < end) {
    switch (fieldOf(r.varint32(end), HTTP_VARINTS, HTTP_STRINGS)) {
      case 1:
        id = r.string(end);
        break;
      case 2:
        method = r.string(end);
        break;
      case 3:
        headers = mapEntry(r, r.delimited(end), headers ?? {});
        break;
      case 4:
        path = r.string(end);
        break;
      case 5:
        host = r.string(end);
        break;
      case 6:
        scheme = r.string(end);
        break;
      case 7:
        query = r.string(end);
        break;
      case 8:
        fragment = r.string(end);
        break;
      case 9:
        size = r.varint53(end);
        break;
      case 10:
        protocol = r.string(end);
        break;
      case 11:
        body = r.string(end);
        break;
    }
  }
  const out: DecodedHttpRequest = {};
  if (id !== undefined) out.id = id;
  if (method !== undefined) out.method = method;
  if (headers !== undefined) out.headers = headers;
  if (path !== undefined) out.path = path;
  if (host !== undefined) out.host = host;
  if (scheme !== undefined) out.scheme = scheme;
  if (query !== undefined) out.query = query;
  if (fragment !== undefined) out.fragment = fragment;
  if (size !== undefined) out.size = size;
  if (protocol !== undefined) out.protocol = protocol;
  if (body !== undefined) out.body = body;
  return out;
}

const ENTRY_FIELDS = bits(1, 2);

/**
 * One map<string, string> entry into `map` (a later entry for the same key replaces it, in its place). A map
 * that is present has a key (an entry without one has ""), so it is always written out, as protobufjs does.
 */
function mapEntry(r: Reader, end: number, map: Record<string, string>): Record<string, string> {
  let key = '';
  let value = '';
  while (r.pos < end) {
    if (fieldOf(r.varint32(end), 0, ENTRY_FIELDS) === 1) key = r.key(end);
    else value = r.string(end);
  }
  if (key === '__proto__') throw NOT_HANDLED;
  map[key] = value;
  return map;
}
