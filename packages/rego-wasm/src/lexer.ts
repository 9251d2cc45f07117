// Rego tokenizer: source text -> a flat token array. Keywords are lexed as identifiers because Rego's
// keywords are contextual (`input.package.x`, `contains(s, "a")`, v0 files without `future.keywords`), so
// only the parser can tell them apart. Whitespace is not a token, but each token records whether whitespace
// or a newline preceded it: refs and calls require adjacency (`a[1]` vs `a [1]`) and body literals are
// separated by newlines.
import type { Location } from './ast.js';
import { RegoCompileError } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** ident: the name; number: the literal text; string: the decoded value; punct: the operator. */
  text: string;
  /** string tokens: written with backticks. */
  raw: boolean;
  loc: Location;
  /** Whitespace or a comment separates this token from the previous one. */
  spaceBefore: boolean;
  /** A line break separates this token from the previous one (or it is the first token). */
  newlineBefore: boolean;
}

const SINGLE_PUNCTUATORS = new Set('{}[]().,;:=<>+-*/%&|');
/** Two-character operators, keyed by their first character; tried before the single character. */
const DOUBLE_PUNCTUATORS: Record<string, string> = { ':': ':=', '=': '==', '!': '!=', '<': '<=', '>': '>=' };

function punctuatorAt(source: string, index: number): string | undefined {
  const first = source[index] as string;
  const double = DOUBLE_PUNCTUATORS[first];
  if (double !== undefined && source[index + 1] === double[1]) return double;
  return SINGLE_PUNCTUATORS.has(first) ? first : undefined;
}

const isIdentStart = (cp: number): boolean => (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f;
const isDigit = (cp: number): boolean => cp >= 0x30 && cp <= 0x39;
const isIdentPart = (cp: number): boolean => isIdentStart(cp) || isDigit(cp);
const isHexDigit = (ch: string): boolean => /^[0-9a-fA-F]$/.test(ch);

/** Walks the source by code point, keeping line and column (both 1-based, column counted in code points). */
class Cursor {
  index = 0;
  line = 1;
  col = 1;
  constructor(readonly source: string) {}

  get done(): boolean {
    return this.index >= this.source.length;
  }
  peek(ahead = 0): number {
    let i = this.index;
    for (let n = 0; n < ahead && i < this.source.length; n++) i += codePointWidth(this.source, i);
    return i < this.source.length ? (this.source.codePointAt(i) as number) : -1;
  }
  startsWith(text: string): boolean {
    return this.source.startsWith(text, this.index);
  }
  advance(): number {
    const cp = this.source.codePointAt(this.index) as number;
    this.index += cp > 0xffff ? 2 : 1;
    if (cp === 0x0a) {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return cp;
  }
}

const codePointWidth = (source: string, i: number): number => ((source.codePointAt(i) as number) > 0xffff ? 2 : 1);

/** A `# ...` comment: its text (with the `#`), where it starts, and whether code precedes it on its line. */
export interface Comment {
  text: string;
  loc: Location;
  trailing: boolean;
}

/** `comments`, when given, receives every comment in source order (the formatter keeps them). */
export function tokenize(file: string, source: string, comments?: Comment[]): Token[] {
  const cursor = new Cursor(source);
  const tokens: Token[] = [];
  let spaceBefore = false;
  let newlineBefore = true;
  const here = (): Location => ({ file, line: cursor.line, col: cursor.col });
  // Editors on Windows may start the file with a byte-order mark; it is not part of the policy.
  if (source.charCodeAt(0) === 0xfeff) cursor.index = 1;

  while (!cursor.done) {
    const cp = cursor.peek();
    if (cp === 0x20 || cp === 0x09 || cp === 0x0d || cp === 0x0a) {
      if (cp === 0x0a) newlineBefore = true;
      spaceBefore = true;
      cursor.advance();
      continue;
    }
    if (cp === 0x23 /* # */) {
      const start = cursor.index;
      const loc = here();
      while (!cursor.done && cursor.peek() !== 0x0a) cursor.advance();
      const trailing =
        !newlineBefore || (tokens.length > 0 && (tokens[tokens.length - 1] as Token).loc.line === loc.line);
      comments?.push({ text: source.slice(start, cursor.index).trimEnd(), loc, trailing });
      spaceBefore = true;
      continue;
    }
    const loc = here();
    let kind: TokenKind;
    let text: string;
    let raw = false;
    if (isIdentStart(cp)) {
      const start = cursor.index;
      while (!cursor.done && isIdentPart(cursor.peek())) cursor.advance();
      kind = 'ident';
      text = source.slice(start, cursor.index);
    } else if (isDigit(cp)) {
      kind = 'number';
      text = scanNumber(cursor, loc);
    } else if (cp === 0x22 /* " */) {
      kind = 'string';
      text = scanString(cursor, loc);
    } else if (cp === 0x60 /* ` */) {
      kind = 'string';
      text = scanRawString(cursor, loc);
      raw = true;
    } else {
      const punct = punctuatorAt(source, cursor.index);
      if (punct === undefined) throw unexpectedCharacter(loc, cp, source[cursor.index + 1]);
      if ((punct === '&' || punct === '|') && source[cursor.index + 1] === punct) {
        throw new RegoCompileError(
          loc,
          'operator',
          `Rego has no \`${punct}${punct}\`: the expressions of a body must all hold (one per line), and a rule defined twice holds when either definition does; \`${punct}\` alone is set ${punct === '&' ? 'intersection' : 'union'}`,
          'syntax',
        );
      }
      for (let i = 0; i < punct.length; i++) cursor.advance();
      kind = 'punct';
      text = punct;
    }
    tokens.push({ kind, text, raw, loc, spaceBefore, newlineBefore });
    spaceBefore = false;
    newlineBefore = false;
  }
  tokens.push({ kind: 'eof', text: '', raw: false, loc: here(), spaceBefore, newlineBefore: true });
  return tokens;
}

function unexpectedCharacter(loc: Location, cp: number, next: string | undefined): RegoCompileError {
  const shown = JSON.stringify(String.fromCodePoint(cp));
  // OPA 1.x template strings ($"...{expr}..."): valid Rego this compiler does not turn into Wasm yet.
  if (cp === 0x24 /* $ */ && (next === '"' || next === '`')) {
    return new RegoCompileError(
      loc,
      'template string',
      'template strings ($"...{expr}...") are not compiled: build the text with sprintf or concat',
      'unsupported',
    );
  }
  if (cp === 0x27 /* ' */) {
    return new RegoCompileError(
      loc,
      'character',
      `unexpected character ${shown}; Rego strings use double quotes ("...") or backticks (\`...\`)`,
      'syntax',
    );
  }
  return new RegoCompileError(
    loc,
    'character',
    `unexpected character ${shown}; remove it or quote it in a string`,
    'syntax',
  );
}

// JSON number syntax: int [frac] [exp]. The text is kept as written so big integers stay exact.
function scanNumber(cursor: Cursor, loc: Location): string {
  const start = cursor.index;
  const first = cursor.advance();
  if (first === 0x30 && isDigit(cursor.peek())) {
    throw new RegoCompileError(loc, 'number literal', 'leading zeros are not allowed (write 7, not 07)', 'syntax');
  }
  while (isDigit(cursor.peek())) cursor.advance();
  if (cursor.peek() === 0x2e /* . */ && isDigit(cursor.peek(1))) {
    cursor.advance();
    while (isDigit(cursor.peek())) cursor.advance();
  }
  const e = cursor.peek();
  if (e === 0x65 || e === 0x45) {
    const sign = cursor.peek(1);
    const digitAt = sign === 0x2b || sign === 0x2d ? 2 : 1;
    if (!isDigit(cursor.peek(digitAt))) {
      throw new RegoCompileError(loc, 'number literal', 'exponent needs digits (e.g. 1e3, 2.5E-4)', 'syntax');
    }
    for (let i = 0; i < digitAt; i++) cursor.advance();
    while (isDigit(cursor.peek())) cursor.advance();
  }
  if (isIdentStart(cursor.peek())) {
    throw new RegoCompileError(
      loc,
      'number literal',
      'a number must not run into a name; separate them with a space or operator',
      'syntax',
    );
  }
  return cursor.source.slice(start, cursor.index);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function scanString(cursor: Cursor, loc: Location): string {
  cursor.advance(); // opening quote
  let value = '';
  for (;;) {
    if (cursor.done)
      throw new RegoCompileError(loc, 'string literal', 'unterminated string; add the closing `"`', 'syntax');
    const escLoc: Location = { file: loc.file, line: cursor.line, col: cursor.col };
    const cp = cursor.advance();
    if (cp === 0x22) return value;
    if (cp === 0x0a) {
      throw new RegoCompileError(
        loc,
        'string literal',
        'unterminated string (line break inside "..."); use \\n or a `raw string`',
        'syntax',
      );
    }
    if (cp < 0x20) {
      throw new RegoCompileError(escLoc, 'string literal', `control character U+${hex4(cp)} must be escaped`, 'syntax');
    }
    if (cp !== 0x5c /* \ */) {
      value += String.fromCodePoint(cp);
      continue;
    }
    if (cursor.done)
      throw new RegoCompileError(loc, 'string literal', 'unterminated string; add the closing `"`', 'syntax');
    const esc = String.fromCodePoint(cursor.advance());
    if (esc in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[esc];
    } else if (esc === 'u') {
      const unit = readHex4(cursor, escLoc);
      if (unit >= 0xd800 && unit <= 0xdbff) {
        // A high surrogate must be followed by an escaped low surrogate; together they are one code point.
        if (!cursor.startsWith('\\u')) throw loneSurrogate(escLoc, unit);
        cursor.advance();
        cursor.advance();
        const low = readHex4(cursor, escLoc);
        if (low < 0xdc00 || low > 0xdfff) throw loneSurrogate(escLoc, unit);
        value += String.fromCharCode(unit, low);
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        throw loneSurrogate(escLoc, unit);
      } else {
        value += String.fromCharCode(unit);
      }
    } else {
      throw new RegoCompileError(
        escLoc,
        'string literal',
        `unknown escape \\${esc}; valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`,
        'syntax',
      );
    }
  }
}

function readHex4(cursor: Cursor, escLoc: Location): number {
  let digits = '';
  for (let i = 0; i < 4; i++) {
    const cp = cursor.peek();
    const ch = cp < 0 ? '' : String.fromCodePoint(cp);
    if (!isHexDigit(ch))
      throw new RegoCompileError(escLoc, 'string literal', '\\u must be followed by exactly 4 hex digits', 'syntax');
    digits += ch;
    cursor.advance();
  }
  return parseInt(digits, 16);
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

const loneSurrogate = (loc: Location, unit: number): RegoCompileError =>
  new RegoCompileError(
    loc,
    'string literal',
    `\\u${hex4(unit)} is half of a surrogate pair; write the pair (\\uD83D\\uDE00) or the character itself`,
    'syntax',
  );

function scanRawString(cursor: Cursor, loc: Location): string {
  cursor.advance();
  const start = cursor.index;
  while (!cursor.done && cursor.peek() !== 0x60) cursor.advance();
  if (cursor.done)
    throw new RegoCompileError(
      loc,
      'raw string literal',
      'unterminated raw string; add the closing backtick',
      'syntax',
    );
  const value = cursor.source.slice(start, cursor.index);
  cursor.advance();
  return value;
}
