// Exact integer arithmetic beyond i64 on decimal digit strings, so `+`, `-` and `*` on integers never lose
// precision (OPA computes them exactly too). Schoolbook algorithms: the operands policies see are short.
import { alloc } from './alloc';
import { decimalToF64 } from './json';
import { N_BIG, N_FLT, N_INT, N_TXT, T_NUM, isTag, newInt, newNumText, numKind } from './value';

// Decoded operand: sign and magnitude digits (ASCII, most significant first, no leading zeros).
let negA = false;
let ptrA: usize = 0;
let lenA: usize = 0;
let negB = false;
let ptrB: usize = 0;
let lenB: usize = 0;

function digitsOf(v: usize, intoA: bool): void {
  let neg = false;
  let p: usize;
  let n: usize;
  if (numKind(v) == N_INT) {
    const x = load<i64>(v, 8);
    neg = x < 0;
    let u: u64 = neg ? <u64>0 - <u64>x : <u64>x;
    p = alloc(20);
    n = 0;
    // write backwards then shift
    let tmp = u;
    let count: usize = 1;
    while (tmp >= 10) {
      tmp /= 10;
      count++;
    }
    for (let i: usize = count; i > 0; i--) {
      store<u8>(p + i - 1, <u8>(48 + <u32>(u % 10)));
      u /= 10;
    }
    n = count;
  } else {
    p = <usize>load<u32>(v, 16);
    n = <usize>load<u32>(v, 20);
    if (load<u8>(p) == 45) {
      neg = true;
      p++;
      n--;
    }
  }
  if (intoA) {
    negA = neg;
    ptrA = p;
    lenA = n;
  } else {
    negB = neg;
    ptrB = p;
    lenB = n;
  }
}

function magCompare(pa: usize, la: usize, pb: usize, lb: usize): i32 {
  if (la != lb) return la < lb ? -1 : 1;
  for (let i: usize = 0; i < la; i++) {
    const x = load<u8>(pa + i);
    const y = load<u8>(pb + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// Result magnitude, written right-aligned into a buffer: digits at [resPtr, resPtr+resLen).
let resPtr: usize = 0;
let resLen: usize = 0;

function magAdd(pa: usize, la: usize, pb: usize, lb: usize): void {
  const n = (la > lb ? la : lb) + 1;
  const out = alloc(n);
  let carry: u32 = 0;
  for (let i: usize = 0; i < n; i++) {
    let d = carry;
    if (i < la) d += <u32>load<u8>(pa + la - 1 - i) - 48;
    if (i < lb) d += <u32>load<u8>(pb + lb - 1 - i) - 48;
    store<u8>(out + n - 1 - i, <u8>(48 + d % 10));
    carry = d / 10;
  }
  resPtr = out;
  resLen = n;
}

/** a - b for magnitudes with a >= b. */
function magSub(pa: usize, la: usize, pb: usize, lb: usize): void {
  const out = alloc(la);
  let borrow: i32 = 0;
  for (let i: usize = 0; i < la; i++) {
    let d = <i32>load<u8>(pa + la - 1 - i) - 48 - borrow;
    if (i < lb) d -= <i32>load<u8>(pb + lb - 1 - i) - 48;
    borrow = 0;
    if (d < 0) {
      d += 10;
      borrow = 1;
    }
    store<u8>(out + la - 1 - i, <u8>(48 + d));
  }
  resPtr = out;
  resLen = la;
}

function magMul(pa: usize, la: usize, pb: usize, lb: usize): void {
  const n = la + lb;
  const acc = alloc(n << 2);
  memory.fill(acc, 0, n << 2);
  for (let i: usize = 0; i < la; i++) {
    const x = <u32>load<u8>(pa + la - 1 - i) - 48;
    if (x == 0) continue;
    for (let j: usize = 0; j < lb; j++) {
      const slot = acc + ((i + j) << 2);
      store<u32>(slot, load<u32>(slot) + x * (<u32>load<u8>(pb + lb - 1 - j) - 48));
    }
  }
  const out = alloc(n);
  let carry: u32 = 0;
  for (let k: usize = 0; k < n; k++) {
    const d = load<u32>(acc + (k << 2)) + carry;
    store<u8>(out + n - 1 - k, <u8>(48 + d % 10));
    carry = d / 10;
  }
  resPtr = out;
  resLen = n;
}

const I64_MAX_TEXT = memory.data<u8>([57, 50, 50, 51, 51, 55, 50, 48, 51, 54, 56, 53, 52, 55, 55, 53, 56, 48, 55]); // 9223372036854775807

/** A number from sign and the result magnitude: an exact i64 when it fits, else big-integer text. */
function makeNumber(neg: bool): usize {
  let p = resPtr;
  let n = resLen;
  while (n > 1 && load<u8>(p) == 48) {
    p++;
    n--;
  }
  if (n == 1 && load<u8>(p) == 48) return newInt(0);
  if (n < 19 || (n == 19 && magCompare(p, n, I64_MAX_TEXT, 19) <= 0)) {
    let x: i64 = 0;
    for (let i: usize = 0; i < n; i++) x = x * 10 + <i64>(load<u8>(p + i) - 48);
    return newInt(neg ? -x : x);
  }
  const text = alloc(n + 1);
  let t = text;
  if (neg) {
    store<u8>(t, 45);
    t++;
  }
  memory.copy(t, p, n);
  const len = neg ? n + 1 : n;
  return newNumText(N_BIG, decimalToF64(text, len), text, len);
}

function signedAdd(subtract: bool): usize {
  const nb = subtract ? !negB : negB;
  if (negA == nb) {
    magAdd(ptrA, lenA, ptrB, lenB);
    return makeNumber(negA);
  }
  const c = magCompare(ptrA, lenA, ptrB, lenB);
  if (c == 0) return newInt(0);
  if (c > 0) {
    magSub(ptrA, lenA, ptrB, lenB);
    return makeNumber(negA);
  }
  magSub(ptrB, lenB, ptrA, lenA);
  return makeNumber(nb);
}

/** True when both are integers (i64 or big): the exact path applies. */
export function bothIntegers(a: usize, b: usize): bool {
  if (!isTag(a, T_NUM) || !isTag(b, T_NUM)) return false;
  const ka = numKind(a);
  const kb = numKind(b);
  return (ka == N_INT || ka == N_BIG) && (kb == N_INT || kb == N_BIG);
}

export function bigAdd(a: usize, b: usize): usize {
  digitsOf(a, true);
  digitsOf(b, false);
  return signedAdd(false);
}

export function bigSub(a: usize, b: usize): usize {
  digitsOf(a, true);
  digitsOf(b, false);
  return signedAdd(true);
}

export function bigMul(a: usize, b: usize): usize {
  digitsOf(a, true);
  digitsOf(b, false);
  magMul(ptrA, lenA, ptrB, lenB);
  return makeNumber(negA != negB);
}

// ---- exact decimal arithmetic ----
// Number literals are decimal, and OPA computes + - * on them without binary rounding (0.1 + 0.2 == 0.3).
// Operands that are integers or literal text are handled as digits x 10^exp; a computed double (the result
// of a division, say) goes the IEEE way. Extreme exponents fall back to doubles too.

let expA: i32 = 0;
let expB: i32 = 0;
const MAX_SHIFT: i32 = 400;

/** Decodes a literal's text into sign, digits (leading zeros stripped) and a power-of-ten exponent. */
function decimalOf(v: usize, intoA: bool): void {
  if (numKind(v) != N_TXT) {
    digitsOf(v, intoA);
    if (intoA) expA = 0;
    else expB = 0;
    return;
  }
  let p = <usize>load<u32>(v, 16);
  const end = p + <usize>load<u32>(v, 20);
  let neg = false;
  if (load<u8>(p) == 45) {
    neg = true;
    p++;
  }
  const digits = alloc(end - p);
  let n: usize = 0;
  let exp: i32 = 0;
  let afterDot = false;
  while (p < end) {
    const c = load<u8>(p);
    if (c == 46) afterDot = true;
    else if (c == 101 || c == 69) break;
    else {
      if (!(n == 0 && c == 48)) store<u8>(digits + n++, c);
      if (afterDot) exp--;
    }
    p++;
  }
  if (p < end) {
    p++;
    let eneg = false;
    if (load<u8>(p) == 45 || load<u8>(p) == 43) {
      eneg = load<u8>(p) == 45;
      p++;
    }
    let e: i32 = 0;
    while (p < end && e < 100000) {
      e = e * 10 + <i32>(load<u8>(p) - 48);
      p++;
    }
    exp += eneg ? -e : e;
  }
  if (n == 0) {
    store<u8>(digits, 48);
    n = 1;
    exp = 0;
  }
  if (intoA) {
    negA = neg;
    ptrA = digits;
    lenA = n;
    expA = exp;
  } else {
    negB = neg;
    ptrB = digits;
    lenB = n;
    expB = exp;
  }
}

function withZeros(p: usize, n: usize, zeros: i32): usize {
  const out = alloc(n + <usize>zeros);
  memory.copy(out, p, n);
  memory.fill(out + n, 48, <usize>zeros);
  return out;
}

/** The result magnitude (resPtr/resLen) times 10^exp, with a sign, as the simplest exact number. */
function makeDecimal(neg: bool, exp: i32): usize {
  let p = resPtr;
  let n = resLen;
  while (n > 1 && load<u8>(p) == 48) {
    p++;
    n--;
  }
  while (exp < 0 && n > 1 && load<u8>(p + n - 1) == 48) {
    n--;
    exp++;
  }
  if (n == 1 && load<u8>(p) == 48) return newInt(0);
  if (exp >= 0) {
    if (exp > MAX_SHIFT) return 0;
    resPtr = withZeros(p, n, exp);
    resLen = n + <usize>exp;
    return makeNumber(neg);
  }
  const frac = <usize>(-exp);
  if (frac > 64) return 0; // very small: leave it to doubles rather than write long texts
  // "[-]int.frac" with a leading "0." when the digits are all fractional.
  const intDigits: usize = n > frac ? n - frac : 0;
  const leadZeros: usize = n > frac ? 0 : frac - n;
  const len: usize = (neg ? <usize>1 : 0) + (intDigits == 0 ? <usize>1 : intDigits) + 1 + leadZeros + (n - intDigits);
  const text = alloc(len);
  let t = text;
  if (neg) store<u8>(t++, 45);
  if (intDigits == 0) store<u8>(t++, 48);
  else {
    memory.copy(t, p, intDigits);
    t += intDigits;
  }
  store<u8>(t++, 46);
  memory.fill(t, 48, leadZeros);
  t += leadZeros;
  memory.copy(t, p + intDigits, n - intDigits);
  return newNumText(N_TXT, decimalToF64(text, len), text, len);
}

/** True when both are integers or literals: exact decimal arithmetic applies. */
export function bothDecimal(a: usize, b: usize): bool {
  if (!isTag(a, T_NUM) || !isTag(b, T_NUM)) return false;
  return numKind(a) != N_FLT && numKind(b) != N_FLT;
}

/** a + b or a - b exactly; 0 when the exponents are too far apart (the caller uses doubles). */
export function decimalAdd(a: usize, b: usize, subtract: bool): usize {
  decimalOf(a, true);
  decimalOf(b, false);
  const shift = expA - expB;
  if (shift > MAX_SHIFT || shift < -MAX_SHIFT) return 0;
  let exp = expA;
  if (shift > 0) {
    ptrA = withZeros(ptrA, lenA, shift);
    lenA += <usize>shift;
    exp = expB;
  } else if (shift < 0) {
    ptrB = withZeros(ptrB, lenB, -shift);
    lenB += <usize>(-shift);
  }
  // Normalize leading zeros away so magnitude comparison by length holds.
  while (lenA > 1 && load<u8>(ptrA) == 48) {
    ptrA++;
    lenA--;
  }
  while (lenB > 1 && load<u8>(ptrB) == 48) {
    ptrB++;
    lenB--;
  }
  const nb = subtract ? !negB : negB;
  if (negA == nb) {
    magAdd(ptrA, lenA, ptrB, lenB);
    return makeDecimal(negA, exp);
  }
  const c = magCompare(ptrA, lenA, ptrB, lenB);
  if (c == 0) return newInt(0);
  if (c > 0) {
    magSub(ptrA, lenA, ptrB, lenB);
    return makeDecimal(negA, exp);
  }
  magSub(ptrB, lenB, ptrA, lenA);
  return makeDecimal(nb, exp);
}

export function decimalMul(a: usize, b: usize): usize {
  decimalOf(a, true);
  decimalOf(b, false);
  const exp = expA + expB;
  if (exp > MAX_SHIFT || exp < -MAX_SHIFT) return 0;
  magMul(ptrA, lenA, ptrB, lenB);
  return makeDecimal(negA != negB, exp);
}
