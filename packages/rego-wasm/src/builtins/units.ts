// units.parse and units.parse_bytes, as OPA computes them.
import { BuiltinArgError, str } from './args.js';
import { exactInt, NumberText } from './exact.js';

/**
 * OPA's byte units up to exa. OPA refuses zetta and beyond; they are kept (exact) because policies written
 * for other Rego engines (regorus) use them and a refusal would change working policies.
 */
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
  z: 10n ** 21n,
  zb: 10n ** 21n,
  zi: 1n << 70n,
  zib: 1n << 70n,
  y: 10n ** 24n,
  yb: 10n ** 24n,
  yi: 1n << 80n,
  yib: 1n << 80n,
  r: 10n ** 27n,
  rb: 10n ** 27n,
  q: 10n ** 30n,
  qb: 10n ** 30n,
};

const MANTISSA_BITS = 64n;

function bitLength(n: bigint): bigint {
  return BigInt(n.toString(2).length);
}

/**
 * num / den rounded to a 64-bit mantissa (round half to even), as Go's big.Float at its default precision:
 * returns [mantissa, exponent] with value = mantissa * 2^exponent. num, den > 0.
 */
function roundToFloat64Mantissa(num: bigint, den: bigint): [bigint, bigint] {
  // Choose exp so that num / den / 2^exp has exactly 64 integer bits.
  let exp = bitLength(num) - bitLength(den) - MANTISSA_BITS;
  const scaled = (e: bigint): [bigint, bigint] => (e >= 0n ? [num, den << e] : [num << -e, den]);
  let [n, d] = scaled(exp);
  if (n / d >= 1n << MANTISSA_BITS) [n, d] = scaled(++exp);
  else if (n / d < 1n << (MANTISSA_BITS - 1n)) [n, d] = scaled(--exp);
  let q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) q += 1n;
  return [q, exp];
}

/**
 * units.parse_bytes as OPA computes it: the amount parsed into a big.Float (64-bit mantissa), multiplied by
 * the unit at that precision, truncated to an integer. Exact at any size.
 */
export function parseBytes(s: unknown): bigint | number {
  const text = str('units.parse_bytes', s).toLowerCase().replace(/"/g, '');
  // The amount: digits with an optional fraction and an optional exponent ("1e3kb", "3.2e2mib", "5e6"); an
  // `e` that no digit or sign follows is the exa unit ("5e", "5eb"), as OPA splits it.
  const m = /^(\d+\.?\d*|\.\d+)(?:e([+-]?\d{1,3})(?!\d))?([a-z]*)$/.exec(text);
  if (!m) throw new BuiltinArgError('units.parse_bytes', `could not parse ${JSON.stringify(s)}`);
  const multiplier = UNIT_MULTIPLIERS[m[3]!];
  if (multiplier === undefined) throw new BuiltinArgError('units.parse_bytes', `unknown unit in ${JSON.stringify(s)}`);
  const [whole, fraction = ''] = m[1]!.split('.');
  const digits = BigInt(`${whole}${fraction}` || '0');
  if (digits === 0n) return 0;
  const scale = BigInt(m[2] ?? '0') - BigInt(fraction.length);
  const [num, den] = scale >= 0n ? [digits * 10n ** scale, 1n] : [digits, 10n ** -scale];
  const [mantissa, exp] = roundToFloat64Mantissa(num, den);
  const [product, exp2] = roundToFloat64Mantissa(
    mantissa * multiplier * (exp >= 0n ? 1n << exp : 1n),
    exp >= 0n ? 1n : 1n << -exp,
  );
  return exactInt(exp2 >= 0n ? product << exp2 : product >> -exp2);
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
