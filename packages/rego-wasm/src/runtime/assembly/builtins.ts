// Builtins implemented natively: comparisons, aggregates, type checks, arithmetic on machine integers (the
// fast paths f_<name>; OPA's big-number cases go to JavaScript), and everything that returns a set or
// depends on set/object identity. Exported as `b_<name with dots as underscores>`; the emitter calls them
// directly. Wrong argument types yield undefined (0), as OPA's non-strict evaluation does on a type error.
import { alloc } from './alloc';
import {
  T_NULL, T_BOOL, T_NUM, T_STR, T_ARR, T_OBJ, T_SET, N_INT, NULL_V, TRUE_V, FALSE_V,
  tagOf, isTag, boolV, newInt, numKind, numToInt, numToInt64Operand, gInt, newStr, strLen, strPtr, strLit,
  newArr, arrPush, arrGet, arrElems, colLen, newSet, setAdd, setFind, newObj, objPut, objGet, objFind,
  objKeyAt, objValAt, isCollection, compare, equal, sortU32,
} from './value';

// ---------------------------------------------------------------- comparison operators

export function b_equal(a: usize, b: usize): usize {
  if (a == 0 || b == 0) return 0;
  return boolV(compare(a, b) == 0);
}
export function b_neq(a: usize, b: usize): usize {
  if (a == 0 || b == 0) return 0;
  return boolV(compare(a, b) != 0);
}
export function b_lt(a: usize, b: usize): usize {
  if (a == 0 || b == 0) return 0;
  return boolV(compare(a, b) < 0);
}
export function b_lte(a: usize, b: usize): usize {
  if (a == 0 || b == 0) return 0;
  return boolV(compare(a, b) <= 0);
}
export function b_gt(a: usize, b: usize): usize {
  if (a == 0 || b == 0) return 0;
  return boolV(compare(a, b) > 0);
}
export function b_gte(a: usize, b: usize): usize {
  if (a == 0 || b == 0) return 0;
  return boolV(compare(a, b) >= 0);
}

// ---------------------------------------------------------------- arithmetic (fast paths)
// `+ - * / %`, abs, round, ceil, floor, sum and product give OPA's answers, which its Go evaluator computes
// with math/big (builtins/bigFloat.ts reproduces it in JavaScript). These answer in Wasm where machine
// integers give exactly that answer; 0 hands the call over to JavaScript (which also answers type errors).

function bothI64(a: usize, b: usize): bool {
  return isTag(a, T_NUM) && isTag(b, T_NUM) && numKind(a) == N_INT && numKind(b) == N_INT;
}

export function f_plus(a: usize, b: usize): usize {
  if (!bothI64(a, b)) return 0;
  const x = load<i64>(a, 8);
  const y = load<i64>(b, 8);
  const r = x + y;
  return ((x ^ r) & (y ^ r)) >= 0 ? newInt(r) : 0;
}

export function f_minus(a: usize, b: usize): usize {
  if (isTag(a, T_SET) && isTag(b, T_SET)) return setDifference(a, b);
  if (!bothI64(a, b)) return 0;
  const x = load<i64>(a, 8);
  const y = load<i64>(b, 8);
  const r = x - y;
  return ((x ^ y) & (x ^ r)) >= 0 ? newInt(r) : 0;
}

export function f_mul(a: usize, b: usize): usize {
  if (!bothI64(a, b)) return 0;
  const x = load<i64>(a, 8);
  const y = load<i64>(b, 8);
  if (x == 0 || y == 0) return newInt(0);
  if ((x == -1 && y == i64.MIN_VALUE) || (y == -1 && x == i64.MIN_VALUE)) return 0;
  const r = x * y;
  return r / y == x ? newInt(r) : 0;
}

export function f_div(a: usize, b: usize): usize {
  if (!bothI64(a, b)) return 0;
  const x = load<i64>(a, 8);
  const y = load<i64>(b, 8);
  // A zero dividend is a float quotient in OPA (-0 for a negative divisor): JavaScript answers it.
  if (x == 0 || y == 0 || (x == i64.MIN_VALUE && y == -1) || x % y != 0) return 0;
  return newInt(x / y);
}

export function f_rem(a: usize, b: usize): usize {
  if (!bothI64(a, b)) return 0;
  const x = load<i64>(a, 8);
  const y = load<i64>(b, 8);
  if (y == 0) return 0;
  return newInt(y == -1 ? 0 : x % y);
}

export function f_abs(a: usize): usize {
  if (!isTag(a, T_NUM) || numKind(a) != N_INT) return 0;
  const x = load<i64>(a, 8);
  if (x == i64.MIN_VALUE) return 0;
  return x < 0 ? newInt(-x) : a;
}

function intOrZero(a: usize): usize {
  return isTag(a, T_NUM) && numKind(a) == N_INT ? a : 0;
}

export function f_round(a: usize): usize {
  return intOrZero(a);
}

export function f_ceil(a: usize): usize {
  return intOrZero(a);
}

export function f_floor(a: usize): usize {
  return intOrZero(a);
}

/** sum or product of an array or set of machine integers that does not overflow; else 0. */
function foldI64(v: usize, product: bool): usize {
  if (!isTag(v, T_ARR) && !isTag(v, T_SET)) return 0;
  let acc: i64 = product ? 1 : 0;
  const n = colLen(v);
  for (let i: u32 = 0; i < n; i++) {
    const x = arrGet(v, i);
    if (!isTag(x, T_NUM) || numKind(x) != N_INT) return 0;
    const y = load<i64>(x, 8);
    if (product) {
      if (y == 0 || acc == 0) {
        acc = 0;
        continue;
      }
      if ((acc == -1 && y == i64.MIN_VALUE) || (y == -1 && acc == i64.MIN_VALUE)) return 0;
      const r = acc * y;
      if (r / y != acc) return 0;
      acc = r;
    } else {
      const r = acc + y;
      if (((acc ^ r) & (y ^ r)) < 0) return 0;
      acc = r;
    }
  }
  return newInt(acc);
}

export function f_sum(v: usize): usize {
  return foldI64(v, false);
}

export function f_product(v: usize): usize {
  return foldI64(v, true);
}

/** Set difference (`-` on two sets); `-` on numbers is f_minus's and JavaScript's. */
function setDifference(a: usize, b: usize): usize {
  const out = newSet(colLen(a));
  const n = colLen(a);
  for (let i: u32 = 0; i < n; i++) {
    const x = arrGet(a, i);
    if (setFind(b, x) < 0) setAdd(out, x);
  }
  return out;
}

// ---------------------------------------------------------------- sets as operators

function isSetOrNull(v: usize): bool {
  return isTag(v, T_SET);
}

export function b_and(a: usize, b: usize): usize {
  if (!isSetOrNull(a) || !isSetOrNull(b)) return 0;
  const out = newSet();
  const n = colLen(a);
  for (let i: u32 = 0; i < n; i++) {
    const x = arrGet(a, i);
    if (setFind(b, x) >= 0) setAdd(out, x);
  }
  return out;
}

export function b_or(a: usize, b: usize): usize {
  if (!isSetOrNull(a) || !isSetOrNull(b)) return 0;
  const out = newSet(colLen(a) + colLen(b));
  let n = colLen(a);
  for (let i: u32 = 0; i < n; i++) setAdd(out, arrGet(a, i));
  n = colLen(b);
  for (let i: u32 = 0; i < n; i++) setAdd(out, arrGet(b, i));
  return out;
}

export function b_intersection(s: usize): usize {
  if (!isTag(s, T_SET)) return 0;
  const n = colLen(s);
  if (n == 0) return newSet();
  for (let i: u32 = 0; i < n; i++) if (!isTag(arrGet(s, i), T_SET)) return 0;
  let acc = arrGet(s, 0);
  for (let i: u32 = 1; i < n; i++) acc = b_and(acc, arrGet(s, i));
  if (n == 1) acc = b_or(acc, newSet());
  return acc;
}

export function b_union(s: usize): usize {
  if (!isTag(s, T_SET)) return 0;
  const out = newSet();
  const n = colLen(s);
  for (let i: u32 = 0; i < n; i++) {
    const m = arrGet(s, i);
    if (!isTag(m, T_SET)) return 0;
    const k = colLen(m);
    for (let j: u32 = 0; j < k; j++) setAdd(out, arrGet(m, j));
  }
  return out;
}

// ---------------------------------------------------------------- membership

export function b_internal_member_2(x: usize, xs: usize): usize {
  if (x == 0 || xs == 0) return 0;
  const t = tagOf(xs);
  if (t == T_SET) return boolV(setFind(xs, x) >= 0);
  if (t == T_ARR) {
    const n = colLen(xs);
    for (let i: u32 = 0; i < n; i++) if (compare(arrGet(xs, i), x) == 0) return TRUE_V;
    return FALSE_V;
  }
  if (t == T_OBJ) {
    const n = colLen(xs);
    for (let i: u32 = 0; i < n; i++) if (compare(objValAt(xs, i), x) == 0) return TRUE_V;
    return FALSE_V;
  }
  return FALSE_V;
}

export function b_internal_member_3(k: usize, v: usize, xs: usize): usize {
  if (k == 0 || v == 0 || xs == 0) return 0;
  const t = tagOf(xs);
  if (t == T_ARR) {
    if (!numToInt(k)) return FALSE_V;
    const i = gInt;
    if (i < 0 || i >= <i64>colLen(xs)) return FALSE_V;
    return boolV(equal(arrGet(xs, <u32>i), v));
  }
  if (t == T_OBJ) {
    const got = objGet(xs, k);
    return boolV(got != 0 && equal(got, v));
  }
  if (t == T_SET) return boolV(equal(k, v) && setFind(xs, k) >= 0);
  return FALSE_V;
}

// ---------------------------------------------------------------- aggregates

/** Number of UTF-8 code points. */
export function codePoints(p: usize, n: usize): u32 {
  let count: u32 = 0;
  for (let i: usize = 0; i < n; i++) if ((load<u8>(p + i) & 0xc0) != 0x80) count++;
  return count;
}

export function b_count(v: usize): usize {
  if (v == 0) return 0;
  const t = tagOf(v);
  if (t == T_ARR || t == T_SET || t == T_OBJ) return newInt(<i64>colLen(v));
  if (t == T_STR) return newInt(<i64>codePoints(strPtr(v), strLen(v)));
  return 0;
}

function isArrOrSet(v: usize): bool {
  return isTag(v, T_ARR) || isTag(v, T_SET);
}

/** Folds an array or set with an arithmetic operator from `start`; undefined as soon as one step is. */
export function b_max(v: usize): usize {
  if (!isArrOrSet(v)) return 0;
  const n = colLen(v);
  if (n == 0) return 0;
  let best = arrGet(v, 0);
  for (let i: u32 = 1; i < n; i++) if (compare(arrGet(v, i), best) > 0) best = arrGet(v, i);
  return best;
}

export function b_min(v: usize): usize {
  if (!isArrOrSet(v)) return 0;
  const n = colLen(v);
  if (n == 0) return 0;
  let best = arrGet(v, 0);
  for (let i: u32 = 1; i < n; i++) if (compare(arrGet(v, i), best) < 0) best = arrGet(v, i);
  return best;
}

export function b_sort(v: usize): usize {
  if (!isArrOrSet(v)) return 0;
  const n = colLen(v);
  const out = newArr(n);
  memory.copy(arrElems(out), arrElems(v), <usize>n << 2);
  store<u32>(out, n, 4);
  if (tagOf(v) == T_ARR) sortU32(arrElems(out), n, 0);
  return out;
}

// ---------------------------------------------------------------- types

export function b_is_string(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_STR); }
export function b_is_number(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_NUM); }
export function b_is_boolean(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_BOOL); }
export function b_is_array(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_ARR); }
export function b_is_object(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_OBJ); }
export function b_is_set(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_SET); }
export function b_is_null(v: usize): usize { return v == 0 ? 0 : boolV(tagOf(v) == T_NULL); }

export function b_type_name(v: usize): usize {
  if (v == 0) return 0;
  switch (tagOf(v)) {
    case T_NULL: return strLit('null');
    case T_BOOL: return strLit('boolean');
    case T_NUM: return strLit('number');
    case T_STR: return strLit('string');
    case T_ARR: return strLit('array');
    case T_OBJ: return strLit('object');
    case T_SET: return strLit('set');
  }
  return 0;
}

// ---------------------------------------------------------------- collections

/** source[key] for the IR's `dot`: 0 when absent or not a collection. */
export function rt_dot(src: usize, key: usize): usize {
  if (src == 0 || key == 0) return 0;
  const t = tagOf(src);
  if (t == T_OBJ) return objGet(src, key);
  if (t == T_ARR) {
    if (!numToInt(key)) return 0;
    const i = gInt;
    if (i < 0 || i >= <i64>colLen(src)) return 0;
    return arrGet(src, <u32>i);
  }
  if (t == T_SET) {
    const i = setFind(src, key);
    return i < 0 ? 0 : arrGet(src, <u32>i);
  }
  return 0;
}

export function b_object_get(o: usize, key: usize, dflt: usize): usize {
  if (!isTag(o, T_OBJ) || key == 0) return 0;
  if (isTag(key, T_ARR)) {
    // An array key is a path into nested documents.
    let cur = o;
    const n = colLen(key);
    for (let i: u32 = 0; i < n; i++) {
      cur = rt_dot(cur, arrGet(key, i));
      if (cur == 0) return dflt;
    }
    return cur;
  }
  const v = objGet(o, key);
  return v == 0 ? dflt : v;
}

export function b_object_keys(o: usize): usize {
  if (!isTag(o, T_OBJ)) return 0;
  const n = colLen(o);
  const out = newSet(n);
  // Keys are already sorted and distinct: copy them straight in.
  memory.copy(arrElems(out), <usize>load<u32>(o, 12), <usize>n << 2);
  store<u32>(out, n, 4);
  return out;
}

function copyObj(o: usize): usize {
  const n = colLen(o);
  const out = newObj(n);
  memory.copy(<usize>load<u32>(out, 12), <usize>load<u32>(o, 12), <usize>n << 2);
  memory.copy(<usize>load<u32>(out, 16), <usize>load<u32>(o, 16), <usize>n << 2);
  store<u32>(out, n, 4);
  return out;
}

/** object.union: b's values win; nested objects on both sides merge recursively. */
function unionObjects(a: usize, b: usize): usize {
  const out = copyObj(a);
  const n = colLen(b);
  for (let i: u32 = 0; i < n; i++) {
    const k = objKeyAt(b, i);
    const vb = objValAt(b, i);
    const va = objGet(a, k);
    if (va != 0 && isTag(va, T_OBJ) && isTag(vb, T_OBJ)) objPut(out, k, unionObjects(va, vb), false);
    else objPut(out, k, vb, false);
  }
  return out;
}

export function b_object_union(a: usize, b: usize): usize {
  if (!isTag(a, T_OBJ) || !isTag(b, T_OBJ)) return 0;
  return unionObjects(a, b);
}

export function b_object_remove(o: usize, keys: usize): usize {
  if (!isTag(o, T_OBJ) || keys == 0) return 0;
  const t = tagOf(keys);
  if (t != T_ARR && t != T_SET && t != T_OBJ) return 0;
  const out = newObj(colLen(o));
  const n = colLen(o);
  for (let i: u32 = 0; i < n; i++) {
    const k = objKeyAt(o, i);
    let drop = false;
    if (t == T_SET) drop = setFind(keys, k) >= 0;
    else if (t == T_OBJ) drop = objFind(keys, k) >= 0;
    else {
      const m = colLen(keys);
      for (let j: u32 = 0; j < m; j++) {
        if (compare(arrGet(keys, j), k) == 0) {
          drop = true;
          break;
        }
      }
    }
    if (!drop) objPut(out, k, objValAt(o, i), false);
  }
  return out;
}

/** Deep merge for the IR's objectMerge: objects merge key by key, for other leaves `a` wins. */
/**
 * `with` on a path: a copy of `o` (a fresh object when `o` is not one: OPA replaces a non-object on the way)
 * with key k set to v. Never modifies `o`, which may be input, data or a constant.
 */
export function rt_object_upsert(o: usize, k: usize, v: usize): usize {
  const out = o != 0 && isTag(o, T_OBJ) ? copyObj(o) : newObj();
  objPut(out, k, v, false);
  return out;
}

export function rt_object_merge(a: usize, b: usize): usize {
  if (a == 0) return b;
  if (b == 0) return a;
  if (!isTag(a, T_OBJ) || !isTag(b, T_OBJ)) return a;
  const out = copyObj(a);
  const n = colLen(b);
  for (let i: u32 = 0; i < n; i++) {
    const k = objKeyAt(b, i);
    const vb = objValAt(b, i);
    const va = objGet(a, k);
    objPut(out, k, va == 0 ? vb : rt_object_merge(va, vb), false);
  }
  return out;
}

export function b_array_concat(a: usize, b: usize): usize {
  if (!isTag(a, T_ARR) || !isTag(b, T_ARR)) return 0;
  const la = colLen(a);
  const lb = colLen(b);
  const out = newArr(la + lb);
  memory.copy(arrElems(out), arrElems(a), <usize>la << 2);
  memory.copy(arrElems(out) + (<usize>la << 2), arrElems(b), <usize>lb << 2);
  store<u32>(out, la + lb, 4);
  return out;
}

export function b_array_slice(a: usize, start: usize, stop: usize): usize {
  // Both bounds are IntOperands in OPA (builtins/catalog.ts: int64): 2.0 is an error there.
  if (!isTag(a, T_ARR) || !numToInt64Operand(start)) return 0;
  let s = gInt;
  if (!numToInt64Operand(stop)) return 0;
  let e = gInt;
  const n = <i64>colLen(a);
  // OPA clamps both bounds into [0, len] and yields [] when they cross.
  if (s < 0) s = 0;
  if (e > n) e = n;
  if (s > e) s = e;
  const len = <u32>(e - s);
  const out = newArr(len);
  memory.copy(arrElems(out), arrElems(a) + (<usize>s << 2), <usize>len << 2);
  store<u32>(out, len, 4);
  return out;
}

export function b_array_reverse(a: usize): usize {
  if (!isTag(a, T_ARR)) return 0;
  const n = colLen(a);
  const out = newArr(n);
  for (let i: u32 = 0; i < n; i++) store<u32>(arrElems(out) + (<usize>i << 2), <u32>arrGet(a, n - 1 - i));
  store<u32>(out, n, 4);
  return out;
}

/** `path` with one more key: a fresh array (each pair walk yields owns its path). */
function pathWith(path: usize, key: usize): usize {
  const n = colLen(path);
  const out = newArr(n + 1);
  memory.copy(arrElems(out), arrElems(path), <usize>n << 2);
  store<u32>(arrElems(out) + (<usize>n << 2), <u32>key);
  store<u32>(out, n + 1, 4);
  return out;
}

/** Appends [path, v] and then, depth first, the pairs below v: OPA's walk order (keys and elements sorted). */
function walkInto(out: usize, path: usize, v: usize): void {
  const pair = newArr(2);
  arrPush(pair, path);
  arrPush(pair, v);
  arrPush(out, pair);
  const tag = tagOf(v);
  if (tag == T_ARR) {
    const n = colLen(v);
    for (let i: u32 = 0; i < n; i++) walkInto(out, pathWith(path, newInt(<i64>i)), arrGet(v, i));
  } else if (tag == T_OBJ) {
    const n = colLen(v);
    for (let i: u32 = 0; i < n; i++) walkInto(out, pathWith(path, objKeyAt(v, i)), objValAt(v, i));
  } else if (tag == T_SET) {
    const n = colLen(v);
    for (let i: u32 = 0; i < n; i++) walkInto(out, pathWith(path, arrGet(v, i)), arrGet(v, i));
  }
}

/**
 * walk(x): every [path, value] pair of x, the root [[], x] first. walk is a relation in OPA; the planner
 * iterates over this array (a call to a builtin marked `relation` in the catalog).
 */
export function b_walk(x: usize): usize {
  if (x == 0) return 0;
  const out = newArr(8);
  walkInto(out, newArr(0), x);
  return out;
}

// ---------------------------------------------------------------- hot-path strings (byte-exact, so UTF-8 safe)

function bytesEqual(p: usize, q: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) != load<u8>(q + i)) return false;
  return true;
}

export function b_startswith(s: usize, prefix: usize): usize {
  if (!isTag(s, T_STR) || !isTag(prefix, T_STR)) return 0;
  const n = strLen(prefix);
  return boolV(strLen(s) >= n && bytesEqual(strPtr(s), strPtr(prefix), n));
}

export function b_endswith(s: usize, suffix: usize): usize {
  if (!isTag(s, T_STR) || !isTag(suffix, T_STR)) return 0;
  const n = strLen(suffix);
  const m = strLen(s);
  return boolV(m >= n && bytesEqual(strPtr(s) + m - n, strPtr(suffix), n));
}

export function b_contains(s: usize, sub: usize): usize {
  if (!isTag(s, T_STR) || !isTag(sub, T_STR)) return 0;
  const n = strLen(sub);
  const m = strLen(s);
  if (n == 0) return TRUE_V;
  if (n > m) return FALSE_V;
  const p = strPtr(s);
  const q = strPtr(sub);
  for (let i: usize = 0; i + n <= m; i++) if (bytesEqual(p + i, q, n)) return TRUE_V;
  return FALSE_V;
}

export function b_concat(delim: usize, parts: usize): usize {
  if (!isTag(delim, T_STR) || !isArrOrSet(parts)) return 0;
  const n = colLen(parts);
  let total: usize = 0;
  for (let i: u32 = 0; i < n; i++) {
    const x = arrGet(parts, i);
    if (!isTag(x, T_STR)) return 0;
    total += strLen(x);
  }
  if (n > 1) total += strLen(delim) * <usize>(n - 1);
  const out = newStr(total);
  let d = strPtr(out);
  for (let i: u32 = 0; i < n; i++) {
    if (i > 0) {
      memory.copy(d, strPtr(delim), strLen(delim));
      d += strLen(delim);
    }
    const x = arrGet(parts, i);
    memory.copy(d, strPtr(x), strLen(x));
    d += strLen(x);
  }
  return out;
}

export function b_strings_any_prefix_match(s: usize, prefixes: usize): usize {
  return anyMatch(s, prefixes, true);
}

export function b_strings_any_suffix_match(s: usize, suffixes: usize): usize {
  return anyMatch(s, suffixes, false);
}

function anyMatch(s: usize, pats: usize, prefix: bool): usize {
  // Either argument may be a string or an array/set of strings.
  const ss = stringsOf(s);
  const ps = stringsOf(pats);
  if (ss == 0 || ps == 0) return 0;
  for (let i: u32 = 0; i < colLen(ss); i++) {
    for (let j: u32 = 0; j < colLen(ps); j++) {
      const r = prefix ? b_startswith(arrGet(ss, i), arrGet(ps, j)) : b_endswith(arrGet(ss, i), arrGet(ps, j));
      if (r == TRUE_V) return TRUE_V;
    }
  }
  return FALSE_V;
}

function stringsOf(v: usize): usize {
  if (isTag(v, T_STR)) {
    const a = newArr(1);
    arrPush(a, v);
    return a;
  }
  if (!isArrOrSet(v)) return 0;
  for (let i: u32 = 0; i < colLen(v); i++) if (!isTag(arrGet(v, i), T_STR)) return 0;
  return v;
}


