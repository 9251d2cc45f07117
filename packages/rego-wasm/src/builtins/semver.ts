// semver.is_valid and semver.compare.
import { BuiltinArgError, str } from './args.js';
import { INT64_MAX, INT64_MIN } from './exact.js';

/**
 * Semantic Versioning 2.0.0, as OPA checks it: no leading zeros in numeric identifiers (major, minor, patch,
 * numeric pre-release parts), no empty pre-release or build, each part within int64.
 */
interface SemVer {
  parts: [bigint, bigint, bigint];
  preRelease: string;
}

const PRE_RELEASE = /^(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*$/;
const BUILD = /^[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*$/;
const NUMERIC = /^(?:0|[1-9]\d*)$/;
const INT64_TEXT = /^[+-]?\d+$/;

function splitOff(text: string, delim: string): [rest: string, after: string | undefined] {
  const i = text.indexOf(delim);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
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
  if (preRelease !== undefined && !PRE_RELEASE.test(preRelease)) return undefined;
  if (metadata !== undefined && !BUILD.test(metadata)) return undefined;
  const core = version.split('.');
  if (core.length !== 3 || !core.every((p) => NUMERIC.test(p))) return undefined;
  const parts = core.map(parseInt64);
  if (parts.some((x) => x === undefined)) return undefined;
  return { parts: parts as [bigint, bigint, bigint], preRelease: preRelease ?? '' };
}

function cmp<T extends bigint | string>(a: T, b: T): number {
  return a > b ? 1 : a < b ? -1 : 0;
}

function preReleaseCompare(a: string[], b: string[]): number {
  for (let i = 0; ; i++) {
    if (i >= a.length) return i >= b.length ? 0 : -1;
    if (i >= b.length) return 1;
    const x = /^\d+$/.test(a[i]!) ? BigInt(a[i]!) : undefined;
    const y = /^\d+$/.test(b[i]!) ? BigInt(b[i]!) : undefined;
    // Numeric identifiers sort before alphanumeric ones, and compare as numbers.
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
  if (x.preRelease === '' || y.preRelease === '')
    return x.preRelease === y.preRelease ? 0 : x.preRelease === '' ? 1 : -1;
  return preReleaseCompare(x.preRelease.split('.'), y.preRelease.split('.'));
}

export const semverBuiltins = {
  'semver.is_valid': (v: unknown) => typeof v === 'string' && parseSemver(v) !== undefined,
  'semver.compare': semverCompare,
};
