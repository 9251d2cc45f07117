// regex.match with RE2 syntax on JavaScript's engine. The rule: a pattern is accepted only when JS reads it
// the way RE2 does. Refused (the builtin errors, so the expression is undefined):
//   - lookarounds (?= (?! (?<= (?<!  and backreferences \1..\9, \k<name>: RE2 has none, JS would honour them;
//   - inline flags anywhere but the very start, and flags other than i, m, s (JS has no scoped flags);
//   - \Q...\E, \C, \z/\A are translated or refused: \A -> ^ and \z -> $ only when no `m` flag is set.
// Translated: a leading (?flags) becomes JS flags, (?P<name> becomes (?<name>, \pL becomes \p{L},
// \x{...} becomes \u{...}, an escaped punctuation character becomes itself (JS's u flag refuses most),
// \s and \S become RE2's ASCII classes ([\t\n\f\r ]: JS's \s also matches \v and Unicode spaces).
// Patterns run with the `u` flag so `.` and classes see code points, as RE2 does on UTF-8.
import { BuiltinArgError, str } from './args.js';

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

function refuse(pattern: string, why: string): never {
  throw new BuiltinArgError('regex.match', `pattern ${JSON.stringify(pattern)} ${why}`);
}

export function translateRe2(pattern: string): RegExp {
  let src = pattern;
  let flags = 'u';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    const f = lead[1]!;
    if (f.includes('U')) refuse(pattern, 'uses the U (ungreedy) flag, which JavaScript lacks');
    for (const ch of new Set(f)) flags += ch;
    src = src.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) refuse(pattern, 'ends with a backslash');
      if (/[1-9]/.test(n) && !inClass) refuse(pattern, 'uses a backreference, which RE2 does not support');
      if (n === 'k' && !inClass) refuse(pattern, 'uses a named backreference, which RE2 does not support');
      if (n === 'Q' || n === 'C') refuse(pattern, `uses \\${n}, which JavaScript reads differently`);
      if ((n === 'A' || n === 'z') && !inClass) {
        if (flags.includes('m')) refuse(pattern, `uses \\${n} with the m flag`);
        out += n === 'A' ? '^' : '$';
        i++;
        continue;
      }
      if (/[!-/:-@[-`{-~]/.test(n) && !'^$\\.*+?()[]{}|/'.includes(n) && !(inClass && n === '-')) {
        // RE2 lets any punctuation be escaped; with the u flag JS only accepts syntax characters.
        out += n;
        i++;
        continue;
      }
      if (n === 's' || n === 'S') {
        // RE2's \s is ASCII [\t\n\f\r ]; JS's also takes \v and Unicode spaces.
        if (inClass) out += n === 's' ? '\\t\\n\\f\\r ' : refuse(pattern, 'uses \\S inside a class');
        else out += n === 's' ? '[\\t\\n\\f\\r ]' : '[^\\t\\n\\f\\r ]';
        i++;
        continue;
      }
      if (n === 'x' && src[i + 2] === '{') {
        out += '\\u{';
        i += 2;
        continue;
      }
      if ((n === 'p' || n === 'P') && src[i + 2] !== '{') {
        const cls = src[i + 2];
        if (cls === undefined) refuse(pattern, 'ends inside \\p');
        out += `\\${n}{${cls}}`;
        i += 2;
        continue;
      }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      if (c === '[' && src[i + 1] === ':') {
        refuse(pattern, 'uses a POSIX class [:name:], which JavaScript lacks');
      }
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (/^(=|!|<=|<!)/.test(rest)) refuse(pattern, 'uses a lookaround, which RE2 does not support');
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (rest.startsWith(':') || (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!'))) {
        out += c;
        continue;
      }
      refuse(pattern, 'uses inline flags after the start, which JavaScript lacks');
    }
    out += c;
  }
  try {
    return new RegExp(out, flags);
  } catch (err) {
    return refuse(pattern, `is not a valid expression: ${(err as Error).message}`);
  }
}

export function compiledRegex(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = translateRe2(pattern);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, re);
  }
  return re;
}

export function regexMatch(pattern: unknown, value: unknown): boolean {
  return compiledRegex(str('regex.match', pattern)).test(str('regex.match', value));
}
