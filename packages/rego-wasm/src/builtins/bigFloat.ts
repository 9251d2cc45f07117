// OPA's arithmetic, reproduced exactly: its Go evaluator computes `+ - * / %`, abs, round, ceil and floor in
// the narrowest form that holds the operands (ints in the int32 window, then big.Int, then big.Float with
// Go's default 64-bit mantissa, rounding to nearest even) and writes a float result back as the shortest
// decimal that identifies it at that precision. Plain decimal arithmetic would answer differently wherever
// that rounding shows (1/3 is 0.33333333333333333334, an integer of more than 64 significant bits is rounded
// before `+`), so these builtins follow Go's math/big step by step, on BigInt, and numbers cross as their
// JSON texts. Each function takes and returns number texts; undefined is OPA's error (non-strict: undefined).

/** A big.Float: zero (mant 0n) or (-1)^neg * mant * 2^exp with mant of exactly `prec` bits. */
interface BigFloat {
  neg: boolean;
  mant: bigint;
  exp: number;
  prec: number;
}

const DEFAULT_PREC = 64;
const SMALL_MIN = -(2 ** 31);
const SMALL_MAX = 2 ** 31 - 1;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

function zero(neg: boolean, prec: number): BigFloat {
  return { neg, mant: 0n, exp: 0, prec };
}

/** Rounds |m| * 2^e (plus a sticky bit for a nonzero remainder below m) to `prec` bits, nearest even. */
function rounded(neg: boolean, m: bigint, e: number, prec: number, sticky = false): BigFloat {
  if (m === 0n) return zero(neg, prec);
  const length = bitLength(m);
  if (length <= prec) return { neg, mant: m << BigInt(prec - length), exp: e - (prec - length), prec };
  let shift = length - prec;
  let q = m >> BigInt(shift);
  const r = m - (q << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (r > half || (r === half && (sticky || (q & 1n) === 1n))) q += 1n;
  if (bitLength(q) > prec) {
    q >>= 1n;
    shift += 1;
  }
  return { neg, mant: q, exp: e + shift, prec };
}

function add(x: BigFloat, y: BigFloat, prec: number, subtract = false): BigFloat {
  const yNeg = subtract ? !y.neg : y.neg;
  if (y.mant === 0n) return x.mant === 0n ? zero(x.neg && yNeg, prec) : rounded(x.neg, x.mant, x.exp, prec);
  if (x.mant === 0n) return rounded(yNeg, y.mant, y.exp, prec);
  const e = Math.min(x.exp, y.exp);
  const a = (x.neg ? -1n : 1n) * (x.mant << BigInt(x.exp - e));
  const b = (yNeg ? -1n : 1n) * (y.mant << BigInt(y.exp - e));
  const sum = a + b;
  // An exact zero sum is +0 when rounding to nearest (Go: "x + (-x) == +0").
  if (sum === 0n) return zero(false, prec);
  return rounded(sum < 0n, sum < 0n ? -sum : sum, e, prec);
}

function mul(x: BigFloat, y: BigFloat, prec: number): BigFloat {
  const neg = x.neg !== y.neg;
  if (x.mant === 0n || y.mant === 0n) return zero(neg, prec);
  return rounded(neg, x.mant * y.mant, x.exp + y.exp, prec);
}

function quo(x: BigFloat, y: BigFloat, prec: number): BigFloat {
  const neg = x.neg !== y.neg;
  if (x.mant === 0n) return zero(neg, prec);
  // Enough quotient bits for the rounding bit, the rest as a sticky bit.
  const extra = Math.max(0, prec + 2 - (bitLength(x.mant) - bitLength(y.mant)));
  const dividend = x.mant << BigInt(extra);
  const q = dividend / y.mant;
  const r = dividend - q * y.mant;
  return rounded(neg, q, x.exp - y.exp - extra, prec, r !== 0n);
}

const POW5_TABLE_MAX = 27;

/** Go's Float.pow5 at z's precision: exact up to 5^27, then by squaring with rounding. */
function pow5(n: number, prec: number): BigFloat {
  if (n <= POW5_TABLE_MAX) return rounded(false, 5n ** BigInt(n), 0, prec);
  let z = rounded(false, 5n ** BigInt(POW5_TABLE_MAX), 0, prec);
  let rest = n - POW5_TABLE_MAX;
  let f = rounded(false, 5n, 0, prec + 64);
  while (rest > 0) {
    if ((rest & 1) === 1) z = mul(z, f, prec);
    f = mul(f, f, prec + 64);
    rest = Math.floor(rest / 2);
  }
  return z;
}

const NUMBER = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** big.Float.SetString at 64 bits, as Go scans it: the digits exactly, times 2^k, then divided by 5^-k. */
function parseFloat(text: string): BigFloat | undefined {
  const match = NUMBER.exec(text);
  if (match === null) return undefined;
  const [, sign, int = '', frac = '', exponent = '0'] = match;
  const neg = sign === '-';
  const digits = BigInt(int + frac);
  const exp10 = Number(exponent) - frac.length;
  if (!Number.isSafeInteger(exp10)) return undefined;
  if (digits === 0n) return zero(neg, DEFAULT_PREC);
  const exact: BigFloat = { neg, mant: digits, exp: exp10, prec: bitLength(digits) };
  if (exp10 === 0) return rounded(neg, digits, 0, DEFAULT_PREC);
  const p = pow5(Math.abs(exp10), DEFAULT_PREC + 64);
  return exp10 < 0 ? quo(exact, p, DEFAULT_PREC) : mul(exact, p, DEFAULT_PREC);
}

function isInt(x: BigFloat): boolean {
  if (x.mant === 0n || x.exp >= 0) return true;
  return (x.mant & ((1n << BigInt(-x.exp)) - 1n)) === 0n;
}

/** big.Float.Int: truncated toward zero. */
function truncate(x: BigFloat): bigint {
  if (x.mant === 0n) return 0n;
  const magnitude = x.exp >= 0 ? x.mant << BigInt(x.exp) : x.mant >> BigInt(-x.exp);
  return x.neg ? -magnitude : magnitude;
}

/** big.Float.SetInt on a fresh Float: exact, at the larger of 64 and the integer's length. */
function fromInt(i: bigint): BigFloat {
  const magnitude = i < 0n ? -i : i;
  const prec = Math.max(DEFAULT_PREC, bitLength(magnitude));
  return magnitude === 0n ? zero(false, prec) : rounded(i < 0n, magnitude, 0, prec);
}

/** Go's decimal: digits without leading or trailing zeros, value 0.digits * 10^exp. */
interface Decimal {
  digits: string;
  exp: number;
}

function decimalOf(m: bigint, shift: number): Decimal {
  if (m === 0n) return { digits: '', exp: 0 };
  const text = shift >= 0 ? (m << BigInt(shift)).toString() : (m * 5n ** BigInt(-shift)).toString();
  const exp = text.length + Math.min(shift, 0);
  return { digits: text.replace(/0+$/, ''), exp };
}

function digitAt(d: Decimal, i: number): string {
  return i >= 0 && i < d.digits.length ? (d.digits[i] as string) : '0';
}

function trimmed(d: Decimal): Decimal {
  const digits = d.digits.replace(/0+$/, '');
  return { digits, exp: digits === '' ? 0 : d.exp };
}

function roundDown(d: Decimal, n: number): Decimal {
  if (n < 0 || n >= d.digits.length) return d;
  return trimmed({ digits: d.digits.slice(0, n), exp: d.exp });
}

function roundUp(d: Decimal, n: number): Decimal {
  if (n < 0 || n >= d.digits.length) return d;
  let k = n;
  while (k > 0 && (d.digits[k - 1] as string) >= '9') k--;
  if (k === 0) return { digits: '1', exp: d.exp + 1 };
  const last = String.fromCharCode(d.digits.charCodeAt(k - 1) + 1);
  return { digits: d.digits.slice(0, k - 1) + last, exp: d.exp };
}

function roundNearest(d: Decimal, n: number): Decimal {
  if (n < 0 || n >= d.digits.length) return d;
  const digit = d.digits[n] as string;
  const up =
    digit === '5' && n + 1 === d.digits.length ? n > 0 && (d.digits.charCodeAt(n - 1) - 48) % 2 === 1 : digit >= '5';
  return up ? roundUp(d, n) : roundDown(d, n);
}

/** Go's roundShortest: the fewest digits that still round to x at its precision. */
function shortest(d: Decimal, x: BigFloat): Decimal {
  if (d.digits === '') return d;
  const mant = x.mant << 1n;
  const exp = x.exp - 1;
  const lower = decimalOf(mant - 1n, exp);
  const upper = decimalOf(mant + 1n, exp);
  const inclusive = (mant & 2n) === 0n;
  for (let i = 0; i < d.digits.length; i++) {
    const m = d.digits[i] as string;
    const l = digitAt(lower, i);
    const u = digitAt(upper, i);
    const okDown = l !== m || (inclusive && i + 1 === lower.digits.length);
    const okUp = m !== u && (inclusive || m.charCodeAt(0) + 1 < u.charCodeAt(0) || i + 1 < upper.digits.length);
    if (okDown && okUp) return roundNearest(d, i + 1);
    if (okDown) return roundDown(d, i + 1);
    if (okUp) return roundUp(d, i + 1);
  }
  return d;
}

function formatE(d: Decimal, prec: number): string {
  let out = d.digits === '' ? '0' : (d.digits[0] as string);
  if (prec > 0) out += `.${d.digits.slice(1, prec + 1).padEnd(prec, '0')}`;
  const exp = d.digits === '' ? 0 : d.exp - 1;
  return `${out}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function formatF(d: Decimal, prec: number): string {
  let out = d.exp > 0 ? d.digits.slice(0, d.exp).padEnd(d.exp, '0') : '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(d, d.exp + i);
  }
  return out;
}

/** OPA's FloatToNumber: Text('f', -1) for an integer value, else Text('g', -1). */
function floatText(x: BigFloat): string {
  const sign = x.neg ? '-' : '';
  const d = shortest(decimalOf(x.mant, x.exp), x);
  if (isInt(x)) return sign + formatF(d, Math.max(d.digits.length - d.exp, 0));
  const prec = d.digits.length;
  const exp = d.exp - 1;
  if (exp < -4 || exp >= 6) return sign + formatE(d, Math.min(prec, d.digits.length) - 1);
  return sign + formatF(d, Math.max((prec > d.exp ? d.digits.length : prec) - d.exp, 0));
}

/** ast.Number.Int64 (json.Number): integer syntax only, within int64. */
function int64Of(text: string): bigint | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const i = BigInt(text);
  return i >= -(2n ** 63n) && i < 2n ** 63n ? i : undefined;
}

function smallOf(text: string): bigint | undefined {
  const i = int64Of(text);
  return i !== undefined && i >= BigInt(SMALL_MIN) && i <= BigInt(SMALL_MAX) ? i : undefined;
}

/** Integers longer than this many digits are left to floats (as if not integers): a bound on the work. */
const MAX_INT_DIGITS = 100_000;

/**
 * builtins.NumberToInt: the number as an exact integer when its value is one (`7`, `1e3`, `2.0`, and
 * integers of any size, which OPA computes on exactly), else undefined.
 */
function toInt(text: string): bigint | undefined {
  const match = NUMBER.exec(text);
  if (match === null) return undefined;
  const [, sign, int = '', frac = '', exponent = '0'] = match;
  const digits = (int + frac).replace(/^0+(?=\d)/, '');
  const exp10 = Number(exponent) - frac.length;
  let value: bigint;
  if (exp10 >= 0) {
    if (digits.length + exp10 > MAX_INT_DIGITS && digits !== '0') return undefined;
    value = BigInt(digits) * 10n ** BigInt(digits === '0' ? 0 : exp10);
  } else {
    const kept = digits.length + exp10;
    if (!/^0*$/.test(digits.slice(Math.max(kept, 0)))) return undefined;
    value = kept <= 0 ? 0n : BigInt(digits.slice(0, kept));
  }
  return sign === '-' ? -value : value;
}

export type ArithOp = 'plus' | 'minus' | 'mul' | 'div' | 'rem';

/** OPA's arithOp.eval on two number texts; undefined for OPA's errors (divide or modulo by zero, ...). */
export function arithmetic(op: ArithOp, a: string, b: string): string | undefined {
  const x = smallOf(a);
  const y = smallOf(b);
  if (x !== undefined && y !== undefined) {
    switch (op) {
      case 'plus':
        return String(x + y);
      case 'minus':
        return String(x - y);
      case 'mul':
        return String(x * y);
      case 'div':
        if (y === 0n) return undefined;
        if (x !== 0n && x % y === 0n) return String(x / y);
        break;
      case 'rem':
        return y === 0n ? undefined : String(x % y);
    }
  }
  if (op !== 'div') {
    const i = toInt(a);
    const j = toInt(b);
    if (i !== undefined && j !== undefined) {
      if (op === 'rem') return j === 0n ? undefined : String(i % j);
      return String(op === 'plus' ? i + j : op === 'minus' ? i - j : i * j);
    }
  }
  if (op === 'rem') return undefined; // modulo on floating-point number
  const f = parseFloat(a);
  const g = parseFloat(b);
  if (f === undefined || g === undefined) return undefined;
  switch (op) {
    case 'plus':
      return floatText(add(f, g, DEFAULT_PREC));
    case 'minus':
      return floatText(add(f, g, DEFAULT_PREC, true));
    case 'mul':
      return floatText(mul(f, g, DEFAULT_PREC));
    case 'div':
      if (isInt(g) && truncate(g) === 0n) return undefined; // divide by zero (0.0 and 0e5 too)
      return floatText(quo(f, g, DEFAULT_PREC));
  }
}

export type UnaryOp = 'abs' | 'round' | 'ceil' | 'floor';

const HALF: BigFloat = rounded(false, 1n, -1, 53);
const ONE: BigFloat = rounded(false, 1n, 0, 53);

/**
 * OPA's abs, round, ceil and floor. Go's ceil and floor start from the value truncated toward zero, so
 * between -1 and 0 OPA answers ceil(-0.5) == 1 and floor(-0.5) == 0; these follow OPA.
 */
export function unary(op: UnaryOp, a: string): string | undefined {
  const small = smallOf(a);
  if (small !== undefined) return String(op === 'abs' && small < 0n ? -small : small);
  const f = parseFloat(a);
  if (f === undefined) return undefined;
  const precOf = (g: BigFloat): number => Math.max(g.prec, f.prec);
  switch (op) {
    case 'abs':
      return floatText({ ...f, neg: false });
    case 'round': {
      const shifted = add(f, HALF, precOf(HALF), f.neg);
      return floatText(fromInt(truncate(shifted)));
    }
    case 'ceil':
    case 'floor': {
      const g = fromInt(truncate(f));
      const same = isInt(f);
      if (op === 'ceil') return floatText(g.neg || same ? g : add(g, ONE, Math.max(g.prec, ONE.prec)));
      return floatText(!g.neg || same ? g : add(g, ONE, Math.max(g.prec, ONE.prec), true));
    }
  }
}

/** The number texts of an array's or set's wire text, or undefined when an element is not a number. */
function numberTexts(wire: string): string[] | undefined {
  const inner = wire.startsWith('[')
    ? wire.slice(1, -1)
    : wire.startsWith('{"\\u0000set":[')
      ? wire.slice('{"\\u0000set":['.length, -2)
      : undefined;
  if (inner === undefined) return undefined;
  if (inner.trim() === '') return [];
  const texts = inner.split(',').map((t) => t.trim());
  return texts.every((t) => NUMBER.test(t)) ? texts : undefined;
}

/**
 * OPA's sum and product: integers exactly (each as NumberToInt reads it), otherwise a 64-bit big.Float
 * accumulated element by element in the collection's order.
 */
export function aggregate(op: 'sum' | 'product', wire: string): string | undefined {
  const texts = numberTexts(wire);
  if (texts === undefined) return undefined;
  const ints = texts.map(toInt);
  if (ints.every((i) => i !== undefined)) {
    return String((ints as bigint[]).reduce((acc, i) => (op === 'sum' ? acc + i : acc * i), op === 'sum' ? 0n : 1n));
  }
  let acc = op === 'sum' ? zero(false, DEFAULT_PREC) : rounded(false, 1n, 0, DEFAULT_PREC);
  for (const text of texts) {
    const f = parseFloat(text) as BigFloat;
    acc = op === 'sum' ? add(acc, f, DEFAULT_PREC) : mul(acc, f, DEFAULT_PREC);
  }
  return floatText(acc);
}

const FORMAT_BASES: ReadonlySet<bigint> = new Set([2n, 8n, 10n, 16n]);

/**
 * OPA's format_int: the number read as a 64-bit big.Float and truncated toward zero (-5.9 is -5; digits
 * beyond 64 bits of mantissa are rounded away first), written in base 2, 8, 10 or 16.
 */
export function formatInt(n: string, base: string): string | undefined {
  const b = int64Of(base);
  const f = parseFloat(n);
  if (b === undefined || !FORMAT_BASES.has(b) || f === undefined) return undefined;
  return truncate(f).toString(Number(b));
}

/** Integers a builtin operand may hold before it is refused rather than built (bits beyond this are refused). */
const MAX_OPERAND_BITS = 1 << 20;

/**
 * OPA's BigIntOperand (builtins.NumberToInt): the number text read as a big.Float at Go's default 64-bit
 * mantissa, then taken when that float is whole. So `2.0` and `1e3` are integers, `1.00000000000000001` is
 * not, and an integer of more than 64 significant bits is rounded first (18446744073709551617 reads as
 * 2^64), as OPA computes. `huge` when the value would have more than MAX_OPERAND_BITS bits (OPA would build
 * it; this refuses rather than allocate it).
 */
export function bigIntOperandOf(text: string): bigint | 'fraction' | 'huge' | undefined {
  const f = parseFloat(text);
  if (f === undefined) return undefined;
  if (!isInt(f)) return 'fraction';
  if (f.mant !== 0n && f.exp > MAX_OPERAND_BITS) return 'huge';
  return truncate(f);
}
