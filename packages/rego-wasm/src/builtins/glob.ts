// glob.match(pattern, delimiters, match) with the gobwas/glob syntax OPA uses: `*` any run of
// non-delimiter characters, `**` any run at all, `?` one non-delimiter character, `[abc]` `[a-z]` `[!a-z]`
// classes, `{a,b}` alternatives (which may nest patterns), `\` escapes. delimiters `[]` means `["."]`;
// null means no delimiters. Patterns compile to anchored RegExps, cached by (pattern, delimiters).
import { array, BuiltinArgError, str } from './args.js';

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

const escapeRe = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

function compileGlob(pattern: string, delimiters: string[]): RegExp {
  const cps = Array.from(pattern);
  const notDelim = delimiters.length === 0 ? '[^]' : `[^${delimiters.map(escapeRe).join('')}]`;
  let i = 0;
  let depth = 0;
  const fail = (why: string): never => {
    throw new BuiltinArgError('glob.match', `invalid pattern ${JSON.stringify(pattern)}: ${why}`);
  };
  let out = '';
  while (i < cps.length) {
    const c = cps[i]!;
    if (c === '\\') {
      if (i + 1 >= cps.length) fail('trailing backslash');
      out += escapeRe(cps[i + 1]!);
      i += 2;
    } else if (c === '*') {
      if (cps[i + 1] === '*') {
        out += '[^]*';
        i += 2;
      } else {
        out += `${notDelim}*`;
        i++;
      }
    } else if (c === '?') {
      out += notDelim;
      i++;
    } else if (c === '[') {
      const close = cps.indexOf(']', i + 1);
      if (close < 0) fail('unclosed [');
      let body = cps.slice(i + 1, close);
      const negate = body[0] === '!';
      if (negate) body = body.slice(1);
      if (body.length === 0) fail('empty class');
      let cls = '';
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          cls += `${escapeRe(body[k]!)}-${escapeRe(body[k + 2]!)}`;
          k += 2;
        } else cls += escapeRe(body[k]!);
      }
      out += negate ? `[^${cls}]` : `[${cls}]`;
      i = close + 1;
    } else if (c === '{') {
      out += '(?:';
      depth++;
      i++;
    } else if (c === '}' && depth > 0) {
      out += ')';
      depth--;
      i++;
    } else if (c === ',' && depth > 0) {
      out += '|';
      i++;
    } else {
      out += escapeRe(c);
      i++;
    }
  }
  if (depth > 0) fail('unclosed {');
  return new RegExp(`^(?:${out})$`, 'u');
}

export function globMatch(pattern: unknown, delimiters: unknown, match: unknown): boolean {
  const pat = str('glob.match', pattern);
  const text = str('glob.match', match);
  let delims: string[];
  if (delimiters === null) delims = [];
  else {
    delims = array('glob.match', delimiters).map((d) => str('glob.match', d));
    if (delims.length === 0) delims = ['.'];
  }
  const key = `${JSON.stringify(delims)}\u0000${pat}`;
  let re = cache.get(key);
  if (!re) {
    re = compileGlob(pat, delims);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, re);
  }
  return re.test(text);
}

/** gobwas/glob's QuoteMeta: a backslash before each of * ? \\ [ ] { }. */
function quoteMeta(s: unknown): string {
  return str('glob.quote_meta', s).replace(/[*?\\[\]{}]/g, '\\$&');
}

export const globBuiltins = {
  'glob.match': globMatch,
  'glob.quote_meta': quoteMeta,
};
