// units.parse and units.parse_bytes, as OPA computes them.
import { BuiltinArgError, str } from './args.js';
import { exactInt } from './exact.js';

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

const SI_UNITS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const unitsBuiltins = {
  'units.parse_bytes': parseBytes,
  'units.parse': (s: unknown) => {
    const m = /^([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(str('units.parse', s).replace(/"/g, ''));
    const unit = m ? (SI_UNITS[m[2]!] ?? SI_UNITS[m[2]!.toUpperCase()]) : undefined;
    if (!m || unit === undefined) throw new BuiltinArgError('units.parse', `could not parse ${JSON.stringify(s)}`);
    return Number(m[1]) * unit;
  },
};
