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
import { int64Operand } from './exact.js';

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

/** A pattern this module will not run: `invalid` when RE2 rejects it too, `unsupported` when only JavaScript differs. */
export class PatternError extends BuiltinArgError {
  constructor(
    pattern: string,
    why: string,
    readonly kind: 'invalid' | 'unsupported',
  ) {
    super('regex', `pattern ${JSON.stringify(pattern)} ${why}`);
  }
}

function refuse(pattern: string, why: string, kind: 'invalid' | 'unsupported' = 'unsupported'): never {
  throw new PatternError(pattern, why, kind);
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
      if (n === undefined) refuse(pattern, 'ends with a backslash', 'invalid');
      if (/[1-9]/.test(n) && !inClass) refuse(pattern, 'uses a backreference, which RE2 does not support', 'invalid');
      if (n === 'k' && !inClass) refuse(pattern, 'uses a named backreference, which RE2 does not support', 'invalid');
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
      if (/^(=|!|<=|<!)/.test(rest)) refuse(pattern, 'uses a lookaround, which RE2 does not support', 'invalid');
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
    // Errors RE2 makes too (unbalanced groups and classes, a quantifier with nothing to repeat) mark the
    // pattern invalid; any other error may be a JavaScript-only limit, so it stays unsupported.
    const message = (err as Error).message;
    const alsoInvalidInRe2 = /Unterminated group|Unmatched '\)'|Nothing to repeat|Unterminated character class/.test(
      message,
    );
    return refuse(pattern, `is not a valid expression: ${message}`, alsoInvalidInRe2 ? 'invalid' : 'unsupported');
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
function expandTemplate(
  template: string,
  m: RegExpExecArray,
  repeated: { numbers: Set<number>; names: Set<string> },
): string {
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
    const value = numbered
      ? Number(name) < m.length
        ? m[Number(name)]
        : ''
      : (m.groups?.[name] ?? (m.groups && name in m.groups ? undefined : ''));
    if (value === undefined && (numbered ? repeated.numbers.has(Number(name)) : repeated.names.has(name))) {
      throw new BuiltinArgError(
        'regex.replace',
        `group ${name} sits inside a repetition, where JavaScript and Go capture differently`,
      );
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

/** Go's Regexp.Split(s, -1). */
function regexSplit(pattern: unknown, s: unknown): string[] {
  const re = compiledRegex(str('regex.split', pattern));
  const text = str('regex.split', s);
  if (re.source !== '(?:)' && text === '') return [''];
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of goMatches(re, text)) {
    end = m.index;
    if (m.index + m[0].length !== 0) out.push(text.slice(beg, end));
    beg = m.index + m[0].length;
  }
  if (end !== text.length) out.push(text.slice(beg));
  return out;
}

/** Go's FindAllStringSubmatch: every match with its groups, an unmatched group as "". */
function findAllSubmatch(pattern: unknown, s: unknown, n: unknown): string[][] {
  const re = compiledRegex(str('regex.find_all_string_submatch_n', pattern));
  const limit = int64Operand('regex.find_all_string_submatch_n', n);
  const repeated = groupsInsideRepetition(re.source);
  const found = goMatches(re, str('regex.find_all_string_submatch_n', s)).map((m) =>
    Array.from(m, (g, i) => {
      if (g === undefined && repeated.numbers.has(i)) {
        throw new BuiltinArgError(
          'regex.find_all_string_submatch_n',
          `group ${i} sits inside a repetition, where JavaScript and Go capture differently`,
        );
      }
      return g ?? '';
    }),
  );
  return firstN(found, limit);
}

/** Go's FindAll*(s, n): every match when n < 0, else at most n (n is an int64, exact beyond 2^53). */
function firstN<T>(found: T[], limit: bigint): T[] {
  return limit < 0n || limit >= BigInt(found.length) ? found : found.slice(0, Number(limit));
}

/**
 * regex.template_match: the template's parts between the delimiters are regular expressions, the rest is
 * literal text; the whole string must match. Delimiters nest, as OPA counts them.
 */
function templateMatch(template: unknown, s: unknown, start: unknown, end: unknown): boolean {
  const name = 'regex.template_match';
  const t = str(name, template);
  const open = str(name, start);
  const close = str(name, end);
  if (Array.from(open).length !== 1 || Array.from(close).length !== 1)
    throw new BuiltinArgError(name, 'delimiters must be single characters');
  let pattern = '';
  let level = 0;
  let literal = '';
  let expr = '';
  for (const ch of t) {
    if (ch === open) {
      if (level === 0) {
        pattern += literal.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
        literal = '';
      } else expr += ch;
      level++;
    } else if (ch === close && level > 0) {
      level--;
      if (level === 0) {
        pattern += `(${expr})`;
        expr = '';
      } else expr += ch;
    } else if (level > 0) expr += ch;
    else literal += ch;
  }
  if (level !== 0) throw new BuiltinArgError(name, `unbalanced delimiters in ${JSON.stringify(t)}`);
  pattern += literal.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return compiledRegex(`^${pattern}$`).test(str(name, s));
}

export const regexBuiltins = {
  'regex.match': regexMatch,
  re_match: regexMatch,
  'regex.is_valid': (pattern: unknown) => {
    if (typeof pattern !== 'string') return false;
    try {
      compiledRegex(pattern);
      return true;
    } catch (err) {
      // A pattern only JavaScript cannot run stays unanswered (undefined), never a guessed false.
      if (err instanceof PatternError && err.kind === 'invalid') return false;
      throw err;
    }
  },
  'regex.split': regexSplit,
  'regex.find_all_string_submatch_n': findAllSubmatch,
  'regex.template_match': templateMatch,
  'regex.replace': regexReplace,
  'regex.find_n': (pattern: unknown, s: unknown, n: unknown) => {
    const re = compiledRegex(str('regex.find_n', pattern));
    const limit = int64Operand('regex.find_n', n);
    return firstN(
      goMatches(re, str('regex.find_n', s)).map((m) => m[0]),
      limit,
    );
  },
};
