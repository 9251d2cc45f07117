// Value model. Every value is a pointer to a header whose first word is its type tag; 0 means undefined.
//   null    [tag]
//   boolean [tag, 0|1]
//   number  [tag, kind, payload:i64|f64 @8, text ptr @16, text len @20]
//   string  [tag, byte length, bytes ptr]            (UTF-8; bytes may point into the JSON text parsed)
//   array   [tag, len, cap, elems ptr]
//   object  [tag, len, cap, keys ptr, values ptr]    (keys kept sorted in Rego's total order)
//   set     [tag, len, cap, elems ptr]                (elements kept sorted in Rego's total order)
// Objects and sets are sorted arrays: lookups are binary searches and iteration and dumps come out in
// Rego's order without a sort.
import { alloc, memoryBytes } from './alloc';

export const T_NULL: u32 = 1;
export const T_BOOL: u32 = 2;
export const T_NUM: u32 = 3;
export const T_STR: u32 = 4;
export const T_ARR: u32 = 5;
export const T_OBJ: u32 = 6;
export const T_SET: u32 = 7;

/** Number kinds: an exact i64, a computed f64, a float literal kept as text, an integer too big for i64. */
export const N_INT: u32 = 0;
export const N_FLT: u32 = 1;
export const N_TXT: u32 = 2;
export const N_BIG: u32 = 3;

// Singletons live in static memory so they survive the heap resets between evaluations.
export const NULL_V: usize = memory.data<u32>([1, 0]);
export const TRUE_V: usize = memory.data<u32>([2, 1]);
export const FALSE_V: usize = memory.data<u32>([2, 0]);

// @ts-ignore: decorator
@inline export function tagOf(v: usize): u32 {
  return load<u32>(v);
}

export function isTag(v: usize, t: u32): bool {
  return v != 0 && load<u32>(v) == t;
}

export function boolV(b: bool): usize {
  return b ? TRUE_V : FALSE_V;
}

// ---- numbers ----

export function newInt(x: i64): usize {
  const p = alloc(24);
  store<u32>(p, T_NUM);
  store<u32>(p, N_INT, 4);
  store<i64>(p, x, 8);
  return p;
}

/** A float result; non-finite results are errors (undefined). Integral values become exact integers. */
export function newFloat(x: f64): usize {
  if (!isFinite(x)) return 0;
  if (x == Math.floor(x) && Math.abs(x) < 9007199254740992.0) return newInt(<i64>x);
  const p = alloc(24);
  store<u32>(p, T_NUM);
  store<u32>(p, N_FLT, 4);
  store<f64>(p, x, 8);
  return p;
}

export function newNumText(kind: u32, approx: f64, text: usize, len: usize): usize {
  const p = alloc(24);
  store<u32>(p, T_NUM);
  store<u32>(p, kind, 4);
  store<f64>(p, approx, 8);
  store<u32>(p, <u32>text, 16);
  store<u32>(p, <u32>len, 20);
  return p;
}

// @ts-ignore: decorator
@inline export function numKind(v: usize): u32 {
  return load<u32>(v, 4);
}

export function numI64(v: usize): i64 {
  return load<i64>(v, 8);
}

export function numF64(v: usize): f64 {
  if (numKind(v) == N_INT) return <f64>load<i64>(v, 8);
  return load<f64>(v, 8);
}

/** Set by numToInt: the integer value of the last number that converted. */
export let gInt: i64 = 0;

/** True (and gInt set) when v is a number with an integral value that an i64 holds exactly. */
export function numToInt(v: usize): bool {
  if (!isTag(v, T_NUM)) return false;
  const k = numKind(v);
  if (k == N_INT) {
    gInt = load<i64>(v, 8);
    return true;
  }
  if (k == N_BIG) return false;
  const f = load<f64>(v, 8);
  if (f != Math.floor(f) || Math.abs(f) >= 9007199254740992.0) return false;
  // A literal's double may round to an integer its text is not (1.00000000000000001).
  if (k == N_TXT && !textIsInt(v, <i64>f)) return false;
  gInt = <i64>f;
  return true;
}

/**
 * numToInt as OPA's IntOperand reads an operand (array.slice's bounds): it parses the number's text, so a
 * literal written with a fraction or an exponent (`2.0`, `2e0`, kept as N_TXT) is not an integer even where
 * its value is one. A computed whole double (N_FLT) is: OPA writes it back without a fraction.
 */
export function numToInt64Operand(v: usize): bool {
  if (isTag(v, T_NUM) && numKind(v) == N_TXT && !textIsIntSyntax(v)) return false;
  return numToInt(v);
}

/** An N_TXT number written as `-?digits`. */
function textIsIntSyntax(v: usize): bool {
  const p = <usize>load<u32>(v, 16);
  const n = <usize>load<u32>(v, 20);
  let i: usize = n > 0 && load<u8>(p) == 45 ? 1 : 0;
  if (i == n) return false;
  for (; i < n; i++) {
    const c = load<u8>(p + i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// ---- strings ----

export function newStr(len: usize): usize {
  const p = alloc(12 + len);
  store<u32>(p, T_STR);
  store<u32>(p, <u32>len, 4);
  store<u32>(p, <u32>(p + 12), 8);
  return p;
}

export function strRef(bytes: usize, len: usize): usize {
  const p = alloc(12);
  store<u32>(p, T_STR);
  store<u32>(p, <u32>len, 4);
  store<u32>(p, <u32>bytes, 8);
  return p;
}

// @ts-ignore: decorator
@inline export function strLen(v: usize): usize {
  return <usize>load<u32>(v, 4);
}

// @ts-ignore: decorator
@inline export function strPtr(v: usize): usize {
  return <usize>load<u32>(v, 8);
}

/** A Rego string from an ASCII AssemblyScript literal (literals are static data: no heap use). */
export function strLit(s: string): usize {
  const n = <usize>s.length;
  const p = newStr(n);
  const src = changetype<usize>(s);
  const dst = strPtr(p);
  for (let i: usize = 0; i < n; i++) store<u8>(dst + i, <u8>load<u16>(src + (i << 1)));
  return p;
}

// ---- arrays ----

export function newArr(cap: u32): usize {
  if (cap < 4) cap = 4;
  const p = alloc(16);
  store<u32>(p, T_ARR);
  store<u32>(p, 0, 4);
  store<u32>(p, cap, 8);
  store<u32>(p, <u32>alloc(<usize>cap << 2), 12);
  return p;
}

// @ts-ignore: decorator
@inline export function colLen(v: usize): u32 {
  return load<u32>(v, 4);
}

// @ts-ignore: decorator
@inline export function arrElems(v: usize): usize {
  return <usize>load<u32>(v, 12);
}

// @ts-ignore: decorator
@inline export function arrGet(v: usize, i: u32): usize {
  return <usize>load<u32>(arrElems(v) + (<usize>i << 2));
}

/** Grows the pointer vector at header offset `field` of a collection to hold at least len+1 entries. */
function growVec(v: usize, field: usize): void {
  const len = load<u32>(v, 4);
  const cap = load<u32>(v, 8);
  if (len < cap) return;
  const newCap = cap * 2;
  const old = <usize>load<u32>(v + field);
  const fresh = alloc(<usize>newCap << 2);
  memory.copy(fresh, old, <usize>len << 2);
  store<u32>(v + field, <u32>fresh);
}

export function arrPush(a: usize, x: usize): void {
  if (x == 0) return;
  const len = colLen(a);
  if (len >= load<u32>(a, 8)) {
    growVec(a, 12);
    store<u32>(a, load<u32>(a, 8) * 2, 8);
  }
  store<u32>(arrElems(a) + (<usize>len << 2), <u32>x);
  store<u32>(a, len + 1, 4);
}

// ---- sets ----

export function newSet(cap: u32 = 4): usize {
  const p = newArr(cap);
  store<u32>(p, T_SET);
  return p;
}

/** compare() with the common case of keys and set elements (two strings) first. */
// @ts-ignore: decorator
@inline function keyCompare(a: usize, b: usize): i32 {
  return tagOf(a) == T_STR && tagOf(b) == T_STR ? strCompare(a, b) : compare(a, b);
}

/** Index of x in the sorted pointer vector, or -(insertion point)-1. */
function searchSorted(vec: usize, len: u32, x: usize): i32 {
  // Fast path for appends in ascending order (comprehensions over sorted collections).
  if (len > 0) {
    const hi = <i32>len - 1;
    const c = keyCompare(<usize>load<u32>(vec + (<usize>hi << 2)), x);
    if (c < 0) return -(<i32>len) - 1;
    if (c == 0) return hi;
  }
  return binarySearch(vec, len, x);
}

/** searchSorted without the fast path for appends: for lookups. */
function binarySearch(vec: usize, len: u32, x: usize): i32 {
  let lo: i32 = 0;
  let hi: i32 = <i32>len - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = keyCompare(<usize>load<u32>(vec + (<usize>mid << 2)), x);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

function insertAt(vec: usize, len: u32, at: u32, x: usize): void {
  const p = vec + (<usize>at << 2);
  memory.copy(p + 4, p, <usize>(len - at) << 2);
  store<u32>(p, <u32>x);
}

export function setFind(s: usize, x: usize): i32 {
  return binarySearch(arrElems(s), colLen(s), x);
}

export function setAdd(s: usize, x: usize): void {
  if (x == 0) return;
  const len = colLen(s);
  const idx = searchSorted(arrElems(s), len, x);
  if (idx >= 0) return;
  if (len >= load<u32>(s, 8)) {
    growVec(s, 12);
    store<u32>(s, load<u32>(s, 8) * 2, 8);
  }
  insertAt(arrElems(s), len, <u32>(-idx - 1), x);
  store<u32>(s, len + 1, 4);
}

// ---- objects ----

export function newObj(cap: u32 = 4): usize {
  if (cap < 4) cap = 4;
  const p = alloc(20);
  store<u32>(p, T_OBJ);
  store<u32>(p, 0, 4);
  store<u32>(p, cap, 8);
  store<u32>(p, <u32>alloc(<usize>cap << 2), 12);
  store<u32>(p, <u32>alloc(<usize>cap << 2), 16);
  return p;
}

// @ts-ignore: decorator
@inline export function objKeys(o: usize): usize {
  return <usize>load<u32>(o, 12);
}

// @ts-ignore: decorator
@inline export function objVals(o: usize): usize {
  return <usize>load<u32>(o, 16);
}

export function objKeyAt(o: usize, i: u32): usize {
  return <usize>load<u32>(objKeys(o) + (<usize>i << 2));
}

export function objValAt(o: usize, i: u32): usize {
  return <usize>load<u32>(objVals(o) + (<usize>i << 2));
}

export function objFind(o: usize, k: usize): i32 {
  return binarySearch(objKeys(o), colLen(o), k);
}

export function objGet(o: usize, k: usize): usize {
  const i = objFind(o, k);
  return i < 0 ? 0 : objValAt(o, <u32>i);
}

/**
 * Inserts or replaces key k. With `once`, an existing different value is a conflict: returns false and
 * leaves the object unchanged.
 */
export function objPut(o: usize, k: usize, v: usize, once: bool): bool {
  if (k == 0 || v == 0) return true;
  const len = colLen(o);
  const idx = searchSorted(objKeys(o), len, k);
  if (idx >= 0) {
    const slot = objVals(o) + (<usize>idx << 2);
    if (once && compare(<usize>load<u32>(slot), v) != 0) return false;
    store<u32>(slot, <u32>v);
    return true;
  }
  if (len >= load<u32>(o, 8)) {
    growVec(o, 12);
    growVec(o, 16);
    store<u32>(o, load<u32>(o, 8) * 2, 8);
  }
  const at = <u32>(-idx - 1);
  insertAt(objKeys(o), len, at, k);
  insertAt(objVals(o), len, at, v);
  store<u32>(o, len + 1, 4);
  return true;
}

// ---- collections in general ----

export function isCollection(v: usize): bool {
  if (v == 0) return false;
  const t = tagOf(v);
  return t == T_ARR || t == T_OBJ || t == T_SET;
}

export function lenOf(v: usize): u32 {
  return isCollection(v) ? colLen(v) : 0;
}

// ---- Rego's total order ----

function cmpU(a: u32, b: u32): i32 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpBytes(pa: usize, la: usize, pb: usize, lb: usize): i32 {
  const n = la < lb ? la : lb;
  let i: usize = 0;
  // Eight bytes at a time while both texts have them (never reading past either): the first differing
  // word decides, read big-endian so that its first differing byte is the most significant one.
  while (i + 8 <= n) {
    const x = load<u64>(pa + i);
    const y = load<u64>(pb + i);
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
    i += 8;
  }
  const rest = n - i;
  const memoryEnd = memoryBytes();
  if (rest > 0 && <u64>(pa + i) + 8 <= memoryEnd && <u64>(pb + i) + 8 <= memoryEnd) {
    // The last 1-7 bytes as one word too, the bytes past them masked off (read, but inside the memory).
    const mask: u64 = <u64>0xffffffffffffffff >> (<u64>(8 - rest) << 3);
    const x = load<u64>(pa + i) & mask;
    const y = load<u64>(pb + i) & mask;
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
    i = n;
  }
  for (; i < n; i++) {
    const x = load<u8>(pa + i);
    const y = load<u8>(pb + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return la < lb ? -1 : la > lb ? 1 : 0;
}

// @ts-ignore: decorator
@inline export function strCompare(a: usize, b: usize): i32 {
  const pa = strPtr(a);
  const la = strLen(a);
  const pb = strPtr(b);
  const lb = strLen(b);
  // Keys a lookup passes by mostly differ in their first byte: decide those here, without the call.
  if (la != 0 && lb != 0) {
    const x = load<u8>(pa);
    const y = load<u8>(pb);
    if (x != y) return x < y ? -1 : 1;
  }
  return cmpBytes(pa, la, pb, lb);
}

/** Exact order of two integers written in decimal (optional leading '-', no leading zeros). */
function cmpDecimalText(pa: usize, la: usize, pb: usize, lb: usize): i32 {
  const na = load<u8>(pa) == 45;
  const nb = load<u8>(pb) == 45;
  if (na != nb) return na ? -1 : 1;
  let c: i32 = la != lb ? (la < lb ? -1 : 1) : cmpBytes(pa, la, pb, lb);
  return na ? -c : c;
}

/** Decimal text of an integer into a scratch buffer; returns its length. */
function i64Text(x: i64, buf: usize): usize {
  let n: usize = 0;
  let neg = x < 0;
  let u: u64 = neg ? <u64>(-x) : <u64>x;
  const tmp = buf + 24;
  let t: usize = 0;
  do {
    store<u8>(tmp + t, <u8>(48 + <u32>(u % 10)));
    u /= 10;
    t++;
  } while (u != 0);
  if (neg) store<u8>(buf + n++, 45);
  while (t > 0) store<u8>(buf + n++, load<u8>(tmp + --t));
  return n;
}

const SCRATCH_A: usize = memory.data(48);
const SCRATCH_B: usize = memory.data(48);

// ---- exact order of decimal texts ----
// Literals and JSON numbers keep their text, and OPA orders them exactly (big numbers, not doubles): 1e400 >
// 1e399, 1e-400 > 0 and 1.00000000000000001 != 1 although their doubles agree. A text in JSON number syntax
// is read as a sign, its significant digits d1 d2 ... and a position exponent e: the value 0.d1d2... x 10^e.

let decNeg: bool = false;
let decZero: bool = false;
let decExp: i64 = 0;
/** First and last (inclusive) significant digit; a '.' may sit between them. */
let decFirst: usize = 0;
let decLast: usize = 0;
/** Exponents beyond this order the same as this (and cannot overflow). */
const EXP_CLAMP: i64 = 1000000000000;

function readDecimal(p: usize, len: usize): void {
  const end = p + len;
  let i = p;
  decNeg = i < end && load<u8>(i) == 45;
  if (decNeg) i++;
  let m = i;
  while (m < end && load<u8>(m) != 101 && load<u8>(m) != 69) m++;
  let e: i64 = 0;
  if (m < end) {
    let q = m + 1;
    let expNeg = false;
    if (q < end && (load<u8>(q) == 45 || load<u8>(q) == 43)) {
      expNeg = load<u8>(q) == 45;
      q++;
    }
    while (q < end) {
      if (e < EXP_CLAMP) e = e * 10 + <i64>(load<u8>(q) - 48);
      q++;
    }
    if (expNeg) e = -e;
  }
  let dot = i;
  while (dot < m && load<u8>(dot) != 46) dot++;
  let f = i;
  while (f < m && (load<u8>(f) == 48 || load<u8>(f) == 46)) f++;
  decZero = f >= m;
  if (decZero) return;
  decExp = (f < dot ? <i64>(dot - f) : -<i64>(f - dot - 1)) + e;
  let l = m - 1;
  while (load<u8>(l) == 48 || load<u8>(l) == 46) l--;
  decFirst = f;
  decLast = l;
}

/** Exact order of two numbers written in JSON number syntax (any size, any exponent). */
export function cmpDecimalExact(pa: usize, la: usize, pb: usize, lb: usize): i32 {
  readDecimal(pa, la);
  const signA: i32 = decZero ? 0 : decNeg ? -1 : 1;
  const expA = decExp;
  let x = decFirst;
  const lastA = decLast;
  readDecimal(pb, lb);
  const signB: i32 = decZero ? 0 : decNeg ? -1 : 1;
  if (signA != signB) return signA < signB ? -1 : 1;
  if (signA == 0) return 0;
  let c: i32 = 0;
  if (expA != decExp) {
    c = expA < decExp ? -1 : 1;
  } else {
    let y = decFirst;
    while (true) {
      if (x <= lastA && load<u8>(x) == 46) {
        x++;
        continue;
      }
      if (y <= decLast && load<u8>(y) == 46) {
        y++;
        continue;
      }
      const endA = x > lastA;
      const endB = y > decLast;
      if (endA || endB) {
        c = endA && endB ? 0 : endA ? -1 : 1;
        break;
      }
      const da = load<u8>(x);
      const db = load<u8>(y);
      if (da != db) {
        c = da < db ? -1 : 1;
        break;
      }
      x++;
      y++;
    }
  }
  return signA < 0 ? -c : c;
}

/** True when a float literal's text (N_TXT) is exactly the integer i. */
export function textIsInt(v: usize, i: i64): bool {
  const n = i64Text(i, SCRATCH_B);
  return cmpDecimalExact(<usize>load<u32>(v, 16), <usize>load<u32>(v, 20), SCRATCH_B, n) == 0;
}

export function numCompare(a: usize, b: usize): i32 {
  const ka = numKind(a);
  const kb = numKind(b);
  if (ka == N_INT && kb == N_INT) {
    const x = load<i64>(a, 8);
    const y = load<i64>(b, 8);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ka != N_FLT && kb != N_FLT) {
    // Integers, big integers and literal texts: exact. (A computed double, N_FLT, compares as a double.)
    let pa: usize = SCRATCH_A;
    let la: usize = 0;
    let pb: usize = SCRATCH_B;
    let lb: usize = 0;
    if (ka == N_INT) la = i64Text(load<i64>(a, 8), SCRATCH_A);
    else {
      pa = <usize>load<u32>(a, 16);
      la = <usize>load<u32>(a, 20);
    }
    if (kb == N_INT) lb = i64Text(load<i64>(b, 8), SCRATCH_B);
    else {
      pb = <usize>load<u32>(b, 16);
      lb = <usize>load<u32>(b, 20);
    }
    return cmpDecimalExact(pa, la, pb, lb);
  }
  if (ka == N_BIG && kb == N_BIG) {
    return cmpDecimalText(<usize>load<u32>(a, 16), <usize>load<u32>(a, 20), <usize>load<u32>(b, 16), <usize>load<u32>(b, 20));
  }
  if ((ka == N_BIG && kb == N_INT) || (ka == N_INT && kb == N_BIG)) {
    // A big integer lies outside i64, so the int's text orders exactly against it.
    if (ka == N_INT) {
      const n = i64Text(load<i64>(a, 8), SCRATCH_A);
      return cmpDecimalText(SCRATCH_A, n, <usize>load<u32>(b, 16), <usize>load<u32>(b, 20));
    }
    const n = i64Text(load<i64>(b, 8), SCRATCH_A);
    return cmpDecimalText(<usize>load<u32>(a, 16), <usize>load<u32>(a, 20), SCRATCH_A, n);
  }
  const x = numF64(a);
  const y = numF64(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compare(a: usize, b: usize): i32 {
  if (a == b) return 0;
  if (a == 0) return -1;
  if (b == 0) return 1;
  const ta = tagOf(a);
  const tb = tagOf(b);
  if (ta != tb) return ta < tb ? -1 : 1;
  switch (ta) {
    case T_NULL:
      return 0;
    case T_BOOL:
      return cmpU(load<u32>(a, 4), load<u32>(b, 4));
    case T_NUM:
      return numCompare(a, b);
    case T_STR:
      return strCompare(a, b);
    case T_ARR:
    case T_SET: {
      const la = colLen(a);
      const lb = colLen(b);
      const n = la < lb ? la : lb;
      for (let i: u32 = 0; i < n; i++) {
        const c = compare(arrGet(a, i), arrGet(b, i));
        if (c != 0) return c;
      }
      return cmpU(la, lb);
    }
    case T_OBJ: {
      const la = colLen(a);
      const lb = colLen(b);
      const n = la < lb ? la : lb;
      for (let i: u32 = 0; i < n; i++) {
        let c = compare(objKeyAt(a, i), objKeyAt(b, i));
        if (c != 0) return c;
        c = compare(objValAt(a, i), objValAt(b, i));
        if (c != 0) return c;
      }
      return cmpU(la, lb);
    }
  }
  return 0;
}

export function equal(a: usize, b: usize): bool {
  if (a == 0 || b == 0) return false;
  if (a == b) return true;
  if (tagOf(a) == T_STR && tagOf(b) == T_STR) {
    // Strings of different lengths differ: no need to find where.
    const n = strLen(a);
    return n == strLen(b) && cmpBytes(strPtr(a), n, strPtr(b), n) == 0;
  }
  return compare(a, b) == 0;
}

// ---- bulk object building (JSON parsing) ----

/** Appends a pair without keeping order; objSortPairs must run before the object is used. */
export function objAppendPair(o: usize, k: usize, v: usize): void {
  const len = colLen(o);
  if (len >= load<u32>(o, 8)) {
    growVec(o, 12);
    growVec(o, 16);
    store<u32>(o, load<u32>(o, 8) * 2, 8);
  }
  store<u32>(objKeys(o) + (<usize>len << 2), <u32>k);
  store<u32>(objVals(o) + (<usize>len << 2), <u32>v);
  store<u32>(o, len + 1, 4);
}

/**
 * Stable bottom-up merge sort of n u32 at vec, in place. With keys = 0 the u32 are value pointers compared
 * directly; otherwise they are indexes into the pointer vector `keys`, compared by the values there.
 */
export function sortU32(vec: usize, n: u32, keys: usize): void {
  if (n < 2) return;
  let src = vec;
  let dst = alloc(<usize>n << 2);
  for (let width: u32 = 1; width < n; width <<= 1) {
    for (let lo: u32 = 0; lo < n; lo += width << 1) {
      const mid = lo + width < n ? lo + width : n;
      const hi = lo + (width << 1) < n ? lo + (width << 1) : n;
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const a = load<u32>(src + (<usize>i << 2));
        const b = load<u32>(src + (<usize>j << 2));
        const ka = keys == 0 ? <usize>a : <usize>load<u32>(keys + (<usize>a << 2));
        const kb = keys == 0 ? <usize>b : <usize>load<u32>(keys + (<usize>b << 2));
        if (compare(kb, ka) < 0) {
          store<u32>(dst + (<usize>k << 2), b);
          j++;
        } else {
          store<u32>(dst + (<usize>k << 2), a);
          i++;
        }
        k++;
      }
      while (i < mid) {
        store<u32>(dst + (<usize>k << 2), load<u32>(src + (<usize>i << 2)));
        k++;
        i++;
      }
      while (j < hi) {
        store<u32>(dst + (<usize>k << 2), load<u32>(src + (<usize>j << 2)));
        k++;
        j++;
      }
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src != vec) memory.copy(vec, src, <usize>n << 2);
}

/** Objects up to this many pairs are sorted in place by insertion (JSON objects are mostly this small). */
const SMALL_OBJECT: u32 = 24;

/**
 * Stable insertion sort of the pairs in place, then equal keys collapse to the last one written (stability
 * keeps that one last among its equals), as JSON decoders do.
 */
function insertionSortPairs(o: usize, n: u32): void {
  const keys = objKeys(o);
  const vals = objVals(o);
  let duplicates = false;
  for (let i: u32 = 1; i < n; i++) {
    const k = <usize>load<u32>(keys + (<usize>i << 2));
    const v = load<u32>(vals + (<usize>i << 2));
    let j = i;
    while (j > 0) {
      const c = keyCompare(<usize>load<u32>(keys + (<usize>(j - 1) << 2)), k);
      if (c <= 0) {
        if (c == 0) duplicates = true;
        break;
      }
      store<u32>(keys + (<usize>j << 2), load<u32>(keys + (<usize>(j - 1) << 2)));
      store<u32>(vals + (<usize>j << 2), load<u32>(vals + (<usize>(j - 1) << 2)));
      j--;
    }
    store<u32>(keys + (<usize>j << 2), <u32>k);
    store<u32>(vals + (<usize>j << 2), v);
  }
  if (!duplicates) return;
  let out: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const k = <usize>load<u32>(keys + (<usize>i << 2));
    const v = load<u32>(vals + (<usize>i << 2));
    if (out > 0 && keyCompare(<usize>load<u32>(keys + (<usize>(out - 1) << 2)), k) == 0) {
      store<u32>(vals + (<usize>(out - 1) << 2), v); // a later duplicate wins
      continue;
    }
    store<u32>(keys + (<usize>out << 2), <u32>k);
    store<u32>(vals + (<usize>out << 2), v);
    out++;
  }
  store<u32>(o, out, 4);
}

/**
 * Restores the sorted-keys invariant after objAppendPair: a stable merge sort of pair indexes (O(n log n)
 * where inserting one by one is O(n^2) for unsorted input), then equal keys collapse to the last one written,
 * as JSON decoders do.
 */
export function objSortPairs(o: usize): void {
  const n = colLen(o);
  const keys = objKeys(o);
  const vals = objVals(o);
  let sorted = true;
  for (let i: u32 = 1; i < n; i++) {
    if (keyCompare(<usize>load<u32>(keys + (<usize>(i - 1) << 2)), <usize>load<u32>(keys + (<usize>i << 2))) >= 0) {
      sorted = false;
      break;
    }
  }
  if (sorted) return;
  if (n <= SMALL_OBJECT) {
    insertionSortPairs(o, n);
    return;
  }
  const src = alloc(<usize>n << 2);
  for (let i: u32 = 0; i < n; i++) store<u32>(src + (<usize>i << 2), i);
  sortU32(src, n, keys);
  const newKeys = alloc(<usize>n << 2);
  const newVals = alloc(<usize>n << 2);
  let out: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const idx = load<u32>(src + (<usize>i << 2));
    const k = <usize>load<u32>(keys + (<usize>idx << 2));
    const v = load<u32>(vals + (<usize>idx << 2));
    if (out > 0 && compare(<usize>load<u32>(newKeys + (<usize>(out - 1) << 2)), k) == 0) {
      store<u32>(newVals + (<usize>(out - 1) << 2), v); // a later duplicate wins
      continue;
    }
    store<u32>(newKeys + (<usize>out << 2), <u32>k);
    store<u32>(newVals + (<usize>out << 2), v);
    out++;
  }
  store<u32>(o, out, 4);
  store<u32>(o, n, 8);
  store<u32>(o, <u32>newKeys, 12);
  store<u32>(o, <u32>newVals, 16);
}
