// OPA builtins outside the compiler's BUILTINS list that the SDK lacks, so that bundles built by
// `opa build -t wasm` which call them still run under Portcullis (their modules list them in builtins()).
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { BuiltinArgError, int, list, num, obj, str } from './args.js';
import { compiledRegex } from './regex.js';

const digest = (alg: string) => (s: unknown) => createHash(alg).update(str(`crypto.${alg}`, s), 'utf8').digest('hex');
const hmac = (alg: string) => (s: unknown, key: unknown) =>
  createHmac(alg, str(`crypto.hmac.${alg}`, key)).update(str(`crypto.hmac.${alg}`, s), 'utf8').digest('hex');

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** time.* take ns since the epoch, or [ns, timezone]; only UTC is supported (other zones are errors). */
function utcDate(name: string, x: unknown): Date {
  let ns: unknown = x;
  if (Array.isArray(x)) {
    const [value, zone] = x as unknown[];
    if (zone !== undefined && zone !== '' && zone !== 'UTC') throw new BuiltinArgError(name, `time zone ${String(zone)} is not supported`);
    ns = value;
  }
  return new Date(Math.floor(num(name, ns) / 1e6));
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function parseDurationNs(s: unknown): number {
  const text = str('time.parse_duration_ns', s);
  const m = /^([+-])?((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!m && text !== '0') throw new BuiltinArgError('time.parse_duration_ns', `invalid duration ${JSON.stringify(text)}`);
  if (text === '0') return 0;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  }
  return text.startsWith('-') ? -total : total;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function semverCompare(a: unknown, b: unknown): number {
  const x = SEMVER.exec(str('semver.compare', a));
  const y = SEMVER.exec(str('semver.compare', b));
  if (!x || !y) throw new BuiltinArgError('semver.compare', 'not a semantic version');
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return Math.sign(d);
  }
  const pa = x[4];
  const pb = y[4];
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? 1 : -1;
  const ia = pa.split('.');
  const ib = pb.split('.');
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const p = ia[i];
    const q = ib[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const np = /^\d+$/.test(p);
    const nq = /^\d+$/.test(q);
    if (np && nq) {
      const d = Number(p) - Number(q);
      if (d !== 0) return Math.sign(d);
    } else if (np !== nq) return np ? -1 : 1;
    else if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

export const compatBuiltins = {
  'crypto.sha256': digest('sha256'),
  'crypto.sha1': digest('sha1'),
  'crypto.md5': digest('md5'),
  'crypto.hmac.sha256': hmac('sha256'),
  'crypto.hmac.sha1': hmac('sha1'),
  'crypto.hmac.sha512': hmac('sha512'),
  'crypto.hmac.md5': hmac('md5'),
  'crypto.hmac.equal': (a: unknown, b: unknown) => {
    const x = Buffer.from(str('crypto.hmac.equal', a));
    const y = Buffer.from(str('crypto.hmac.equal', b));
    return x.length === y.length && timingSafeEqual(x, y);
  },
  'hex.encode': (s: unknown) => Buffer.from(str('hex.encode', s), 'utf8').toString('hex'),
  'hex.decode': (s: unknown) => {
    const text = str('hex.decode', s);
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new BuiltinArgError('hex.decode', 'invalid hex');
    return Buffer.from(text, 'hex').toString('utf8');
  },
  'time.date': (x: unknown) => {
    const d = utcDate('time.date', x);
    return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
  },
  'time.clock': (x: unknown) => {
    const d = utcDate('time.clock', x);
    return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  },
  'time.weekday': (x: unknown) => WEEKDAYS[utcDate('time.weekday', x).getUTCDay()],
  'time.add_date': (ns: unknown, y: unknown, m: unknown, d: unknown) => {
    const n = num('time.add_date', ns);
    const date = new Date(Math.floor(n / 1e6));
    date.setUTCFullYear(date.getUTCFullYear() + int('time.add_date', y), date.getUTCMonth() + int('time.add_date', m), date.getUTCDate() + int('time.add_date', d));
    return date.getTime() * 1e6 + (n % 1e6);
  },
  'time.parse_duration_ns': parseDurationNs,
  'net.cidr_is_valid': (s: unknown) => {
    if (typeof s !== 'string') return false;
    const m = /^(.+)\/(\d{1,3})$/.exec(s);
    if (!m) return false;
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(m[1]!);
    if (v4) return v4.slice(1).every((p) => Number(p) <= 255) && Number(m[2]) <= 32;
    return m[1]!.includes(':') && /^[0-9a-fA-F:.]+$/.test(m[1]!) && Number(m[2]) <= 128;
  },
  'strings.count': (s: unknown, sub: unknown) => {
    const text = str('strings.count', s);
    const needle = str('strings.count', sub);
    if (needle === '') return Array.from(text).length + 1;
    return text.split(needle).length - 1;
  },
  'regex.replace': (s: unknown, pattern: unknown, value: unknown) => {
    const re = compiledRegex(str('regex.replace', pattern));
    // Go's $1 / ${name} expansion matches JS's replacement syntax for the common forms.
    return str('regex.replace', s).replace(new RegExp(re.source, `${re.flags}g`), str('regex.replace', value));
  },
  'regex.find_n': (pattern: unknown, s: unknown, n: unknown) => {
    const re = compiledRegex(str('regex.find_n', pattern));
    const limit = int('regex.find_n', n);
    const found = [...str('regex.find_n', s).matchAll(new RegExp(re.source, `${re.flags}g`))].map((m) => m[0]);
    return limit < 0 ? found : found.slice(0, limit);
  },
  'semver.is_valid': (v: unknown) => typeof v === 'string' && SEMVER.test(v),
  'semver.compare': semverCompare,
  'uuid.rfc4122': (_seed: unknown) => randomUUID(),
  'object.keys': (o: unknown) => Object.keys(obj('object.keys', o)),
  'array.reverse': (a: unknown) => [...list('array.reverse', a)].reverse(),
};
