// JSON text <-> values. Parsing keeps number literals that an i64 cannot hold exactly as their text, so a
// round trip never changes a number; strings without escapes point into the parsed text (which outlives
// every value made from it: the SDK only ever drops both together by resetting the heap).
import { alloc } from './alloc';
import {
  T_NULL, T_BOOL, T_NUM, T_STR, T_ARR, T_OBJ, T_SET, N_INT, N_FLT, NULL_V, TRUE_V, FALSE_V,
  newInt, newNumText, newStr, strRef, objSortPairs, strLen, strPtr, newArr, arrPush, arrGet, colLen, newObj, objPut,
  objKeyAt, objValAt, tagOf, numKind, N_TXT, N_BIG, newSet, setAdd,
} from './value';
import { dtoa_buffered } from 'util/number';

// ---------------------------------------------------------------- parsing

let jp: usize = 0;
let je: usize = 0;
const MAX_DEPTH: i32 = 512;

// The builtin wire (wireDump/wireParse): JSON in which a set is {"\u0000set": [...]} and an object that JSON
// cannot carry as-is (a key that is not a string, or a string key starting with NUL) is
// {"\u0000obj": [[key, value], ...]}, so JavaScript builtins see and return Rego values exactly.
let wireTags: bool = false;

function skipWs(): void {
  while (jp < je) {
    const c = load<u8>(jp);
    if (c == 32 || c == 9 || c == 10 || c == 13) jp++;
    else break;
  }
}

function isDigit(c: u32): bool {
  return c >= 48 && c <= 57;
}

const POW10 = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
  1e19, 1e20, 1e21, 1e22,
]);

function pow10(e: i32): f64 {
  return load<f64>(POW10 + (<usize>e << 3));
}

/**
 * Decimal text -> nearest f64. Exact (Clinger's fast path) when the significand has at most 15 digits and
 * |exponent| <= 22, which covers the literals policies and inputs carry; otherwise within a few ulps (the
 * text is kept, so printing stays exact either way).
 */
export function decimalToF64(p: usize, len: usize): f64 {
  const end = p + len;
  let neg = false;
  if (p < end && load<u8>(p) == 45) {
    neg = true;
    p++;
  }
  let mant: u64 = 0;
  let digits: i32 = 0;
  let exp10: i32 = 0;
  let seenDot = false;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (isDigit(c)) {
      if (digits < 19) {
        mant = mant * 10 + <u64>(c - 48);
        if (mant != 0) digits++;
        if (seenDot) exp10--;
      } else if (!seenDot) {
        exp10++;
      }
    } else if (c == 46) {
      seenDot = true;
    } else break;
    p++;
  }
  if (p < end) {
    // exponent
    p++;
    let eneg = false;
    if (p < end && (load<u8>(p) == 45 || load<u8>(p) == 43)) {
      eneg = load<u8>(p) == 45;
      p++;
    }
    let e: i32 = 0;
    while (p < end) {
      const c = <u32>load<u8>(p);
      if (!isDigit(c)) break;
      if (e < 100000) e = e * 10 + <i32>(c - 48);
      p++;
    }
    exp10 += eneg ? -e : e;
  }
  let x = <f64>mant;
  if (mant == 0) return neg ? -0.0 : 0.0;
  if (exp10 > 0) {
    while (exp10 > 22) {
      x *= 1e22;
      exp10 -= 22;
    }
    x *= pow10(exp10);
  } else if (exp10 < 0) {
    while (exp10 < -22) {
      x /= 1e22;
      exp10 += 22;
    }
    x /= pow10(-exp10);
  }
  return neg ? -x : x;
}

function parseNumber(): usize {
  const start = jp;
  if (jp < je && load<u8>(jp) == 45) jp++;
  if (jp >= je || !isDigit(load<u8>(jp))) return 0;
  if (load<u8>(jp) == 48) jp++;
  else while (jp < je && isDigit(load<u8>(jp))) jp++;
  let isInt = true;
  if (jp < je && load<u8>(jp) == 46) {
    isInt = false;
    jp++;
    if (jp >= je || !isDigit(load<u8>(jp))) return 0;
    while (jp < je && isDigit(load<u8>(jp))) jp++;
  }
  if (jp < je && (load<u8>(jp) == 101 || load<u8>(jp) == 69)) {
    isInt = false;
    jp++;
    if (jp < je && (load<u8>(jp) == 43 || load<u8>(jp) == 45)) jp++;
    if (jp >= je || !isDigit(load<u8>(jp))) return 0;
    while (jp < je && isDigit(load<u8>(jp))) jp++;
  }
  const len = jp - start;
  if (isInt) {
    let p = start;
    const neg = load<u8>(p) == 45;
    if (neg) p++;
    if (jp - p <= 18) {
      // At most 18 digits: below 10^18, so no overflow to check.
      let x: i64 = 0;
      while (p < jp) {
        x = x * 10 + <i64>(load<u8>(p) - 48);
        p++;
      }
      return newInt(neg ? -x : x);
    }
    // Accumulate negatively so i64's minimum parses too.
    let acc: i64 = 0;
    let fits = true;
    while (p < jp) {
      const d = <i64>(load<u8>(p) - 48);
      if (acc < (i64.MIN_VALUE + d) / 10) {
        fits = false;
        break;
      }
      acc = acc * 10 - d;
      p++;
    }
    if (fits && !neg && acc == i64.MIN_VALUE) fits = false;
    if (fits) return newInt(neg ? acc : -acc);
    return newNumText(N_BIG, decimalToF64(start, len), start, len);
  }
  return newNumText(N_TXT, decimalToF64(start, len), start, len);
}

function hexVal(c: u32): i32 {
  if (c >= 48 && c <= 57) return <i32>(c - 48);
  if (c >= 97 && c <= 102) return <i32>(c - 87);
  if (c >= 65 && c <= 70) return <i32>(c - 55);
  return -1;
}

function read4Hex(p: usize): i32 {
  let v: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    const h = hexVal(load<u8>(p + i));
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

export function utf8Encode(dst: usize, cp: u32): usize {
  if (cp < 0x80) {
    store<u8>(dst, <u8>cp);
    return 1;
  }
  if (cp < 0x800) {
    store<u8>(dst, <u8>(0xc0 | (cp >> 6)));
    store<u8>(dst + 1, <u8>(0x80 | (cp & 0x3f)));
    return 2;
  }
  if (cp < 0x10000) {
    store<u8>(dst, <u8>(0xe0 | (cp >> 12)));
    store<u8>(dst + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
    store<u8>(dst + 2, <u8>(0x80 | (cp & 0x3f)));
    return 3;
  }
  store<u8>(dst, <u8>(0xf0 | (cp >> 18)));
  store<u8>(dst + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
  store<u8>(dst + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
  store<u8>(dst + 3, <u8>(0x80 | (cp & 0x3f)));
  return 4;
}

// SWAR masks: a u64 holds eight bytes of the text, tested at once for the bytes a string scan stops at.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/**
 * High bit set in each byte of w that is '"', '\\' or a control character (< 0x20); exact for the lowest such
 * byte (bytes above it may be flagged wrongly), which is the one a scan needs. The zero-byte test
 * (x - ONES) & ~x & HIGHS flags the lowest zero byte of x exactly (a borrow only ever starts at a zero byte);
 * the same test with 0x20 instead of 1 flags the lowest byte below 0x20 (a byte >= 0x80 keeps its high bit).
 */
// @ts-ignore: decorator
@inline function stringStops(w: u64): u64 {
  const q = w ^ 0x2222222222222222;
  const b = w ^ 0x5c5c5c5c5c5c5c5c;
  return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - 0x2020202020202020) & ~w)) & HIGHS;
}

// @ts-ignore: decorator
@inline function parseString(): usize {
  // jp is just past the opening quote. Reads eight bytes at a time and jumps to the first that needs a look;
  // only the last few bytes of the text go one by one. Inlined into its two callers (a key, a value): most
  // strings are short, so the call cost as much as the scan.
  const start = jp;
  const limit = je;
  let q = jp;
  let escapes = false;
  while (true) {
    if (q + 8 <= limit) {
      const stops = stringStops(load<u64>(q));
      if (stops == 0) {
        q += 8;
        continue;
      }
      q += <usize>(ctz<u64>(stops) >> 3);
    } else if (q >= limit) break;
    const c = load<u8>(q);
    if (c == 34) break;
    if (c == 92) {
      escapes = true;
      q += 2;
      continue;
    }
    if (c < 32) return 0;
    q++;
  }
  if (q >= limit) return 0;
  jp = q + 1;
  return escapes ? unescapeString(start, q) : strRef(start, q - start);
}

/** The string value of JSON string text with escapes (between the quotes); 0 for an invalid escape. */
function unescapeString(start: usize, end: usize): usize {
  // Escaped text never grows when decoded (\uXXXX is 6 bytes for at most 3; a pair is 12 for 4).
  const out = newStr(end - start);
  const dst = strPtr(out);
  let n: usize = 0;
  let p = start;
  while (p < end) {
    const c = load<u8>(p);
    if (c != 92) {
      store<u8>(dst + n++, c);
      p++;
      continue;
    }
    const e = load<u8>(p + 1);
    p += 2;
    switch (e) {
      case 34: store<u8>(dst + n++, 34); break;
      case 92: store<u8>(dst + n++, 92); break;
      case 47: store<u8>(dst + n++, 47); break;
      case 98: store<u8>(dst + n++, 8); break;
      case 102: store<u8>(dst + n++, 12); break;
      case 110: store<u8>(dst + n++, 10); break;
      case 114: store<u8>(dst + n++, 13); break;
      case 116: store<u8>(dst + n++, 9); break;
      case 117: {
        if (p + 4 > end) return 0;
        let cp = read4Hex(p);
        if (cp < 0) return 0;
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && p + 6 <= end && load<u8>(p) == 92 && load<u8>(p + 1) == 117) {
          const lo = read4Hex(p + 2);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          }
        }
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; // lone surrogate, as Go's decoder does
        n += utf8Encode(dst + n, <u32>cp);
        break;
      }
      default:
        return 0;
    }
  }
  store<u32>(out, <u32>n, 4);
  return out;
}

// The elements of the collections being parsed (u32 value pointers; an object's as key, value, key, ...),
// from the outermost open collection to the innermost: a collection is built at its closing bracket with
// exactly its size, in one allocation, instead of growing as its elements arrive. Lives in the heap of the
// parse that uses it (opa_json_parse starts an empty one).
let pending: usize = 0;
let pendingLen: u32 = 0;
let pendingCap: u32 = 0;

function pendingGrow(): void {
  const cap: u32 = pendingCap < 64 ? 64 : pendingCap * 2;
  const fresh = alloc(<usize>cap << 2);
  memory.copy(fresh, pending, <usize>pendingLen << 2);
  pending = fresh;
  pendingCap = cap;
}

// @ts-ignore: decorator
@inline function pendingPush(x: usize): void {
  if (pendingLen == pendingCap) pendingGrow();
  store<u32>(pending + (<usize>pendingLen << 2), <u32>x);
  pendingLen++;
}

/** The object of the pairs pending above `base` (then dropped from pending), keys sorted. */
function closeObject(base: u32): usize {
  const n = (pendingLen - base) >> 1;
  const cap: u32 = n < 4 ? 4 : n;
  // Header, keys and values in one block: each is still reached through its own pointer.
  const o = alloc(20 + (<usize>cap << 3));
  const keys = o + 20;
  const vals = keys + (<usize>cap << 2);
  store<u32>(o, T_OBJ);
  store<u32>(o, n, 4);
  store<u32>(o, cap, 8);
  store<u32>(o, <u32>keys, 12);
  store<u32>(o, <u32>vals, 16);
  const from = pending + (<usize>base << 2);
  for (let i: usize = 0; i < <usize>n; i++) {
    store<u32>(keys + (i << 2), load<u32>(from + (i << 3)));
    store<u32>(vals + (i << 2), load<u32>(from + (i << 3), 4));
  }
  pendingLen = base;
  objSortPairs(o);
  return o;
}

/** The array of the values pending above `base` (then dropped from pending). */
function closeArray(base: u32): usize {
  const n = pendingLen - base;
  const cap: u32 = n < 4 ? 4 : n;
  const a = alloc(16 + (<usize>cap << 2));
  store<u32>(a, T_ARR);
  store<u32>(a, n, 4);
  store<u32>(a, cap, 8);
  store<u32>(a, <u32>(a + 16), 12);
  memory.copy(a + 16, pending + (<usize>base << 2), <usize>n << 2);
  pendingLen = base;
  return a;
}

/** The open collections of a parse, innermost last: (pending base << 1) | 1 for an object, | 0 for an array. */
const FRAMES: usize = memory.data(<i32>((MAX_DEPTH + 2) << 2));

// @ts-ignore: decorator
@inline function skipWsAt(p: usize, end: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    // Every token starts above the space: one comparison for text without whitespace.
    if (c > 32 || !(c == 32 || c == 9 || c == 10 || c == 13)) break;
    p++;
  }
  return p;
}

/**
 * An object's key and its colon, from p (after '{' or ','): the key goes to pending; returns the position
 * after the colon, or 0 when the text is not a key and a colon.
 */
function parseKey(p: usize, end: usize): usize {
  p = skipWsAt(p, end);
  if (p >= end || load<u8>(p) != 34) return 0;
  jp = p + 1;
  const k = parseString();
  if (k == 0) return 0;
  p = skipWsAt(jp, end);
  if (p >= end || load<u8>(p) != 58) return 0;
  pendingPush(k);
  return p + 1;
}

/**
 * The value of the JSON text from jp to je (jp ends after it), or 0 when the text is not JSON or nests
 * deeper than MAX_DEPTH. One loop with the collections kept in FRAMES and pending rather than one call per
 * nested value, so the position stays in a local.
 */
function parseValue(): usize {
  let p = jp;
  const end = je;
  let depth: i32 = 0;
  while (true) {
    // A value starts at p, nested `depth` collections deep.
    if (depth > MAX_DEPTH) return 0;
    p = skipWsAt(p, end);
    if (p >= end) return 0;
    const c = <u32>load<u8>(p);
    let v: usize = 0;
    if (c == 34) {
      jp = p + 1;
      v = parseString();
      if (v == 0) return 0;
      p = jp;
    } else if (c == 123 || c == 91) {
      p = skipWsAt(p + 1, end);
      if (p < end && <u32>load<u8>(p) == c + 2) {
        // {} or []
        p++;
        v = c == 123 ? newObj() : newArr(4);
      } else {
        store<u32>(FRAMES + (<usize>depth << 2), (pendingLen << 1) | (c == 123 ? 1 : 0));
        depth++;
        if (c == 123) {
          p = parseKey(p, end);
          if (p == 0) return 0;
        }
        continue;
      }
    } else if (c == 116) {
      if (p + 4 > end || load<u32>(p) != 0x65757274) return 0; // true
      p += 4;
      v = TRUE_V;
    } else if (c == 102) {
      if (p + 5 > end || load<u32>(p) != 0x736c6166 || load<u8>(p + 4) != 101) return 0; // false
      p += 5;
      v = FALSE_V;
    } else if (c == 110) {
      if (p + 4 > end || load<u32>(p) != 0x6c6c756e) return 0; // null
      p += 4;
      v = NULL_V;
    } else {
      jp = p;
      v = parseNumber();
      if (v == 0) return 0;
      p = jp;
    }
    // v is complete: add it to its collection, and close every collection that ends after it.
    while (true) {
      if (depth == 0) {
        jp = p;
        return v;
      }
      const frame = load<u32>(FRAMES + (<usize>(depth - 1) << 2));
      pendingPush(v);
      p = skipWsAt(p, end);
      if (p >= end) return 0;
      const d = <u32>load<u8>(p++);
      if (d == 44) {
        if (frame & 1) {
          p = parseKey(p, end);
          if (p == 0) return 0;
        }
        break;
      }
      if (frame & 1) {
        if (d != 125) return 0;
        v = closeObject(frame >> 1);
        if (wireTags) {
          v = untag(v);
          if (v == 0) return 0;
        }
      } else {
        if (d != 93) return 0;
        v = closeArray(frame >> 1);
      }
      depth--;
    }
  }
  return 0;
}

/** True when the string value k is NUL followed by the ASCII word w. */
function isWireTag(k: usize, w: string): bool {
  if (tagOf(k) != T_STR || strLen(k) != <usize>(w.length + 1)) return false;
  const p = strPtr(k);
  if (load<u8>(p) != 0) return false;
  for (let i = 0; i < w.length; i++) if (load<u8>(p + 1 + i) != <u8>w.charCodeAt(i)) return false;
  return true;
}

/** A tagged wire object as the set or object it stands for; any other object unchanged; 0 if malformed. */
function untag(o: usize): usize {
  if (colLen(o) != 1) return o;
  const k = objKeyAt(o, 0);
  const v = objValAt(o, 0);
  if (isWireTag(k, 'set')) {
    if (tagOf(v) != T_ARR) return 0;
    const n = colLen(v);
    const s = newSet(n);
    for (let i: u32 = 0; i < n; i++) setAdd(s, arrGet(v, i));
    return s;
  }
  if (isWireTag(k, 'obj')) {
    if (tagOf(v) != T_ARR) return 0;
    const n = colLen(v);
    const r = newObj();
    for (let i: u32 = 0; i < n; i++) {
      const pair = arrGet(v, i);
      if (tagOf(pair) != T_ARR || colLen(pair) != 2) return 0;
      objPut(r, arrGet(pair, 0), arrGet(pair, 1), false);
    }
    return r;
  }
  return o;
}

export function opa_json_parse(addr: usize, len: usize): usize {
  jp = addr;
  je = addr + len;
  pending = 0;
  pendingLen = 0;
  pendingCap = 0;
  const v = parseValue();
  if (v == 0) return 0;
  skipWs();
  return jp == je ? v : 0;
}

export function opa_value_parse(addr: usize, len: usize): usize {
  return opa_json_parse(addr, len);
}

// ---------------------------------------------------------------- dumping

let bp: usize = 0;
let bl: usize = 0;
let bc: usize = 0;

export function bufStart(): void {
  bc = 256;
  bp = alloc(bc);
  bl = 0;
}

function bufReserve(n: usize): void {
  if (bl + n <= bc) return;
  let cap = bc * 2;
  if (cap < bl + n) cap = bl + n;
  const fresh = alloc(cap);
  memory.copy(fresh, bp, bl);
  bp = fresh;
  bc = cap;
}

export function bufByte(b: u32): void {
  bufReserve(1);
  store<u8>(bp + bl++, <u8>b);
}

export function bufBytes(p: usize, n: usize): void {
  bufReserve(n);
  memory.copy(bp + bl, p, n);
  bl += n;
}

export function bufAscii(s: string): void {
  const n = <usize>s.length;
  bufReserve(n);
  const src = changetype<usize>(s);
  for (let i: usize = 0; i < n; i++) store<u8>(bp + bl + i, <u8>load<u16>(src + (i << 1)));
  bl += n;
}

/** Ends the text with NUL and returns its address. */
export function bufFinishCStr(): usize {
  bufByte(0);
  return bp;
}

export function bufPtr(): usize {
  return bp;
}

export function bufLen(): usize {
  return bl;
}

export function bufI64(x: i64): void {
  bufReserve(21);
  if (x < 0) store<u8>(bp + bl++, 45);
  let u: u64 = x < 0 ? <u64>0 - <u64>x : <u64>x;
  let digits: usize = 1;
  let t = u;
  while (t >= 10) {
    t /= 10;
    digits++;
  }
  for (let i: usize = digits; i > 0; i--) {
    store<u8>(bp + bl + i - 1, <u8>(48 + <u32>(u % 10)));
    u /= 10;
  }
  bl += digits;
}

const DTOA_BUF: usize = memory.data(64);

export function bufF64(x: f64): void {
  if (x == Math.floor(x) && Math.abs(x) < 9.0e18) {
    bufI64(<i64>x);
    return;
  }
  const n = <usize>dtoa_buffered(DTOA_BUF, x);
  bufReserve(n);
  for (let i: usize = 0; i < n; i++) store<u8>(bp + bl + i, <u8>load<u16>(DTOA_BUF + (i << 1)));
  bl += n;
}

const HEX = memory.data<u8>([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/** Escape <, > and & as \u00XX too, as Go's encoding/json does (json.marshal output must match OPA's). */
let htmlEscape = false;

export function bufJsonString(p: usize, n: usize): void {
  bufByte(34);
  let run = p;
  const end = p + n;
  let q = p;
  while (q < end) {
    const c = <u32>load<u8>(q);
    if (htmlEscape && c == 0xe2 && q + 2 < end && load<u8>(q + 1) == 0x80 && (load<u8>(q + 2) & 0xfe) == 0xa8) {
      // U+2028 / U+2029, which Go's encoder also escapes
      bufBytes(run, q - run);
      bufAscii(load<u8>(q + 2) == 0xa8 ? '\\u2028' : '\\u2029');
      q += 3;
      run = q;
      continue;
    }
    if (c >= 32 && c != 34 && c != 92 && !(htmlEscape && (c == 60 || c == 62 || c == 38))) {
      q++;
      continue;
    }
    bufBytes(run, q - run);
    bufByte(92);
    if (c == 34) bufByte(34);
    else if (c == 92) bufByte(92);
    else if (c == 10) bufByte(110);
    else if (c == 13) bufByte(114);
    else if (c == 9) bufByte(116);
    else {
      bufAscii('u00');
      bufByte(load<u8>(HEX + (c >> 4)));
      bufByte(load<u8>(HEX + (c & 15)));
    }
    q++;
    run = q;
  }
  bufBytes(run, end - run);
  bufByte(34);
}

export function bufValue(v: usize): void {
  if (v == 0) {
    bufAscii('null');
    return;
  }
  switch (tagOf(v)) {
    case T_NULL:
      bufAscii('null');
      return;
    case T_BOOL:
      bufAscii(load<u32>(v, 4) ? 'true' : 'false');
      return;
    case T_NUM: {
      const k = numKind(v);
      if (k == N_INT) bufI64(load<i64>(v, 8));
      else if (k == N_FLT) bufF64(load<f64>(v, 8));
      else bufBytes(<usize>load<u32>(v, 16), <usize>load<u32>(v, 20));
      return;
    }
    case T_STR:
      bufJsonString(strPtr(v), strLen(v));
      return;
    case T_ARR:
    case T_SET: {
      const tagged = wireTags && tagOf(v) == T_SET;
      if (tagged) bufAscii('{"\\u0000set":');
      bufByte(91);
      const n = colLen(v);
      for (let i: u32 = 0; i < n; i++) {
        if (i > 0) bufByte(44);
        bufValue(arrGet(v, i));
      }
      bufByte(93);
      if (tagged) bufByte(125);
      return;
    }
    case T_OBJ: {
      if (wireTags && needsPairs(v)) {
        bufAscii('{"\\u0000obj":[');
        const n = colLen(v);
        for (let i: u32 = 0; i < n; i++) {
          if (i > 0) bufByte(44);
          bufByte(91);
          bufValue(objKeyAt(v, i));
          bufByte(44);
          bufValue(objValAt(v, i));
          bufByte(93);
        }
        bufAscii(']}');
        return;
      }
      bufByte(123);
      const n = colLen(v);
      for (let i: u32 = 0; i < n; i++) {
        if (i > 0) bufByte(44);
        const k = objKeyAt(v, i);
        if (isTagStr(k)) bufValue(k);
        else {
          // JSON keys are strings: a non-string key is written as the JSON text of the key.
          const saveP = bp;
          const saveL = bl;
          const saveC = bc;
          bufStart();
          bufValue(k);
          const kp = bp;
          const kl = bl;
          bp = saveP;
          bl = saveL;
          bc = saveC;
          bufJsonString(kp, kl);
        }
        bufByte(58);
        bufValue(objValAt(v, i));
      }
      bufByte(125);
      return;
    }
  }
  bufAscii('null');
}

/** An object plain JSON would change: a key that is not a string, or one that looks like a wire tag. */
function needsPairs(o: usize): bool {
  const n = colLen(o);
  for (let i: u32 = 0; i < n; i++) {
    const k = objKeyAt(o, i);
    if (tagOf(k) != T_STR) return true;
    if (strLen(k) > 0 && load<u8>(strPtr(k)) == 0) return true;
  }
  return false;
}

/** Wire text of v (sets and non-JSON objects tagged) as a string value, for a JavaScript builtin. */
export function wireDump(v: usize): usize {
  bufStart();
  wireTags = true;
  bufValue(v);
  wireTags = false;
  return strRef(bp, bl);
}

/** The value a builtin's wire text spells (tags undone), or 0 when it is not valid wire text. */
export function wireParse(p: usize, len: usize): usize {
  wireTags = true;
  const v = opa_json_parse(p, len);
  wireTags = false;
  return v;
}

function isTagStr(v: usize): bool {
  return tagOf(v) == T_STR;
}

export function opa_json_dump(v: usize): usize {
  bufStart();
  bufValue(v);
  return bufFinishCStr();
}

export function opa_value_dump(v: usize): usize {
  return opa_json_dump(v);
}

/** JSON text of v as a string value, escaped like Go's encoding/json (json.marshal). */
export function jsonText(v: usize): usize {
  bufStart();
  htmlEscape = true;
  bufValue(v);
  htmlEscape = false;
  return strRef(bp, bl);
}

/** The number a whole string spells in JSON syntax (exact, big integers included), else 0. */
export function numberFromText(p: usize, len: usize): usize {
  jp = p;
  je = p + len;
  if (len == 0) return 0;
  const v = parseNumber();
  return v != 0 && jp == je ? v : 0;
}

