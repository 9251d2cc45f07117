// units.parse and units.parse_bytes, as OPA computes them.
import { BuiltinArgError, str } from './args.js';
import { exactInt, NumberText } from './exact.js';

/** OPA's byte units (topdown/parse_bytes.go): up to exa; zetta and beyond are errors there, so undefined here. */
const UNIT_MULTIPLIERS: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  kb: 10n ** 3n,
  ki: 1n << 10n,
  kib: 1n << 10n,
  m: 10n ** 6n,
  mb: 10n ** 6n,
  mi: 1n << 20n,
  mib: 1n << 20n,
  g: 10n ** 9n,
  gb: 10n ** 9n,
  gi: 1n << 30n,
  gib: 1n << 30n,
  t: 10n ** 12n,
  tb: 10n ** 12n,
  ti: 1n << 40n,
  tib: 1n << 40n,
  p: 10n ** 15n,
  pb: 10n ** 15n,
  pi: 1n << 50n,
  pib: 1n << 50n,
  e: 10n ** 18n,
  eb: 10n ** 18n,
  ei: 1n << 60n,
  eib: 1n << 60n,
};

/** A finite big.Float: mantissa * 2^exponent (mantissa >= 0). */
type BinaryFloat = readonly [mantissa: bigint, exponent: bigint];

function bitLength(n: bigint): bigint {
  return BigInt(n.toString(2).length);
}

/**
 * num / den * 2^shift rounded to a `bits`-bit mantissa (round half to even), as Go's big.Float rounds at
 * that precision. num, den > 0.
 */
function roundFloat(num: bigint, den: bigint, bits: bigint, shift = 0n): BinaryFloat {
  // Choose exp so that num / den / 2^exp has exactly `bits` integer bits.
  let exp = bitLength(num) - bitLength(den) - bits;
  const scaled = (e: bigint): [bigint, bigint] => (e >= 0n ? [num, den << e] : [num << -e, den]);
  let [n, d] = scaled(exp);
  if (n / d >= 1n << bits) [n, d] = scaled(++exp);
  else if (n / d < 1n << (bits - 1n)) [n, d] = scaled(--exp);
  let q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) q += 1n;
  return [q, exp + shift];
}

/** x * y at `bits` of precision. */
function mulFloat([m1, e1]: BinaryFloat, [m2, e2]: BinaryFloat, bits: bigint): BinaryFloat {
  return roundFloat(m1 * m2, 1n, bits, e1 + e2);
}

/**
 * 5^n as big.Float's scan computes it at 128 bits: exact up to 5^27, beyond that repeated squaring of a
 * 192-bit factor, each product rounded (exact up to 5^55; beyond, OPA's answer carries these roundings).
 */
function pow5(n: bigint): BinaryFloat {
  if (n <= 27n) return [5n ** n, 0n];
  let z: BinaryFloat = [5n ** 27n, 0n];
  let f: BinaryFloat = [5n, 0n];
  for (let rest = n - 27n; rest > 0n; rest >>= 1n) {
    if ((rest & 1n) === 1n) z = mulFloat(z, f, 128n);
    f = mulFloat(f, f, 192n);
  }
  return z;
}

/**
 * A decimal amount as big.Float.SetString reads it at 64 bits: the digits as an exact integer times (or
 * divided by) 5^|exp10| from pow5, rounded once, times 2^exp10. digits > 0.
 */
function decimalToFloat(digits: bigint, exp10: bigint): BinaryFloat {
  if (exp10 === 0n) return roundFloat(digits, 1n, 64n);
  const [pm, pe] = pow5(exp10 < 0n ? -exp10 : exp10);
  return exp10 > 0n ? roundFloat(digits * pm, 1n, 64n, pe + exp10) : roundFloat(digits, pm, 64n, exp10 - pe);
}

/**
 * OPA's split of a lowercased "10.5mib" into amount and unit: digits, '.', signs, and an `e` that a digit or
 * sign follows belong to the amount ("5e" is five exa, "1e3kb" is 1e3 kilo); an exponent of more than six
 * digits is an error.
 */
function splitByteAmount(s: string): readonly [string, string] {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!/[0-9.e+-]/.test(c)) return [s.slice(0, i), s.slice(i)];
    if (c === 'e') {
      const next = s[i + 1];
      if (next === undefined || !/[0-9+-]/.test(next)) return [s.slice(0, i), s.slice(i)];
      if (next === '+' || next === '-') i++;
      if (/^[0-9]*/.exec(s.slice(i + 1))![0].length > 6) {
        throw new BuiltinArgError('units.parse_bytes', 'exponent too large');
      }
    }
  }
  return [s, ''];
}

/**
 * units.parse_bytes as OPA computes it: the amount parsed into a big.Float (64-bit mantissa; a sign is
 * allowed), multiplied by the unit at that precision, truncated toward zero to an integer. Exact at any size.
 */
export function parseBytes(s: unknown): bigint | number {
  const name = 'units.parse_bytes';
  // Go lowercases U+0130 to a plain i (JavaScript to i + U+0307), which makes "1Kİ" kibi in OPA.
  const text = str(name, s)
    .replace(/\u0130/g, 'i')
    .toLowerCase()
    .replace(/"/g, '');
  if (text.includes(' ')) throw new BuiltinArgError(name, 'spaces not allowed in resource strings');
  const [amount, unit] = splitByteAmount(text);
  if (amount === '') throw new BuiltinArgError(name, 'no byte amount provided');
  const multiplier = Object.hasOwn(UNIT_MULTIPLIERS, unit) ? UNIT_MULTIPLIERS[unit] : undefined;
  if (multiplier === undefined) throw new BuiltinArgError(name, `byte unit ${unit} not recognized`);
  // big.Float.SetString's decimal syntax, which is all the amount's characters can spell.
  const m = /^([+-]?)(\d+\.?\d*|\.\d+)(?:e([+-]?\d+))?$/.exec(amount);
  if (!m) throw new BuiltinArgError(name, 'could not parse byte amount to a number');
  const [whole, fraction = ''] = m[2]!.split('.');
  const digits = BigInt(`${whole}${fraction}` || '0');
  if (digits === 0n) return 0;
  // Rounding half to even and truncation are symmetric around zero: work on the magnitude, then sign it.
  const amountFloat = decimalToFloat(digits, BigInt(m[3] ?? '0') - BigInt(fraction.length));
  const [product, exp] = mulFloat(amountFloat, [multiplier, 0n], 64n);
  const magnitude = exp >= 0n ? product << exp : product >> -exp;
  return exactInt(m[1] === '-' ? -magnitude : magnitude);
}

/** OPA's unit multipliers for units.parse, after its normalization (first letter as written, the rest lowercased). */
const UNITS_PARSE: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  K: 10n ** 3n,
  ki: 1n << 10n,
  Ki: 1n << 10n,
  M: 10n ** 6n,
  mi: 1n << 20n,
  Mi: 1n << 20n,
  g: 10n ** 9n,
  G: 10n ** 9n,
  gi: 1n << 30n,
  Gi: 1n << 30n,
  t: 10n ** 12n,
  T: 10n ** 12n,
  ti: 1n << 40n,
  Ti: 1n << 40n,
  p: 10n ** 15n,
  P: 10n ** 15n,
  pi: 1n << 50n,
  Pi: 1n << 50n,
  e: 10n ** 18n,
  E: 10n ** 18n,
  ei: 1n << 60n,
  Ei: 1n << 60n,
};

/** A double as the exact fraction it holds: OPA's milli is big.Rat.SetFloat64(0.001), not 1/1000. */
function doubleFraction(x: number): readonly [bigint, bigint] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (exponent === 0 ? 0n : 1n << 52n);
  const shift = BigInt((exponent === 0 ? 1 : exponent) - 1075);
  return shift >= 0n ? [mantissa << shift, 1n] : [mantissa, 1n << -shift];
}

const MILLI = doubleFraction(0.001);

/** OPA's split of "10.5Mi" into amount and unit: sign, digits, '.', and an exponent that a digit or sign follows. */
function splitAmount(name: string, s: string): readonly [string, string] {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!/[0-9.eE+-]/.test(c)) return [s.slice(0, i), s.slice(i)];
    if (c === 'e' || c === 'E') {
      const next = s[i + 1];
      if (next === undefined || !/[0-9+-]/.test(next)) return [s.slice(0, i), s.slice(i)];
      if (next === '+' || next === '-') i++;
      const digits = /^[0-9]*/.exec(s.slice(i + 1))![0].length;
      if (digits > 6) throw new BuiltinArgError(name, 'exponent too large');
    }
  }
  return [s, ''];
}

/** The amount as Go's big.Rat.SetString reads it (sign, decimal digits, fraction, exponent), as num/den. */
function parseRational(name: string, text: string): readonly [bigint, bigint] {
  const m = /^([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new BuiltinArgError(name, 'could not parse amount to a number');
  const [, sign, whole = '', fraction1 = '', fraction2 = '', exponent = '0'] = m;
  const fraction = fraction1 + fraction2;
  const digits = BigInt(`${sign === '-' ? '-' : ''}${whole}${fraction}` || '0');
  const scale = BigInt(exponent) - BigInt(fraction.length);
  return scale >= 0n ? [digits * 10n ** scale, 1n] : [digits, 10n ** -scale];
}

/** big.Rat's FloatString(10): ten decimals, the last rounded half away from zero. */
function floatString10(num: bigint, den: bigint): string {
  const negative = num < 0n;
  const abs = negative ? -num : num;
  let whole = abs / den;
  const p = 10n ** 10n;
  let fraction = ((abs % den) * p) / den;
  const rest = ((abs % den) * p) % den;
  if (2n * rest >= den) {
    fraction += 1n;
    if (fraction >= p) {
      whole += 1n;
      fraction -= p;
    }
  }
  return `${negative ? '-' : ''}${whole}.${fraction.toString().padStart(10, '0')}`;
}

/**
 * units.parse as OPA computes it: the amount times the unit as exact fractions; an integer is exact, anything
 * else is written with ten decimals (OPA's text, kept as such: 1m is 0.0010000000).
 */
function parseUnits(s: unknown): bigint | number | NumberText {
  const name = 'units.parse';
  const text = str(name, s).replace(/"/g, '');
  if (text.includes(' ')) throw new BuiltinArgError(name, 'spaces not allowed in resource strings');
  const [amount, rawUnit] = splitAmount(name, text);
  if (amount === '') throw new BuiltinArgError(name, 'no amount provided');
  // Only what follows the first letter is lowercased, so that m (milli) and M (mega) differ. Go lowercases
  // U+0130 to a plain i, which makes it the binary suffix.
  const unit =
    rawUnit.length > 1
      ? rawUnit[0]! +
        rawUnit
          .slice(1)
          .replace(/\u0130/g, 'i')
          .toLowerCase()
      : rawUnit;
  const multiplier: readonly [bigint, bigint] | undefined =
    unit === 'm' ? MILLI : Object.hasOwn(UNITS_PARSE, unit) ? [UNITS_PARSE[unit]!, 1n] : undefined;
  if (multiplier === undefined) throw new BuiltinArgError(name, `unit ${unit} not recognized`);
  const [n, d] = parseRational(name, amount);
  const num = n * multiplier[0];
  const den = d * multiplier[1];
  if (num % den === 0n) return exactInt(num / den);
  return new NumberText(floatString10(num, den));
}

export const unitsBuiltins = {
  'units.parse_bytes': parseBytes,
  'units.parse': parseUnits,
};
