// time.now_ns, time.parse_rfc3339_ns, units.parse_bytes, io.jwt.decode.
// Nanosecond timestamps and byte counts exceed 2^53, so these return BigInt: modules Portcullis emits take
// them back exactly (see exact.ts); OPA-built bundles get the nearest double.
import { BuiltinArgError, str } from './args.js';
import { exactInt } from './exact.js';

export function nowNs(): bigint {
  return process.hrtime.bigint() - hrtimeAtStart + wallAtStartNs;
}
const hrtimeAtStart = process.hrtime.bigint();
const wallAtStartNs = BigInt(Date.now()) * 1_000_000n;

// Go's time.Parse(time.RFC3339, s): upper-case T and Z, any number of fraction digits (truncated to ns).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseRfc3339Ns(s: unknown): bigint | number {
  const text = str('time.parse_rfc3339_ns', s);
  const m = RFC3339.exec(text);
  if (!m) throw new BuiltinArgError('time.parse_rfc3339_ns', `not RFC 3339: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    throw new BuiltinArgError('time.parse_rfc3339_ns', `out of range: ${JSON.stringify(text)}`);
  }
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Number(sec)));
  date.setUTCFullYear(Number(y), month - 1, day);
  if (date.getUTCDate() !== day) throw new BuiltinArgError('time.parse_rfc3339_ns', `no such day: ${JSON.stringify(text)}`);
  let ns = BigInt(date.getTime()) * 1_000_000n;
  if (frac) ns += BigInt(frac.slice(1, 10).padEnd(9, '0'));
  if (zone && zone !== 'Z') {
    if (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59) {
      throw new BuiltinArgError('time.parse_rfc3339_ns', `zone offset out of range: ${JSON.stringify(text)}`);
    }
    const sign = zone.startsWith('-') ? -1n : 1n;
    const offsetMin = BigInt(Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    ns -= sign * offsetMin * 60_000_000_000n;
  }
  // Go's UnixNano is undefined outside int64 (before 1678, after 2262): an error here, not OPA's wrapped value.
  if (ns < -(1n << 63n) || ns >= 1n << 63n) throw new BuiltinArgError('time.parse_rfc3339_ns', `out of range: ${JSON.stringify(text)}`);
  return exactInt(ns);
}

/**
 * OPA's byte units up to exa. OPA refuses zetta and beyond; they are kept (exact) because policies written
 * for other Rego engines (regorus) use them and a refusal would change working policies.
 */
const UNIT_MULTIPLIERS: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n, kb: 10n ** 3n, ki: 1n << 10n, kib: 1n << 10n,
  m: 10n ** 6n, mb: 10n ** 6n, mi: 1n << 20n, mib: 1n << 20n,
  g: 10n ** 9n, gb: 10n ** 9n, gi: 1n << 30n, gib: 1n << 30n,
  t: 10n ** 12n, tb: 10n ** 12n, ti: 1n << 40n, tib: 1n << 40n,
  p: 10n ** 15n, pb: 10n ** 15n, pi: 1n << 50n, pib: 1n << 50n,
  e: 10n ** 18n, eb: 10n ** 18n, ei: 1n << 60n, eib: 1n << 60n,
  z: 10n ** 21n, zb: 10n ** 21n, zi: 1n << 70n, zib: 1n << 70n,
  y: 10n ** 24n, yb: 10n ** 24n, yi: 1n << 80n, yib: 1n << 80n,
  r: 10n ** 27n, rb: 10n ** 27n, q: 10n ** 30n, qb: 10n ** 30n,
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
  const m = /^(\d+\.?\d*|\.\d+)([a-z]*)$/.exec(text);
  if (!m) throw new BuiltinArgError('units.parse_bytes', `could not parse ${JSON.stringify(s)}`);
  const multiplier = UNIT_MULTIPLIERS[m[2]!];
  if (multiplier === undefined) throw new BuiltinArgError('units.parse_bytes', `unknown unit in ${JSON.stringify(s)}`);
  const [whole, fraction = ''] = m[1]!.split('.');
  const num = BigInt(`${whole}${fraction}` || '0');
  if (num === 0n) return 0;
  const [mantissa, exp] = roundToFloat64Mantissa(num, 10n ** BigInt(fraction.length));
  const [product, exp2] = roundToFloat64Mantissa(mantissa * multiplier * (exp >= 0n ? 1n << exp : 1n), exp >= 0n ? 1n : 1n << -exp);
  return exactInt(exp2 >= 0n ? product << exp2 : product >> -exp2);
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(part)) throw new BuiltinArgError('io.jwt.decode', `${what} is not base64url`);
  const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BuiltinArgError('io.jwt.decode', `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** [header, payload, signature as hex] without verifying anything, as OPA's io.jwt.decode. */
export function jwtDecode(token: unknown): [Record<string, unknown>, Record<string, unknown>, string] {
  const parts = str('io.jwt.decode', token).split('.');
  if (parts.length !== 3) throw new BuiltinArgError('io.jwt.decode', 'a JWS compact token has three parts');
  const header = decodeJsonPart(parts[0]!, 'header');
  const payload = decodeJsonPart(parts[1]!, 'payload');
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(parts[2]!)) throw new BuiltinArgError('io.jwt.decode', 'signature is not base64url');
  return [header, payload, Buffer.from(parts[2]!, 'base64url').toString('hex')];
}
