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

type Json = unknown;

/** RFC 6901 path segments from a JSON pointer string or an array of segments (OPA accepts both). */
function pointerSegments(path: unknown): string[] {
  if (Array.isArray(path)) return path.map((p) => String(p));
  const text = str('json.patch', path);
  if (text === '') return [];
  if (!text.startsWith('/')) throw new BuiltinArgError('json.patch', `invalid path ${JSON.stringify(text)}`);
  return text.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function clone(v: Json): Json {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as Json);
}

function getAt(doc: Json, path: string[]): Json {
  let cur: Json = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (typeof cur === 'object' && cur !== null) cur = (cur as Record<string, Json>)[seg];
    else return undefined;
  }
  return cur;
}

/** Applies one change at path; returns the new document (the root may be replaced). */
function changeAt(doc: Json, path: string[], change: (parent: Json, key: string) => void): Json {
  if (path.length === 0) throw new BuiltinArgError('json.patch', 'the root cannot be the target of this operation');
  const parent = getAt(doc, path.slice(0, -1));
  if (typeof parent !== 'object' || parent === null) throw new BuiltinArgError('json.patch', `no parent for /${path.join('/')}`);
  change(parent, path[path.length - 1]!);
  return doc;
}

function addAt(doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value;
  return changeAt(doc, path, (parent, key) => {
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new BuiltinArgError('json.patch', `bad index ${key}`);
      parent.splice(i, 0, value);
    } else (parent as Record<string, Json>)[key] = value;
  });
}

function removeAt(doc: Json, path: string[]): Json {
  return changeAt(doc, path, (parent, key) => {
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new BuiltinArgError('json.patch', `bad index ${key}`);
      parent.splice(i, 1);
    } else {
      if (!(key in (parent as object))) throw new BuiltinArgError('json.patch', `no member ${key}`);
      delete (parent as Record<string, Json>)[key];
    }
  });
}

/** json.patch(object, patches): RFC 6902 add, remove, replace, move, copy, test. */
function jsonPatch(target: unknown, patches: unknown): Json {
  let doc = clone(target);
  for (const raw of list('json.patch', patches)) {
    const p = obj('json.patch', raw);
    const path = pointerSegments(p.path);
    switch (p.op) {
      case 'add':
        doc = addAt(doc, path, clone(p.value));
        break;
      case 'remove':
        doc = removeAt(doc, path);
        break;
      case 'replace':
        if (getAt(doc, path) === undefined) throw new BuiltinArgError('json.patch', 'replace of a missing member');
        doc = path.length === 0 ? clone(p.value) : addAt(removeAt(doc, path), path, clone(p.value));
        break;
      case 'move':
      case 'copy': {
        const from = pointerSegments(p.from);
        const value = clone(getAt(doc, from));
        if (value === undefined) throw new BuiltinArgError('json.patch', `${String(p.op)} from a missing member`);
        if (p.op === 'move') doc = removeAt(doc, from);
        doc = addAt(doc, path, value);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(p.value)) throw new BuiltinArgError('json.patch', 'test failed');
        break;
      default:
        throw new BuiltinArgError('json.patch', `unknown op ${String(p.op)}`);
    }
  }
  return doc;
}

const SI_UNITS: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export const compatBuiltins = {
  'json.patch': jsonPatch,
  'units.parse': (s: unknown) => {
    const m = /^([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(str('units.parse', s).replace(/"/g, ''));
    const unit = m ? SI_UNITS[m[2]!] ?? SI_UNITS[m[2]!.toUpperCase()] : undefined;
    if (!m || unit === undefined) throw new BuiltinArgError('units.parse', `could not parse ${JSON.stringify(s)}`);
    return Number(m[1]) * unit;
  },
  'numbers.range': (a: unknown, b: unknown) => {
    const from = int('numbers.range', a);
    const to = int('numbers.range', b);
    const step = from <= to ? 1 : -1;
    return Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => from + i * step);
  },
  'strings.replace_n': (patterns: unknown, s: unknown) => {
    let text = str('strings.replace_n', s);
    const pairs = Object.entries(obj('strings.replace_n', patterns)).map(([k, v]) => [k, str('strings.replace_n', v)] as const);
    // Go's strings.NewReplacer: one left-to-right pass, earlier pattern wins at a position.
    let out = '';
    let i = 0;
    outer: while (i < text.length) {
      for (const [from, to] of pairs) {
        if (from !== '' && text.startsWith(from, i)) {
          out += to;
          i += from.length;
          continue outer;
        }
      }
      out += text[i];
      i++;
    }
    text = out;
    return text;
  },
  'uuid.parse': (s: unknown) => {
    const text = str('uuid.parse', s).toLowerCase();
    const m = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/.exec(text);
    if (!m) throw new BuiltinArgError('uuid.parse', `not a UUID: ${JSON.stringify(s)}`);
    const hex = m.slice(1).join('');
    const version = parseInt(hex[12]!, 16);
    const variantBits = parseInt(hex[16]!, 16);
    const variant = (variantBits & 0x8) === 0 ? 'Reserved, NCS backward compatibility' : (variantBits & 0xc) === 0x8 ? 'RFC4122' : (variantBits & 0xe) === 0xc ? 'Reserved, Microsoft backward compatibility' : 'Reserved, future definition';
    return { version, variant };
  },
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
