// Fast paths for string builtins that policies call on every request (header names, paths). Each `f_<name>`
// handles the common case natively and returns 0 when it cannot decide — a non-ASCII case mapping, an empty
// separator, a wrong type — and the emitted code then calls the JS implementation, which settles it (with
// undefined for a genuine error). UTF-8 makes byte-wise search, split and prefix tests exact for any text.
import { T_STR, T_NULL, T_BOOL, T_NUM, isTag, newArr, arrPush, newInt, newStr, strLen, strPtr, strRef, tagOf, boolV, TRUE_V } from './value';
import { jsonText, numberFromText, opa_json_parse, wireDump, wireParse } from './json';

function isAscii(p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) >= 0x80) return false;
  return true;
}

function mapAscii(s: usize, lowerCase: bool): usize {
  if (!isTag(s, T_STR)) return 0;
  const n = strLen(s);
  const p = strPtr(s);
  if (!isAscii(p, n)) return 0;
  const out = newStr(n);
  const q = strPtr(out);
  for (let i: usize = 0; i < n; i++) {
    let c = load<u8>(p + i);
    if (lowerCase && c >= 65 && c <= 90) c += 32;
    else if (!lowerCase && c >= 97 && c <= 122) c -= 32;
    store<u8>(q + i, c);
  }
  return out;
}

export function f_lower(s: usize): usize {
  return mapAscii(s, true);
}

export function f_upper(s: usize): usize {
  return mapAscii(s, false);
}

/** Byte offset of needle in hay at or after `from`, or -1. */
function find(hp: usize, hn: usize, np: usize, nn: usize, from: usize): isize {
  if (nn > hn) return -1;
  for (let i = from; i + nn <= hn; i++) {
    let j: usize = 0;
    while (j < nn && load<u8>(hp + i + j) == load<u8>(np + j)) j++;
    if (j == nn) return <isize>i;
  }
  return -1;
}

export function f_split(s: usize, d: usize): usize {
  if (!isTag(s, T_STR) || !isTag(d, T_STR) || strLen(d) == 0) return 0;
  const hp = strPtr(s);
  const hn = strLen(s);
  const np = strPtr(d);
  const nn = strLen(d);
  const out = newArr(4);
  let start: usize = 0;
  while (true) {
    const at = find(hp, hn, np, nn, start);
    if (at < 0) break;
    arrPush(out, strRef(hp + start, <usize>at - start));
    start = <usize>at + nn;
  }
  arrPush(out, strRef(hp + start, hn - start));
  return out;
}

export function f_replace(s: usize, old: usize, neu: usize): usize {
  if (!isTag(s, T_STR) || !isTag(old, T_STR) || !isTag(neu, T_STR) || strLen(old) == 0) return 0;
  const hp = strPtr(s);
  const hn = strLen(s);
  const op = strPtr(old);
  const on = strLen(old);
  let count: usize = 0;
  let at = find(hp, hn, op, on, 0);
  while (at >= 0) {
    count++;
    at = find(hp, hn, op, on, <usize>at + on);
  }
  if (count == 0) return s;
  const nn = strLen(neu);
  const out = newStr(hn - count * on + count * nn);
  let q = strPtr(out);
  let start: usize = 0;
  at = find(hp, hn, op, on, 0);
  while (at >= 0) {
    memory.copy(q, hp + start, <usize>at - start);
    q += <usize>at - start;
    memory.copy(q, strPtr(neu), nn);
    q += nn;
    start = <usize>at + on;
    at = find(hp, hn, op, on, start);
  }
  memory.copy(q, hp + start, hn - start);
  return out;
}

export function f_trim_prefix(s: usize, prefix: usize): usize {
  if (!isTag(s, T_STR) || !isTag(prefix, T_STR)) return 0;
  const n = strLen(prefix);
  if (n > strLen(s) || find(strPtr(s), n, strPtr(prefix), n, 0) != 0) return s;
  return strRef(strPtr(s) + n, strLen(s) - n);
}

export function f_trim_suffix(s: usize, suffix: usize): usize {
  if (!isTag(s, T_STR) || !isTag(suffix, T_STR)) return 0;
  const n = strLen(suffix);
  const m = strLen(s);
  if (n > m || find(strPtr(s) + m - n, n, strPtr(suffix), n, 0) != 0) return s;
  return strRef(strPtr(s), m - n);
}

function isAsciiSpace(c: u32): bool {
  return c == 32 || (c >= 9 && c <= 13);
}

/** ASCII whitespace natively; an edge that is not ASCII might be Unicode space, so JS decides then. */
export function f_trim_space(s: usize): usize {
  if (!isTag(s, T_STR)) return 0;
  const p = strPtr(s);
  let a: usize = 0;
  let b = strLen(s);
  while (a < b && isAsciiSpace(load<u8>(p + a))) a++;
  while (b > a && isAsciiSpace(load<u8>(p + b - 1))) b--;
  if (a < b && (load<u8>(p + a) >= 0x80 || load<u8>(p + b - 1) >= 0x80)) return 0;
  return strRef(p + a, b - a);
}

/** trim / trim_left / trim_right with an ASCII cutset (a non-ASCII one needs code points: JS). */
function trimCut(s: usize, cut: usize, left: bool, right: bool): usize {
  if (!isTag(s, T_STR) || !isTag(cut, T_STR)) return 0;
  const cp = strPtr(cut);
  const cn = strLen(cut);
  if (!isAscii(cp, cn)) return 0;
  const p = strPtr(s);
  let a: usize = 0;
  let b = strLen(s);
  if (left) while (a < b && find(cp, cn, p + a, 1, 0) >= 0) a++;
  if (right) while (b > a && find(cp, cn, p + b - 1, 1, 0) >= 0) b--;
  return strRef(p + a, b - a);
}

export function f_trim(s: usize, cut: usize): usize {
  return trimCut(s, cut, true, true);
}

export function f_trim_left(s: usize, cut: usize): usize {
  return trimCut(s, cut, true, false);
}

export function f_trim_right(s: usize, cut: usize): usize {
  return trimCut(s, cut, false, true);
}

function codePointsIn(p: usize, n: usize): i64 {
  let count: i64 = 0;
  for (let i: usize = 0; i < n; i++) if ((load<u8>(p + i) & 0xc0) != 0x80) count++;
  return count;
}

export function f_indexof(s: usize, sub: usize): usize {
  if (!isTag(s, T_STR) || !isTag(sub, T_STR)) return 0;
  if (strLen(sub) == 0) return newInt(-1);
  const at = find(strPtr(s), strLen(s), strPtr(sub), strLen(sub), 0);
  if (at < 0) return newInt(-1);
  return newInt(codePointsIn(strPtr(s), <usize>at));
}

/** Byte offset of the code point with index `cp` (or the end). */
function byteOffset(p: usize, n: usize, cp: i64): usize {
  let seen: i64 = -1;
  for (let i: usize = 0; i < n; i++) {
    if ((load<u8>(p + i) & 0xc0) != 0x80) {
      seen++;
      if (seen == cp) return i;
    }
  }
  return n;
}

export function f_substring(s: usize, start: usize, length: usize): usize {
  if (!isTag(s, T_STR) || !isTag(start, 3) || !isTag(length, 3)) return 0;
  if (load<u32>(start, 4) != 0 || load<u32>(length, 4) != 0) return 0; // not exact integers: let JS judge
  const st = load<i64>(start, 8);
  const ln = load<i64>(length, 8);
  if (st < 0) return 0;
  // OPA computes start + length in int64: where that overflows, JavaScript decides (builtins/strings.ts).
  if (ln > 0 && st > i64.MAX_VALUE - ln) return 0;
  const p = strPtr(s);
  const n = strLen(s);
  const a = byteOffset(p, n, st);
  const b = ln < 0 ? n : byteOffset(p, n, st + ln);
  return strRef(p + a, b > a ? b - a : 0);
}

/** to_number on JSON-syntax text natively, so big integers stay exact; other spellings (+1, 1., .5) go to JS. */
export function f_to_number(x: usize): usize {
  if (x == 0) return 0;
  const t = tagOf(x);
  if (t == T_NUM) return x;
  if (t == T_NULL) return newInt(0);
  if (t == T_BOOL) return newInt(x == TRUE_V || load<u32>(x, 4) != 0 ? 1 : 0);
  if (t != T_STR) return 0;
  return numberFromText(strPtr(x), strLen(x));
}

/** json.unmarshal natively: exact numbers, and no JSON round trip through JS. */
export function f_json_unmarshal(s: usize): usize {
  if (!isTag(s, T_STR)) return 0;
  return opa_json_parse(strPtr(s), strLen(s));
}

/** A JavaScript builtin's arguments go out, and its result comes back, as wire text (json.ts). */
export function rt_wire_dump(v: usize): usize {
  if (v == 0) return 0;
  return wireDump(v);
}

export function rt_wire_parse(s: usize): usize {
  if (!isTag(s, T_STR)) return 0;
  return wireParse(strPtr(s), strLen(s));
}

export function f_json_marshal(v: usize): usize {
  if (v == 0) return 0;
  return jsonText(v);
}

export function b_json_is_valid(s: usize): usize {
  if (!isTag(s, T_STR)) return boolV(false);
  return boolV(opa_json_parse(strPtr(s), strLen(s)) != 0);
}
