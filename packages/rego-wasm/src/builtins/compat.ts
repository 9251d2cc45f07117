// OPA builtins outside the compiler's BUILTINS list that the SDK lacks, so that bundles built by
// `opa build -t wasm` which call them still run under Portcullis (their modules list them in builtins()).
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { BuiltinArgError, int, list, obj, str } from './args.js';
import { compiledRegex } from './regex.js';
import { cidrIsValid } from './net.js';
import { bigIntArg, exactInt } from './exact.js';

/** numbers.range refuses ranges whose array would not fit the policy's memory anyway. */
const MAX_RANGE = 10_000_000n;

const digest = (alg: string) => (s: unknown) => createHash(alg).update(str(`crypto.${alg}`, s), 'utf8').digest('hex');
const hmac = (alg: string) => (s: unknown, key: unknown) =>
  createHmac(alg, str(`crypto.hmac.${alg}`, key)).update(str(`crypto.hmac.${alg}`, s), 'utf8').digest('hex');

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const NS_PER_MS = 1_000_000n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * time.* take ns since the epoch (an integer that fits int64, as OPA requires), or [ns, timezone]. The zone
 * is UTC when empty or absent, `Local` is the process's zone (TZ), anything else an IANA name; an unknown zone
 * is an error (undefined), never a guess.
 */
function zonedNs(name: string, x: unknown): { ns: bigint; zone: string } {
  let value: unknown = x;
  let zone = 'UTC';
  if (Array.isArray(x)) {
    if (x.length === 0 || x.length > 2) throw new BuiltinArgError(name, 'expected ns or [ns, timezone]');
    if (x.length === 2) {
      if (typeof x[1] !== 'string') throw new BuiltinArgError(name, 'timezone must be a string');
      if (x[1] !== '') zone = x[1];
    }
    value = x[0];
  }
  const ns = bigIntArg(name, value);
  if (ns < INT64_MIN || ns > INT64_MAX) throw new BuiltinArgError(name, 'timestamp too big');
  return { ns, zone };
}

function utcNs(name: string, x: unknown): bigint {
  const { ns, zone } = zonedNs(name, x);
  if (zone !== 'UTC') throw new BuiltinArgError(name, `time zone ${zone} is not supported`);
  return ns;
}

interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: string;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone (building one is costly); ICU's zone database stands in for Go's. */
function zoneFormat(name: string, zone: string): Intl.DateTimeFormat {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    const timeZone = zone === 'Local' ? new Intl.DateTimeFormat().resolvedOptions().timeZone : zone;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', era: 'short', year: 'numeric', month: 'numeric', day: 'numeric',
        hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'long',
      });
    } catch {
      throw new BuiltinArgError(name, `unknown time zone ${JSON.stringify(zone)}`);
    }
    zoneFormats.set(zone, format);
  }
  return format;
}

/** The wall-clock date and time of an instant in the argument's zone. */
function civilTime(name: string, x: unknown): CivilTime {
  const { ns, zone } = zonedNs(name, x);
  const date = new Date(msOf(ns));
  if (zone === 'UTC') {
    return {
      year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(),
      hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds(),
      weekday: WEEKDAYS[date.getUTCDay()] ?? '',
    };
  }
  const parts = Object.fromEntries(zoneFormat(name, zone).formatToParts(date).map((p) => [p.type, p.value]));
  const yearOfEra = Number(parts['year']);
  return {
    // Go counts years astronomically (1 BC is year 0).
    year: parts['era'] === 'BC' ? 1 - yearOfEra : yearOfEra,
    month: Number(parts['month']), day: Number(parts['day']),
    hour: Number(parts['hour']), minute: Number(parts['minute']), second: Number(parts['second']),
    weekday: parts['weekday'] ?? '',
  };
}

/** Floor division: the millisecond that contains ns (also before 1970). */
function msOf(ns: bigint): number {
  const q = ns / NS_PER_MS;
  return Number(ns % NS_PER_MS < 0n ? q - 1n : q);
}

function addDate(x: unknown, y: unknown, m: unknown, d: unknown): bigint | number {
  const ns = utcNs('time.add_date', x);
  const date = new Date(msOf(ns));
  date.setUTCFullYear(
    date.getUTCFullYear() + int('time.add_date', y),
    date.getUTCMonth() + int('time.add_date', m),
    date.getUTCDate() + int('time.add_date', d),
  );
  const subMs = ns - BigInt(msOf(ns)) * NS_PER_MS;
  const result = BigInt(date.getTime()) * NS_PER_MS + subMs;
  // Go's UnixNano is undefined outside int64: an error here, not a wrapped value.
  if (result < INT64_MIN || result > INT64_MAX) throw new BuiltinArgError('time.add_date', 'result outside the int64 nanosecond range');
  return exactInt(result);
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n, us: 1_000n, '\u00b5s': 1_000n, '\u03bcs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};

/**
 * A component's fraction as Go's time.ParseDuration computes it: digits accumulate while they fit int64,
 * then int64(float64(f) * (float64(unit) / scale)) in IEEE doubles (the same operations JS performs).
 */
function fractionNs(digits: string, unit: bigint): bigint {
  let f = 0n;
  let scale = 1;
  for (const ch of digits) {
    if (f > INT64_MAX / 10n) break;
    const next = f * 10n + BigInt(ch);
    if (next > INT64_MAX) break;
    f = next;
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
}

/** Go's time.ParseDuration: int64 nanoseconds, exact integer parts, fractions as Go computes them. */
function parseDurationNs(s: unknown): bigint | number {
  let text = str('time.parse_duration_ns', s);
  const negative = text.startsWith('-');
  if (text.startsWith('-') || text.startsWith('+')) text = text.slice(1);
  if (text === '0') return 0;
  if (!/^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.test(text)) {
    throw new BuiltinArgError('time.parse_duration_ns', `invalid duration ${JSON.stringify(s)}`);
  }
  let total = 0n;
  for (const part of text.matchAll(/(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) {
    const unit = DURATION_UNITS[part[3]!]!;
    total += BigInt(part[1] || '0') * unit + fractionNs(part[2] ?? '', unit);
    if (total > INT64_MAX + (negative ? 1n : 0n)) throw new BuiltinArgError('time.parse_duration_ns', `invalid duration ${JSON.stringify(s)}`);
  }
  return exactInt(negative ? -total : total);
}

/** OPA's semver (a vendored coreos/go-semver): lenient, e.g. leading zeros and an empty pre-release pass. */
interface SemVer {
  parts: [bigint, bigint, bigint];
  preRelease: string;
}

const SEMVER_IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;
const INT64_TEXT = /^[+-]?\d+$/;

function splitOff(text: string, delim: string): [rest: string, after: string] {
  const i = text.indexOf(delim);
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

/** Go's strconv.ParseInt(s, 10, 64). */
function parseInt64(text: string): bigint | undefined {
  if (!INT64_TEXT.test(text)) return undefined;
  const v = BigInt(text);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

function parseSemver(text: string): SemVer | undefined {
  const [beforeMeta, metadata] = splitOff(text, '+');
  const [version, preRelease] = splitOff(beforeMeta, '-');
  // strings.SplitN(version, ".", 3): a fourth part stays inside the third and fails to parse.
  const first = version.indexOf('.');
  const second = first < 0 ? -1 : version.indexOf('.', first + 1);
  if (second < 0) return undefined;
  if (preRelease !== '' && !SEMVER_IDENTIFIER.test(preRelease)) return undefined;
  if (metadata !== '' && !SEMVER_IDENTIFIER.test(metadata)) return undefined;
  const parts = [version.slice(0, first), version.slice(first + 1, second), version.slice(second + 1)].map(parseInt64);
  if (parts.some((x) => x === undefined)) return undefined;
  return { parts: parts as [bigint, bigint, bigint], preRelease };
}

function cmp<T extends bigint | string>(a: T, b: T): number {
  return a > b ? 1 : a < b ? -1 : 0;
}

function preReleaseCompare(a: string[], b: string[]): number {
  for (let i = 0; ; i++) {
    if (i >= a.length) return i >= b.length ? 0 : -1;
    if (i >= b.length) return 1;
    const x = parseInt64(a[i]!);
    const y = parseInt64(b[i]!);
    // Numeric identifiers sort before alphanumeric ones; equal numbers still compare as text ("01" < "1").
    if (x !== undefined && y === undefined) return -1;
    if (x === undefined && y !== undefined) return 1;
    if (x !== undefined && y !== undefined && x !== y) return cmp(x, y);
    const c = cmp(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
}

function semverCompare(a: unknown, b: unknown): number {
  const x = parseSemver(str('semver.compare', a));
  const y = parseSemver(str('semver.compare', b));
  if (!x || !y) throw new BuiltinArgError('semver.compare', 'not a semantic version');
  for (let i = 0; i < 3; i++) {
    const c = cmp(x.parts[i]!, y.parts[i]!);
    if (c !== 0) return c;
  }
  if (x.preRelease === '' || y.preRelease === '') return x.preRelease === y.preRelease ? 0 : x.preRelease === '' ? 1 : -1;
  return preReleaseCompare(x.preRelease.split('.'), y.preRelease.split('.'));
}

/** Go's byte-wise string order (UTF-8), which differs from JS's UTF-16 order above U+FFFF. */
function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Go's strings.NewReplacer(pairs...).Replace: one left-to-right pass, the earliest pair wins at a position. */
function replaceN(patterns: unknown, s: unknown): string {
  const text = str('strings.replace_n', s);
  const pairs = Object.entries(obj('strings.replace_n', patterns))
    .map(([k, v]) => [k, str('strings.replace_n', v)] as const)
    .sort(([x], [y]) => utf8Compare(x, y));
  // Go's replacer treats an empty pattern specially (it matches between all characters); refuse it.
  if (pairs.some(([from]) => from === '')) throw new BuiltinArgError('strings.replace_n', 'an empty pattern is not supported');
  let out = '';
  let i = 0;
  outer: while (i < text.length) {
    for (const [from, to] of pairs) {
      if (text.startsWith(from, i)) {
        out += to;
        i += from.length;
        continue outer;
      }
    }
    out += text[i];
    i++;
  }
  return out;
}

/** Matches of re in text as Go's FindAll reports them: an empty match right after a match is skipped. */
function goMatches(re: RegExp, text: string): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  let prevEnd = -1;
  for (const m of text.matchAll(new RegExp(re.source, `${re.flags}g`))) {
    const end = m.index + m[0].length;
    if (!(m[0] === '' && m.index === prevEnd)) out.push(m as RegExpExecArray);
    prevEnd = end;
  }
  return out;
}

/**
 * Capture groups nested inside a quantified group, by number and by name. JS resets them on every
 * iteration (so /(?:(a)|b)+/ on "ab" leaves group 1 unset) where Go keeps the last value it captured.
 */
function groupsInsideRepetition(source: string): { numbers: Set<number>; names: Set<string> } {
  const numbers = new Set<number>();
  const nameOf = new Map<number, string>();
  // For each open parenthesis: the number of groups opened before it, and its own number (0 if none).
  const open: { before: number; self: number }[] = [];
  let count = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      i++;
    } else if (ch === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
    } else if (ch === '(') {
      const named = /^\?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(source.slice(i + 1));
      const capturing = source[i + 1] !== '?' || named !== null;
      open.push({ before: count, self: capturing ? count + 1 : 0 });
      if (capturing) count++;
      if (named) nameOf.set(count, named[1]!);
    } else if (ch === ')') {
      const group = open.pop();
      if (group && '*+?{'.includes(source[i + 1] ?? '')) {
        for (let g = group.before + 1; g <= count; g++) if (g !== group.self) numbers.add(g);
      }
    }
  }
  const names = new Set([...numbers].flatMap((g) => nameOf.get(g) ?? []));
  return { numbers, names };
}

/** Go's Regexp.Expand template: $1, ${1}, $name, ${name}, $$; an unknown name or group expands to "". */
function expandTemplate(template: string, m: RegExpExecArray, repeated: { numbers: Set<number>; names: Set<string> }): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '$') {
      out += ch;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let next = i;
    if (template[i + 1] === '{') {
      const close = /^\{([A-Za-z0-9_]+)\}/.exec(template.slice(i + 1));
      if (close) {
        name = close[1]!;
        next = i + close[0].length;
      }
    } else {
      const bare = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (bare) {
        name = bare[0];
        next = i + bare[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    i = next;
    const numbered = /^\d+$/.test(name);
    const value = numbered ? (Number(name) < m.length ? m[Number(name)] : '') : m.groups?.[name] ?? (m.groups && name in m.groups ? undefined : '');
    if (value === undefined && (numbered ? repeated.numbers.has(Number(name)) : repeated.names.has(name))) {
      throw new BuiltinArgError('regex.replace', `group ${name} sits inside a repetition, where JavaScript and Go capture differently`);
    }
    out += value ?? '';
  }
  return out;
}

/** Go's Regexp.ReplaceAllString. */
function regexReplace(s: unknown, pattern: unknown, value: unknown): string {
  const text = str('regex.replace', s);
  const re = compiledRegex(str('regex.replace', pattern));
  const template = str('regex.replace', value);
  const repeated = groupsInsideRepetition(re.source);
  let out = '';
  let lastEnd = 0;
  for (const m of text.matchAll(new RegExp(re.source, `${re.flags}g`))) {
    const start = m.index;
    const end = start + m[0].length;
    out += text.slice(lastEnd, start);
    // No replacement for an empty match right after another match (Go's rule).
    if (end > lastEnd || start === 0) out += expandTemplate(template, m as RegExpExecArray, repeated);
    lastEnd = end;
  }
  return out + text.slice(lastEnd);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

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
    const from = bigIntArg('numbers.range', a);
    const to = bigIntArg('numbers.range', b);
    const length = (to >= from ? to - from : from - to) + 1n;
    if (length > MAX_RANGE) throw new BuiltinArgError('numbers.range', `a range of ${length} numbers is too large`);
    const step = from <= to ? 1n : -1n;
    return Array.from({ length: Number(length) }, (_, i) => exactInt(from + BigInt(i) * step));
  },
  'strings.replace_n': replaceN,
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
    // OPA keeps invalid UTF-8 bytes in its string; JS cannot, so such input is an error, not altered text.
    return strictUtf8.decode(Buffer.from(text, 'hex'));
  },
  'time.date': (x: unknown) => {
    const t = civilTime('time.date', x);
    return [t.year, t.month, t.day];
  },
  'time.clock': (x: unknown) => {
    const t = civilTime('time.clock', x);
    return [t.hour, t.minute, t.second];
  },
  'time.weekday': (x: unknown) => civilTime('time.weekday', x).weekday,
  'time.add_date': addDate,
  'time.parse_duration_ns': parseDurationNs,
  'net.cidr_is_valid': cidrIsValid,
  'strings.count': (s: unknown, sub: unknown) => {
    const text = str('strings.count', s);
    const needle = str('strings.count', sub);
    if (needle === '') return Array.from(text).length + 1;
    return text.split(needle).length - 1;
  },
  'regex.replace': regexReplace,
  'regex.find_n': (pattern: unknown, s: unknown, n: unknown) => {
    const re = compiledRegex(str('regex.find_n', pattern));
    const limit = int('regex.find_n', n);
    const found = goMatches(re, str('regex.find_n', s)).map((m) => m[0]);
    return limit < 0 ? found : found.slice(0, limit);
  },
  'semver.is_valid': (v: unknown) => typeof v === 'string' && parseSemver(v) !== undefined,
  'semver.compare': semverCompare,
  'uuid.rfc4122': (_seed: unknown) => randomUUID(),
  'object.keys': (o: unknown) => Object.keys(obj('object.keys', o)),
  'array.reverse': (a: unknown) => [...list('array.reverse', a)].reverse(),
};
