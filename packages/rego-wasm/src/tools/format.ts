// formatModule: canonical Rego v1 text for a module, keeping its comments. The output is printed from the
// AST (so spacing, quoting and `input["x"]` vs `input.x` are canonical), then parsed again and compared with
// the input's AST: a module is only ever rewritten into one that means the same thing. Layout follows
// `opa fmt`: tabs, one expression per line, a blank line between rules (rules written on consecutive lines
// stay together), and collections written over several lines stay one item per line with trailing commas.
import type { Body, Expr, Import, Module, Rule, Term, WithModifier } from '../ast.js';
import { RegoCompileError } from '../errors.js';
import { tokenize, type Comment, type Token } from '../lexer.js';
import { parseModule } from '../parser.js';

/** Words the parser never reads as a name after `.`-less positions; refs keep them in brackets. */
const KEYWORDS = new Set([
  'not',
  'some',
  'every',
  'with',
  'as',
  'else',
  'if',
  'contains',
  'in',
  'import',
  'package',
  'default',
  'true',
  'false',
  'null',
]);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Binding strength, loosest first, as the parser reads them. */
const LEVEL = { in: 0, relation: 1, or: 2, and: 3, arith: 4, factor: 5, primary: 6 } as const;

function binaryLevel(op: string): number {
  if (op === '|') return LEVEL.or;
  if (op === '&') return LEVEL.and;
  if (op === '+' || op === '-') return LEVEL.arith;
  if (op === '*' || op === '/' || op === '%') return LEVEL.factor;
  return LEVEL.relation;
}

function termLevel(term: Term): number {
  if (term.type === 'in') return LEVEL.in;
  if (term.type === 'binary') return binaryLevel(term.op);
  return LEVEL.primary;
}

class Printer {
  private readonly pending: Comment[];

  /** `line:col` of every token that directly follows an `if` keyword: bodies written without braces. */
  private readonly afterIf: Set<string>;

  constructor(comments: Comment[], tokens: Token[]) {
    this.pending = [...comments];
    this.afterIf = new Set();
    tokens.forEach((token, i) => {
      const previous = tokens[i - 1];
      if (previous !== undefined && previous.kind === 'ident' && previous.text === 'if')
        this.afterIf.add(`${token.loc.line}:${token.loc.col}`);
    });
  }

  /** Comments that start before `line`, as lines at `indent`; a blank line kept where the source had one. */
  commentsBefore(line: number, indent: string): string[] {
    const out: string[] = [];
    let previous: number | undefined;
    while (this.pending.length > 0 && (this.pending[0] as Comment).loc.line < line) {
      const comment = this.pending.shift() as Comment;
      if (previous !== undefined && comment.loc.line > previous + 1) out.push('');
      out.push(`${indent}${comment.text}`);
      previous = comment.loc.line;
    }
    if (previous !== undefined && line > previous + 1 && out.length > 0) out.push('');
    return out;
  }

  /** A comment written after code on `line`, moved to the end of that line's printed text. */
  trailing(line: number): string {
    const comment = this.pending[0];
    if (comment === undefined || comment.loc.line !== line || !comment.trailing) return '';
    this.pending.shift();
    return ` ${comment.text}`;
  }

  rest(): string[] {
    return this.pending.splice(0).map((c) => c.text);
  }

  // ---------- terms ----------
  term(term: Term, indent: string, min: number = LEVEL.in): string {
    const text = this.bare(term, indent);
    return termLevel(term) < min ? `(${text})` : text;
  }

  private bare(term: Term, indent: string): string {
    switch (term.type) {
      case 'null':
        return 'null';
      case 'boolean':
        return String(term.value);
      case 'number':
        return term.text;
      case 'string':
        return stringLiteral(term.value, term.raw);
      case 'var':
        return term.wildcard === true ? '_' : term.name;
      case 'ref':
        return this.ref(term, indent);
      case 'array':
        return this.collection(
          '[',
          ']',
          term.items.map((item) => ({ loc: item.loc, text: (i: string) => this.item(item, i) })),
          term.loc.line,
          indent,
        );
      case 'set':
        if (term.items.length === 0) return 'set()';
        return this.collection(
          '{',
          '}',
          term.items.map((item) => ({ loc: item.loc, text: (i: string) => this.item(item, i) })),
          term.loc.line,
          indent,
        );
      case 'object':
        return this.collection(
          '{',
          '}',
          term.entries.map((e) => ({
            loc: e.key.loc,
            text: (i: string) => `${this.item(e.key, i)}: ${this.item(e.value, i)}`,
          })),
          term.loc.line,
          indent,
        );
      case 'arraycompr':
        return `[${this.comprehensionHead(term.head, indent)} |${this.inlineBody(term.body, term.loc.line, indent, ']')}`;
      case 'setcompr':
        return `{${this.comprehensionHead(term.head, indent)} |${this.inlineBody(term.body, term.loc.line, indent, '}')}`;
      case 'objectcompr':
        return `{${this.item(term.key, indent)}: ${this.comprehensionHead(term.value, indent)} |${this.inlineBody(term.body, term.loc.line, indent, '}')}`;
      case 'call':
        return `${term.name}(${term.args.map((a) => this.item(a, indent)).join(', ')})`;
      case 'binary': {
        const level = binaryLevel(term.op);
        return `${this.term(term.left, indent, level)} ${term.op} ${this.term(term.right, indent, level + 1)}`;
      }
      case 'in': {
        const key = term.key === null ? '' : `${this.term(term.key, indent, LEVEL.relation)}, `;
        return `${key}${this.term(term.value, indent, LEVEL.relation)} in ${this.term(term.collection, indent, LEVEL.relation)}`;
      }
    }
  }

  /** An item of a list: `k, v in xs` and `a | b` need parentheses there (a comma or `|` would split them). */
  private item(term: Term, indent: string): string {
    if ((term.type === 'in' && term.key !== null) || (term.type === 'binary' && term.op === '|'))
      return `(${this.bare(term, indent)})`;
    return this.term(term, indent);
  }

  /** Only a single term before `|` opens a comprehension, so an operator head is parenthesised. */
  private comprehensionHead(term: Term, indent: string): string {
    return termLevel(term) < LEVEL.primary ? `(${this.bare(term, indent)})` : this.bare(term, indent);
  }

  private ref(term: Extract<Term, { type: 'ref' }>, indent: string): string {
    const head =
      term.head.type === 'var' || term.head.type === 'call'
        ? this.bare(term.head, indent)
        : this.term(term.head, indent, LEVEL.primary);
    const parts = term.path.map((part) =>
      part.type === 'string' && !part.raw && IDENT.test(part.value) && !KEYWORDS.has(part.value)
        ? `.${part.value}`
        : `[${this.term(part, indent)}]`,
    );
    // A composite head needs brackets around it to be indexed (`[1, 2][0]` is fine, `{...}.x` is not Rego).
    return `${head}${parts.join('')}`;
  }

  /** One line when written on one line; otherwise one item per line with a trailing comma, as opa fmt. */
  private collection(
    open: string,
    close: string,
    items: Array<{ loc: { line: number }; text: (indent: string) => string }>,
    line: number,
    indent: string,
  ): string {
    const multiline = items.some((item) => item.loc.line !== line);
    if (!multiline) return `${open}${items.map((item) => item.text(indent)).join(', ')}${close}`;
    const inner = `${indent}\t`;
    const lines = items.flatMap((item) => [
      ...this.commentsBefore(item.loc.line, inner),
      `${inner}${item.text(inner)},${this.trailing(item.loc.line)}`,
    ]);
    return `${open}\n${lines.join('\n')}\n${indent}${close}`;
  }

  // ---------- expressions ----------
  expr(expr: Expr, indent: string): string {
    switch (expr.type) {
      case 'term':
        return `${this.term(expr.term, indent)}${this.withs(expr.with, indent)}`;
      case 'assign':
        return `${this.term(expr.left, indent, LEVEL.relation)} := ${this.term(expr.right, indent)}${this.withs(expr.with, indent)}`;
      case 'unify':
        return `${this.term(expr.left, indent, LEVEL.relation)} = ${this.term(expr.right, indent)}${this.withs(expr.with, indent)}`;
      case 'not':
        return `not ${this.expr(expr.expr, indent)}`;
      case 'some':
        return `some ${expr.vars.map((v) => this.bare(v, indent)).join(', ')}${this.withs(expr.with ?? [], indent)}`;
      case 'somein': {
        const key = expr.key === null ? '' : `${this.term(expr.key, indent, LEVEL.relation)}, `;
        return `some ${key}${this.term(expr.value, indent, LEVEL.relation)} in ${this.term(expr.collection, indent, LEVEL.relation)}${this.withs(expr.with ?? [], indent)}`;
      }
      case 'every': {
        const key = expr.key === null ? '' : `${this.bare(expr.key, indent)}, `;
        return `every ${key}${this.bare(expr.value, indent)} in ${this.term(expr.collection, indent, LEVEL.relation)} ${this.block(expr.body, indent)}${this.withs(expr.with ?? [], indent)}`;
      }
    }
  }

  private withs(modifiers: WithModifier[], indent: string): string {
    return modifiers.map((m) => ` with ${this.term(m.target, indent)} as ${this.term(m.value, indent)}`).join('');
  }

  /** `{` newline, one expression per line one tab in, `}` */
  block(body: Body, indent: string): string {
    const inner = `${indent}\t`;
    const lines = body.exprs.flatMap((expr) => {
      const before = this.commentsBefore(expr.loc.line, inner);
      const text = this.expr(expr, inner);
      return [...before, `${inner}${text}${this.trailing(expr.loc.line)}`];
    });
    return `{\n${lines.join('\n')}\n${indent}}`;
  }

  /** A comprehension's body: inline with `; ` when written on one line, else one expression per line. */
  private inlineBody(body: Body, line: number, indent: string, close: string): string {
    if (body.exprs.every((expr) => expr.loc.line === line))
      return ` ${body.exprs.map((expr) => this.expr(expr, indent)).join('; ')}${close}`;
    const inner = `${indent}\t`;
    const lines = body.exprs.flatMap((expr) => [
      ...this.commentsBefore(expr.loc.line, inner),
      `${inner}${this.expr(expr, inner)}${this.trailing(expr.loc.line)}`,
    ]);
    return `\n${lines.join('\n')}\n${indent}${close}`;
  }

  // ---------- rules ----------
  rule(rule: Rule, nextLine: number): string {
    let head = rule.default ? 'default ' : '';
    head += ruleName(rule.name);
    if (rule.args !== null) head += `(${rule.args.map((a) => this.item(a, '')).join(', ')})`;
    for (const level of rule.keyPath ?? []) head += `[${this.term(level, '')}]`;
    if (rule.kind === 'partialSet') head += ` contains ${this.term(rule.key as Term, '')}`;
    if (rule.kind === 'partialObject') head += `[${this.term(rule.key as Term, '')}]`;
    if (!rule.implicitValue && rule.kind !== 'partialSet')
      head += ` ${rule.assign ? ':=' : '='} ${this.term(rule.value, '')}`;
    const trailing = this.trailing(rule.loc.line);
    if (rule.body.exprs.length === 0 && rule.elses.length === 0) return `${head}${trailing}`;
    let text = `${head}${this.ruleBody(rule, nextLine, trailing)}`;
    for (const clause of rule.elses) {
      text += ` else`;
      if (!clause.implicitValue) text += ` := ${this.term(clause.value, '')}`;
      if (clause.body.exprs.length > 0) text += ` if ${this.block(clause.body, '')}`;
    }
    return text;
  }

  /**
   * `if expr` on the head's line when the body is one short expression with no comment inside, else a block.
   * A head comment stays on the head line.
   */
  private ruleBody(rule: Rule, nextLine: number, headComment: string): string {
    const body = rule.body;
    const only = body.exprs[0];
    // A one-expression body keeps the form it was written in: `p if expr` or a block.
    if (
      body.exprs.length === 1 &&
      only !== undefined &&
      rule.elses.length === 0 &&
      headComment === '' &&
      this.afterIf.has(`${firstLoc(only).line}:${firstLoc(only).col}`)
    ) {
      const text = this.expr(only, '');
      if (!text.startsWith('{')) return ` if ${text}${this.trailing(only.loc.line)}`;
    }
    const block = this.block(body, '');
    return ` if ${block.replace('{\n', `{${headComment}\n`)}`;
  }
}

/** Where an expression's text starts (a `not`, `some` or term's first token). */
function firstLoc(expr: Expr): { line: number; col: number } {
  if (expr.type === 'term') return leftmost(expr.term);
  if (expr.type === 'assign' || expr.type === 'unify') return leftmost(expr.left);
  return expr.loc;
}

function leftmost(term: Term): { line: number; col: number } {
  if (term.type === 'binary') return leftmost(term.left);
  if (term.type === 'in') return leftmost(term.key ?? term.value);
  if (term.type === 'ref') return leftmost(term.head);
  return term.loc;
}

function stringLiteral(value: string, raw: boolean): string {
  if (raw && !value.includes('`')) return `\`${value}\``;
  return JSON.stringify(value);
}

function ruleName(name: string[]): string {
  return name
    .map((segment, i) =>
      i === 0
        ? segment
        : IDENT.test(segment) && !KEYWORDS.has(segment)
          ? `.${segment}`
          : `[${JSON.stringify(segment)}]`,
    )
    .join('');
}

function importText(imp: Import): string {
  const path = imp.path
    .map((segment, i) =>
      i === 0 || IDENT.test(segment) ? (i === 0 ? segment : `.${segment}`) : `[${JSON.stringify(segment)}]`,
    )
    .join('');
  return `import ${path}${imp.alias === null ? '' : ` as ${imp.alias}`}`;
}

/** Where each rule's text starts and which rules shared a head (v0 `p { a } { b }` parses to two rules). */
function startLine(rule: Rule): number {
  return rule.loc.line;
}

export function formatModule(file: string, source: string): string {
  const comments: Comment[] = [];
  const tokens = tokenize(file, source, comments);
  const module = parseModule(file, source);
  const printer = new Printer(comments, tokens);
  const out: string[] = [];
  const pkg = module.package;
  out.push(...printer.commentsBefore(pkg.loc.line, ''));
  out.push(`package ${ruleName(pkg.path)}${printer.trailing(pkg.loc.line)}`);
  if (module.imports.length > 0) {
    out.push('');
    let previousLine: number | undefined;
    for (const imp of module.imports) {
      const before = printer.commentsBefore(imp.loc.line, '');
      // Groups of imports separated by a blank line stay separate.
      if (previousLine !== undefined && before.length === 0 && imp.loc.line > previousLine + 1) out.push('');
      out.push(...before, `${importText(imp)}${printer.trailing(imp.loc.line)}`);
      previousLine = imp.loc.line;
    }
  }
  let previous: { line: number; oneLine: boolean } | undefined;
  module.rules.forEach((rule, index) => {
    const line = startLine(rule);
    const next = module.rules[index + 1];
    const nextLine = next === undefined ? Number.MAX_SAFE_INTEGER : startLine(next);
    const before = printer.commentsBefore(line, '');
    // Rules written on consecutive lines (a block of defaults, one-line helpers) stay together.
    const text = printer.rule(rule, nextLine);
    const together =
      previous !== undefined &&
      previous.oneLine &&
      !text.includes('\n') &&
      before.length === 0 &&
      line === previous.line + 1;
    if (!together) out.push('');
    out.push(...before, text);
    previous = { line, oneLine: !text.includes('\n') };
  });
  const rest = printer.rest();
  if (rest.length > 0) out.push('', ...rest);
  const formatted = `${out.join('\n')}\n`;
  verifySameMeaning(file, module, formatted);
  return formatted;
}

/** The formatted text must parse to the same module (positions aside); anything else is a formatter bug. */
function verifySameMeaning(file: string, before: Module, formatted: string): void {
  let after: Module;
  try {
    after = parseModule(file, formatted);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new RegoCompileError(
      before.package.loc,
      'format',
      `the formatted module does not parse (${detail}); the file was left as is`,
      'invalid',
    );
  }
  if (stripLocations(after) !== stripLocations(before)) {
    throw new RegoCompileError(
      before.package.loc,
      'format',
      'formatting would change the meaning of this module; the file was left as is',
      'invalid',
    );
  }
}

function stripLocations(module: Module): string {
  return JSON.stringify(module, (key, value: unknown) =>
    key === 'loc' || key === 'nameLoc' || key === 'file' ? undefined : value,
  );
}
