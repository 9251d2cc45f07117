// String builtins. Rego strings are sequences of code points: counts and indexes are in code points,
// never UTF-16 units.
import { exactInt, int64Operand, INT64_MAX } from './exact.js';
import { BuiltinArgError, list, NotReproducedError, obj, str, strings } from './args.js';

const codePoints = (s: string): string[] => Array.from(s);

/** Go's strings.Trim family: remove code points found in cutset. */
function trimWith(s: string, cutset: string, left: boolean, right: boolean): string {
  const cut = new Set(codePoints(cutset));
  const cps = codePoints(s);
  let start = 0;
  let end = cps.length;
  if (left) while (start < end && cut.has(cps[start]!)) start++;
  if (right) while (end > start && cut.has(cps[end - 1]!)) end--;
  return cps.slice(start, end).join('');
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
  if (pairs.some(([from]) => from === ''))
    throw new BuiltinArgError('strings.replace_n', 'an empty pattern is not supported');
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

/**
 * Go's strings.ToLower: each code point by its simple mapping. JavaScript's full mapping differs in two
 * places: U+0130 becomes i + U+0307 (Go: i), and a capital sigma ending a word becomes ς (Go: always σ).
 */
function goLower(s: string): string {
  return s
    .replace(/\u0130/g, 'i')
    .replace(/\u03a3/g, '\u03c3')
    .toLowerCase();
}

/**
 * Go's simple uppercase mapping where JavaScript's full mapping gives several code points: the Greek letters
 * with ypogegrammeni map to their title-case forms; every other such letter (ß, ŉ, ligatures...) has no
 * simple mapping and stays as it is in Go.
 */
function simpleUpper(c: string): string {
  const cp = c.codePointAt(0)!;
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7)) {
    return String.fromCodePoint(cp + 8);
  }
  if (cp === 0x1fb3 || cp === 0x1fc3 || cp === 0x1ff3) return String.fromCodePoint(cp + 9);
  return c;
}

/** Go's strings.ToUpper: each code point by its simple mapping ("ß" stays "ß"; JavaScript writes "SS"). */
function goUpper(s: string): string {
  return s.replace(/[a-z]+|[^\u0000-\u007f]/gu, (c) => {
    const upper = c.toUpperCase();
    return c.charCodeAt(0) < 0x80 || [...upper].length === 1 ? upper : simpleUpper(c);
  });
}

export const stringBuiltins = {
  indexof_n: (s: unknown, sub: unknown) => {
    const text = codePoints(str('indexof_n', s));
    const needle = codePoints(str('indexof_n', sub));
    if (needle.length === 0) throw new BuiltinArgError('indexof_n', 'empty search character');
    const found: number[] = [];
    for (let i = 0; i + needle.length <= text.length; i++) {
      if (needle.every((c, j) => text[i + j] === c)) found.push(i);
    }
    return found;
  },
  'strings.replace_n': replaceN,
  'strings.count': (s: unknown, sub: unknown) => {
    const text = str('strings.count', s);
    const needle = str('strings.count', sub);
    if (needle === '') return Array.from(text).length + 1;
    return text.split(needle).length - 1;
  },
  lower: (s: unknown) => goLower(str('lower', s)),
  upper: (s: unknown) => goUpper(str('upper', s)),
  startswith: (s: unknown, p: unknown) => str('startswith', s).startsWith(str('startswith', p)),
  endswith: (s: unknown, p: unknown) => str('endswith', s).endsWith(str('endswith', p)),
  contains: (s: unknown, p: unknown) => str('contains', s).includes(str('contains', p)),
  concat: (d: unknown, xs: unknown) => strings('concat', xs).join(str('concat', d)),
  split: (s: unknown, d: unknown) => {
    const text = str('split', s);
    const delim = str('split', d);
    // Go splits an empty delimiter into code points (JS would split UTF-16 units).
    return delim === '' ? codePoints(text) : text.split(delim);
  },
  trim: (s: unknown, c: unknown) => trimWith(str('trim', s), str('trim', c), true, true),
  trim_left: (s: unknown, c: unknown) => trimWith(str('trim_left', s), str('trim_left', c), true, false),
  trim_right: (s: unknown, c: unknown) => trimWith(str('trim_right', s), str('trim_right', c), false, true),
  trim_prefix: (s: unknown, p: unknown) => {
    const text = str('trim_prefix', s);
    const prefix = str('trim_prefix', p);
    return text.startsWith(prefix) ? text.slice(prefix.length) : text;
  },
  trim_suffix: (s: unknown, p: unknown) => {
    const text = str('trim_suffix', s);
    const suffix = str('trim_suffix', p);
    return suffix !== '' && text.endsWith(suffix) ? text.slice(0, text.length - suffix.length) : text;
  },
  // Go's unicode.IsSpace set, which (unlike JS's trim) excludes U+FEFF.
  trim_space: (s: unknown) =>
    str('trim_space', s).replace(
      /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/gu,
      '',
    ),
  replace: (s: unknown, o: unknown, n: unknown) => {
    const text = str('replace', s);
    const old = str('replace', o);
    const neu = str('replace', n);
    if (old === '') return neu + codePoints(text).join(neu) + (text === '' ? '' : neu);
    return text.split(old).join(neu);
  },
  substring: (s: unknown, st: unknown, ln: unknown) => {
    const text = str('substring', s);
    // OPA's IntOperands: int64 values, exact here beyond 2^53 too.
    const start = int64Operand('substring', st);
    const length = int64Operand('substring', ln);
    if (start < 0n) throw new BuiltinArgError('substring', 'negative offset');
    const cps = codePoints(text);
    const count = BigInt(cps.length);
    if (start >= count) return '';
    if (length < 0n) return cps.slice(Number(start)).join('');
    if (start === 0n && length >= count) return text;
    // OPA computes start + length in int64: past its end the sum wraps and Go's slice panics.
    if (start + length > INT64_MAX) throw new NotReproducedError('substring', 'offset + length overflows int64 in OPA');
    const end = start + length < count ? start + length : count;
    return cps.slice(Number(start), Number(end)).join('');
  },
  indexof: (s: unknown, sub: unknown) => {
    const text = str('indexof', s);
    const needle = str('indexof', sub);
    if (needle === '') return -1;
    const at = text.indexOf(needle);
    return at < 0 ? -1 : codePoints(text.slice(0, at)).length;
  },
  to_number: (x: unknown) => {
    if (x === null) return 0;
    if (typeof x === 'boolean') return x ? 1 : 0;
    if (typeof x === 'number' || typeof x === 'bigint') return x;
    const text = str('to_number', x);
    // strconv.ParseFloat's decimal syntax; hex floats, Inf and NaN are refused as OPA does.
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
      throw new BuiltinArgError('to_number', `invalid number ${JSON.stringify(text)}`);
    }
    const value = Number(text);
    if (!Number.isFinite(value)) throw new BuiltinArgError('to_number', `out of range ${text}`);
    // OPA keeps the text, so integers stay exact at any size.
    if (/^[+-]?\d+$/.test(text)) return exactInt(BigInt(text));
    return value;
  },
  'strings.reverse': (s: unknown) => codePoints(str('strings.reverse', s)).reverse().join(''),
  'strings.any_prefix_match': (s: unknown, p: unknown) =>
    anyMatch('strings.any_prefix_match', s, p, (a, b) => a.startsWith(b)),
  'strings.any_suffix_match': (s: unknown, p: unknown) =>
    anyMatch('strings.any_suffix_match', s, p, (a, b) => a.endsWith(b)),
};

function anyMatch(name: string, s: unknown, p: unknown, test: (a: string, b: string) => boolean): boolean {
  const texts = typeof s === 'string' ? [s] : strings(name, list(name, s));
  const pats = typeof p === 'string' ? [p] : strings(name, list(name, p));
  return texts.some((t) => pats.some((q) => test(t, q)));
}
