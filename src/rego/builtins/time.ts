// time.now_ns, time.parse_rfc3339_ns, units.parse_bytes, io.jwt.decode.
// Nanosecond timestamps exceed 2^53: they cross the SDK's JSON boundary as JS numbers, so they carry about
// 0.1 µs of rounding. Policies compare them with second-scale claims, where that does not matter.
import { BuiltinArgError, str } from './args.js';

export function nowNs(): number {
  return Number(process.hrtime.bigint() - hrtimeAtStart + wallAtStartNs);
}
const hrtimeAtStart = process.hrtime.bigint();
const wallAtStartNs = BigInt(Date.now()) * 1_000_000n;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseRfc3339Ns(s: unknown): number {
  const text = str('time.parse_rfc3339_ns', s);
  const m = RFC3339.exec(text);
  if (!m) throw new BuiltinArgError('time.parse_rfc3339_ns', `not RFC 3339: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    throw new BuiltinArgError('time.parse_rfc3339_ns', `out of range: ${JSON.stringify(text)}`);
  }
  const ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec));
  const check = new Date(ms);
  if (check.getUTCDate() !== day) throw new BuiltinArgError('time.parse_rfc3339_ns', `no such day: ${JSON.stringify(text)}`);
  let ns = BigInt(ms) * 1_000_000n;
  if (frac) ns += BigInt(frac.slice(1).padEnd(9, '0'));
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const offsetMin = BigInt(Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    ns -= sign * offsetMin * 60_000_000_000n;
  }
  return Number(ns);
}

const UNIT_MULTIPLIERS: Record<string, number> = {
  '': 1,
  k: 1e3, kb: 1e3, ki: 2 ** 10, kib: 2 ** 10,
  m: 1e6, mb: 1e6, mi: 2 ** 20, mib: 2 ** 20,
  g: 1e9, gb: 1e9, gi: 2 ** 30, gib: 2 ** 30,
  t: 1e12, tb: 1e12, ti: 2 ** 40, tib: 2 ** 40,
  p: 1e15, pb: 1e15, pi: 2 ** 50, pib: 2 ** 50,
  e: 1e18, eb: 1e18, ei: 2 ** 60, eib: 2 ** 60,
  z: 1e21, zb: 1e21, zi: 2 ** 70, zib: 2 ** 70,
  y: 1e24, yb: 1e24, yi: 2 ** 80, yib: 2 ** 80,
  r: 1e27, rb: 1e27, q: 1e30, qb: 1e30,
};

export function parseBytes(s: unknown): number {
  const text = str('units.parse_bytes', s);
  const m = /^([0-9]*\.?[0-9]+)([A-Za-z]*)$/.exec(text.replace(/"/g, ''));
  if (!m) throw new BuiltinArgError('units.parse_bytes', `could not parse ${JSON.stringify(text)}`);
  const multiplier = UNIT_MULTIPLIERS[m[2]!.toLowerCase()];
  if (multiplier === undefined) throw new BuiltinArgError('units.parse_bytes', `unknown unit in ${JSON.stringify(text)}`);
  return Math.trunc(Number(m[1]) * multiplier);
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
