// DER reading with the exact acceptance rules of Go's golang.org/x/crypto/cryptobyte, which OPA's
// crypto.x509.* builtins parse through (crypto/x509). asn1js frames each element (identifier and length,
// including the long and indefinite forms); the rules Go adds on top are applied here: one-byte tags only,
// minimal lengths of at most four bytes, minimal two's-complement integers, minimal base-128 OID arcs,
// strict BOOLEAN and BIT STRING encodings, and UTCTime/GeneralizedTime that round-trip through Go's layout.
// Contents are read by these rules rather than by asn1js's own decoders, which accept what Go refuses
// (and refuse what Go accepts, such as minute-precision UTCTime).
import { fromBER } from 'asn1js';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUM: 0x0a,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  NumericString: 0x12,
  BMPString: 0x1e,
} as const;

/** Context-specific tag n, primitive (`[n] IMPLICIT` of a primitive type). */
export const ctx = (n: number): number => 0x80 | n;
/** Context-specific tag n, constructed (`[n] EXPLICIT`, or implicit over a SEQUENCE). */
export const ctxC = (n: number): number => 0xa0 | n;

export class DerError extends Error {
  readonly code = 'REGO_BUILTIN_DER';
}

/** A Go BitString: the bytes and how many bits of them count. */
export interface BitString {
  readonly bytes: Uint8Array;
  readonly bitLength: number;
}

export interface Element {
  readonly tag: number;
  /** Identifier, length and contents. */
  readonly full: Uint8Array;
  readonly content: Uint8Array;
}

/** The length of the element at the start of `bytes` (asn1js framing), or undefined when Go would refuse it. */
function frame(bytes: Uint8Array): { tag: number; headerLength: number; total: number } | undefined {
  if (bytes.length < 2) return undefined;
  const tag = bytes[0]!;
  // cryptobyte reads one-byte identifiers only.
  if ((tag & 0x1f) === 0x1f) return undefined;
  // Framed as an opaque primitive ([0]) so that asn1js measures the element without decoding its contents.
  const probe = Uint8Array.from(bytes);
  probe[0] = 0x80;
  const { offset, result } = fromBER(probe);
  const len = result.lenBlock;
  if (offset === -1 || result.error !== '' || len.error !== '' || len.isIndefiniteForm) return undefined;
  // cryptobyte: the short form below 128, no leading zero octet, at most four length octets.
  if (len.warnings.length > 0 || len.blockLength > 5) return undefined;
  if (len.longFormUsed && len.length < 128) return undefined;
  const headerLength = 1 + len.blockLength;
  return { tag, headerLength, total: headerLength + len.length };
}

/** A cursor over DER bytes, after cryptobyte.String. Every read returns undefined when Go's would fail. */
export class Der {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  empty(): boolean {
    return this.pos >= this.bytes.length;
  }

  rest(): Uint8Array {
    return this.bytes.subarray(this.pos);
  }

  peekTag(tag: number): boolean {
    return !this.empty() && this.bytes[this.pos] === tag;
  }

  /** ReadAnyASN1Element. */
  readAny(): Element | undefined {
    const f = frame(this.bytes.subarray(this.pos));
    if (!f || this.pos + f.total > this.bytes.length) return undefined;
    const full = this.bytes.subarray(this.pos, this.pos + f.total);
    this.pos += f.total;
    return { tag: f.tag, full, content: full.subarray(f.headerLength) };
  }

  /** ReadASN1Element with this tag. */
  readElement(tag: number): Element | undefined {
    if (!this.peekTag(tag)) return undefined;
    return this.readAny();
  }

  /** ReadASN1: the contents of an element with this tag. */
  read(tag: number): Der | undefined {
    const e = this.readElement(tag);
    return e ? new Der(e.content) : undefined;
  }

  /** ReadOptionalASN1: [present, contents]; undefined when present but malformed. */
  readOptional(tag: number): { present: boolean; der: Der } | undefined {
    if (!this.peekTag(tag)) return { present: false, der: new Der(new Uint8Array(0)) };
    const der = this.read(tag);
    return der ? { present: true, der } : undefined;
  }

  /** SkipOptionalASN1. */
  skipOptional(tag: number): boolean {
    return !this.peekTag(tag) || this.readAny() !== undefined;
  }

  /** ReadASN1Integer into a *big.Int. */
  readBigInt(tag: number = TAG.INTEGER): bigint | undefined {
    const e = this.readElement(tag);
    return e ? integerValue(e.content) : undefined;
  }

  /** ReadASN1Integer into an int64 (Go's int on 64-bit platforms). */
  readInt64(tag: number = TAG.INTEGER): bigint | undefined {
    const v = this.readBigInt(tag);
    return v !== undefined && v >= -(1n << 63n) && v < 1n << 63n ? v : undefined;
  }

  readBoolean(): boolean | undefined {
    const e = this.readElement(TAG.BOOLEAN);
    if (!e || e.content.length !== 1) return undefined;
    if (e.content[0] === 0x00) return false;
    if (e.content[0] === 0xff) return true;
    return undefined;
  }

  /** ReadASN1ObjectIdentifier: arcs that fit Go's int, as asn1.ObjectIdentifier holds them. */
  readOid(): number[] | undefined {
    const e = this.readElement(TAG.OID);
    return e ? oidArcs(e.content) : undefined;
  }

  readBitString(): BitString | undefined {
    const e = this.readElement(TAG.BIT_STRING);
    return e ? bitString(e.content) : undefined;
  }
}

/** One DER element: a one-byte tag, the minimal length, the contents. */
export function encodeElement(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : undefined;
  if (!len) throw new DerError('element too long to encode');
  return Uint8Array.from([tag, ...len, ...content]);
}

/** checkASN1Integer and the two's-complement value. */
export function integerValue(b: Uint8Array): bigint | undefined {
  if (b.length === 0) return undefined;
  if (b.length > 1 && ((b[0] === 0 && (b[1]! & 0x80) === 0) || (b[0] === 0xff && (b[1]! & 0x80) === 0x80))) {
    return undefined;
  }
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if (b[0]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v;
}

/** cryptobyte's readBase128Int arcs, each below 2^31 and minimally encoded. */
export function oidArcs(b: Uint8Array): number[] | undefined {
  if (b.length === 0) return undefined;
  const arcs: number[] = [];
  let i = 0;
  const next = (): number | undefined => {
    let ret = 0;
    for (let n = 0; i < b.length; n++) {
      if (n === 5 || ret >= 1 << 24) return undefined;
      const x = b[i++]!;
      if (n === 0 && x === 0x80) return undefined;
      ret = ret * 128 + (x & 0x7f);
      if ((x & 0x80) === 0) return ret;
    }
    return undefined;
  };
  const first = next();
  if (first === undefined) return undefined;
  if (first < 80) arcs.push(Math.floor(first / 40), first % 40);
  else arcs.push(2, first - 80);
  while (i < b.length) {
    const v = next();
    if (v === undefined) return undefined;
    arcs.push(v);
  }
  return arcs;
}

/** The arcs of an OID of any size (x509.OID), or undefined when not minimally encoded. */
export function oidArcsBig(b: Uint8Array): bigint[] | undefined {
  if (b.length === 0 || (b[b.length - 1]! & 0x80) !== 0) return undefined;
  const arcs: bigint[] = [];
  let v = 0n;
  let start = true;
  for (const x of b) {
    if (start && x === 0x80) return undefined;
    v = (v << 7n) | BigInt(x & 0x7f);
    start = false;
    if ((x & 0x80) === 0) {
      if (arcs.length === 0) {
        if (v < 80n) arcs.push(v / 40n, v % 40n);
        else arcs.push(2n, v - 80n);
      } else arcs.push(v);
      v = 0n;
      start = true;
    }
  }
  return arcs;
}

function bitString(b: Uint8Array): BitString | undefined {
  if (b.length === 0) return undefined;
  const padding = b[0]!;
  const bytes = b.subarray(1);
  if (padding > 7 || (bytes.length === 0 && padding !== 0)) return undefined;
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & ((1 << padding) - 1)) !== 0) return undefined;
  return { bytes, bitLength: bytes.length * 8 - padding };
}

/** BitString.RightAlign. */
export function rightAlign(bs: BitString): Uint8Array {
  const shift = 8 - (bs.bitLength % 8);
  if (shift === 8 || bs.bytes.length === 0) return bs.bytes;
  const a = new Uint8Array(bs.bytes.length);
  a[0] = bs.bytes[0]! >> shift;
  for (let i = 1; i < bs.bytes.length; i++) {
    a[i] = ((bs.bytes[i - 1]! << (8 - shift)) & 0xff) | (bs.bytes[i]! >> shift);
  }
  return a;
}

/** BitString.At. */
export function bitAt(bs: BitString, i: number): number {
  if (i < 0 || i >= bs.bitLength) return 0;
  return (bs.bytes[i >> 3]! >> (7 - (i % 8))) & 1;
}

/** A Go time.Time as encoding/json writes it: RFC 3339 with the parsed zone offset. */
export interface GoTime {
  /** Seconds since the Unix epoch. */
  readonly unix: number;
  /** The text json.Marshal gives. */
  readonly json: string;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function civil(year: number, month: number, day: number, h: number, m: number, s: number): number | undefined {
  const dim = [
    31,
    year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ];
  if (month < 1 || month > 12 || day < 1 || day > dim[month - 1]! || h > 23 || m > 59 || s > 59) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, m, s, 0);
  return d.getTime() / 1000;
}

/** Go's time.Parse of "…Z0700" digits, then Format must give the text back (cryptobyte's round-trip check). */
function goTime(text: string, yearDigits: 2 | 4, withSeconds: boolean): GoTime | undefined {
  const fieldCount = withSeconds ? 5 : 4;
  const re = new RegExp(`^(\\d{${yearDigits}})${'(\\d{2})'.repeat(fieldCount)}(Z|[+-]\\d{4})$`);
  const m = re.exec(text);
  if (!m) return undefined;
  let year = Number(m[1]);
  if (yearDigits === 2) year += year >= 69 ? 1900 : 2000;
  const [month, day, h, min] = [2, 3, 4, 5].map((i) => Number(m[i]));
  const sec = withSeconds ? Number(m[6]) : 0;
  const zone = m[fieldCount + 2]!;
  let offset = 0;
  if (zone !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(3, 5));
    // An explicit +0000 formats back as Z, so Go refuses it; out-of-range offsets are refused here too.
    if (zh > 23 || zm > 59 || (zh === 0 && zm === 0)) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (zh * 3600 + zm * 60);
  }
  const local = civil(year, month!, day!, h!, min!, sec);
  if (local === undefined) return undefined;
  let unix = local - offset;
  // UTCTime's two-digit years 50–99 are 1950–1999 (cryptobyte subtracts a century from 2050–2068).
  if (yearDigits === 2 && year >= 2050) {
    year -= 100;
    unix = (civil(year, month!, day!, h!, min!, sec) ?? 0) - offset;
  }
  const z = offset === 0 ? 'Z' : `${zone[0]}${zone.slice(1, 3)}:${zone.slice(3, 5)}`;
  const json = `${pad(year, 4)}-${pad(month!)}-${pad(day!)}T${pad(h!)}:${pad(min!)}:${pad(sec)}${z}`;
  return { unix, json };
}

/** readASN1Time: UTCTime (second or minute precision) or GeneralizedTime. */
export function readTime(der: Der): GoTime | undefined {
  if (der.peekTag(TAG.UTCTime)) {
    const e = der.readElement(TAG.UTCTime);
    if (!e) return undefined;
    const text = Buffer.from(e.content).toString('latin1');
    return goTime(text, 2, true) ?? goTime(text, 2, false);
  }
  if (der.peekTag(TAG.GeneralizedTime)) {
    const e = der.readElement(TAG.GeneralizedTime);
    if (!e) return undefined;
    return goTime(Buffer.from(e.content).toString('latin1'), 4, true);
  }
  return undefined;
}
