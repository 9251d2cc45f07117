// Rego parser: tokens -> Module (src/ast.ts). Recursive descent following OPA's grammar and operator
// precedence, loosest first: `in` membership, comparison (== != < <= > >=), `|`, `&`, `+ -`, `* / %`,
// unary minus, then refs and calls. Rego v1 is the target; v0 forms (bodies without `if`, `p[x] { }` partial
// sets) are accepted where their meaning is unambiguous, and refused in files that `import rego.v1`.
import type {
  Body,
  ElseClause,
  Expr,
  Import,
  Location,
  Module,
  Rule,
  RuleKind,
  Term,
  VarTerm,
  BinaryOp,
  WithModifier,
} from './ast.js';
import { RegoCompileError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

export function parseModule(file: string, source: string): Module {
  const tokens = tokenize(file, source);
  try {
    return new Parser(file, tokens).module();
  } catch (error) {
    if (error instanceof ParseFailure) throw new RegoCompileError(error.loc, error.construct, error.detail, 'syntax');
    throw error;
  }
}

/**
 * A syntax error inside the parser. Not an Error: the parser backtracks by catching these, and capturing a
 * stack trace for every abandoned reading would dominate parse time. parseModule turns the one that
 * escapes into a RegoCompileError.
 */
class ParseFailure {
  constructor(
    readonly loc: Location,
    readonly construct: string,
    readonly detail: string,
  ) {}
}

/** Words that can never name a variable or a rule (they always start or join a construct). */
const RESERVED = new Set([
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
]);
const MAX_NESTING = 200;
const RELATION_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const ARITH_OPS = new Set(['+', '-']);
const FACTOR_OPS = new Set(['*', '/', '%']);

type HeadSegment = { kind: 'name'; name: string; loc: Location } | { kind: 'term'; term: Term };

class Parser {
  private pos = 0;
  private wildcards = 0;
  private depth = 0;
  /** `import rego.v1`: v0-only forms are errors, as in OPA. */
  private strictV1 = false;
  /** `import future.keywords[...]`: a v0 file opting into `if`/`contains`/`in`/`every`. */
  private futureKeywords = false;
  private readonly importedNames = new Map<string, Location>();

  constructor(
    private readonly file: string,
    private readonly tokens: Token[],
  ) {}

  // ---------- token helpers ----------
  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)] as Token;
  }
  private next(): Token {
    const token = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return token;
  }
  private isPunct(text: string, token = this.peek()): boolean {
    return token.kind === 'punct' && token.text === text;
  }
  private isWord(word: string, token = this.peek()): boolean {
    return token.kind === 'ident' && token.text === word;
  }
  private expectPunct(text: string, construct: string): Token {
    if (!this.isPunct(text))
      this.fail(this.peek().loc, construct, `expected \`${text}\`, found ${describe(this.peek())}`);
    return this.next();
  }
  private fail(loc: Location, construct: string, detail: string): never {
    throw new ParseFailure(loc, construct, detail);
  }
  /**
   * Tries one reading, then the other. When both fail, the error that got further into the source is the
   * one that explains the mistake.
   */
  private either<T>(first: () => T, second: () => T): T {
    const saved = { pos: this.pos, wildcards: this.wildcards };
    try {
      return first();
    } catch (firstError) {
      if (!(firstError instanceof ParseFailure)) throw firstError;
      this.pos = saved.pos;
      this.wildcards = saved.wildcards;
      try {
        return second();
      } catch (secondError) {
        if (!(secondError instanceof ParseFailure)) throw secondError;
        throw isAfter(firstError.loc, secondError.loc) ? firstError : secondError;
      }
    }
  }

  /** Runs `attempt`; on a syntax error rewinds and returns undefined so another reading can be tried. */
  private attempt<T>(attempt: () => T): T | undefined {
    const saved = { pos: this.pos, wildcards: this.wildcards };
    try {
      return attempt();
    } catch (err) {
      if (!(err instanceof ParseFailure)) throw err;
      this.pos = saved.pos;
      this.wildcards = saved.wildcards;
      return undefined;
    }
  }

  // ---------- module ----------
  module(): Module {
    const packageToken = this.peek();
    if (!this.isWord('package')) {
      this.fail(
        packageToken.loc,
        'package',
        `a module must start with \`package <name>\`, found ${describe(packageToken)}`,
      );
    }
    this.next();
    const packagePath = this.dottedPath('package');
    if (packagePath.length === 0) this.fail(packageToken.loc, 'package', 'expected a package name after `package`');

    const imports: Import[] = [];
    const rules: Rule[] = [];
    while (this.peek().kind !== 'eof') {
      const start = this.peek();
      if (!start.newlineBefore) {
        this.fail(
          start.loc,
          'statement',
          `expected a line break before ${describe(start)}; put each rule on its own line${hintFor(start)}`,
        );
      }
      if (this.isWord('import')) {
        if (rules.length > 0) this.fail(start.loc, 'import', 'imports must come before the first rule');
        imports.push(this.importDecl());
      } else if (this.isWord('package')) {
        this.fail(start.loc, 'package', 'a file may declare only one package');
      } else {
        rules.push(...this.ruleStatement());
      }
    }
    return { file: this.file, package: { path: packagePath, loc: packageToken.loc }, imports, rules };
  }

  /** `a.b["c"]` as plain names (package and import paths). */
  private dottedPath(construct: string): string[] {
    const first = this.peek();
    if (first.kind !== 'ident') this.fail(first.loc, construct, `expected a name, found ${describe(first)}`);
    const path = [this.next().text];
    for (;;) {
      const token = this.peek();
      if (token.spaceBefore) return path;
      if (this.isPunct('.')) {
        this.next();
        const name = this.peek();
        if (name.kind !== 'ident' || name.spaceBefore)
          this.fail(name.loc, construct, `expected a name after \`.\`, found ${describe(name)}`);
        path.push(this.next().text);
      } else if (this.isPunct('[')) {
        this.next();
        const key = this.peek();
        if (key.kind !== 'string')
          this.fail(key.loc, construct, `only string keys are allowed in a ${construct} path, found ${describe(key)}`);
        path.push(this.next().text);
        this.expectPunct(']', construct);
      } else {
        return path;
      }
    }
  }

  private importDecl(): Import {
    const loc = this.next().loc;
    const path = this.dottedPath('import');
    const root = path[0] as string;
    let alias: string | null = null;
    if (this.isWord('as')) {
      this.next();
      const name = this.peek();
      if (name.kind !== 'ident' || RESERVED.has(name.text))
        this.fail(name.loc, 'import', `expected an alias name after \`as\`, found ${describe(name)}`);
      alias = this.next().text;
    }
    if (root === 'rego') {
      if (path.length === 2 && /^v\d+$/.test(path[1] as string) && path[1] !== 'v1') {
        // A later Rego version's semantics are not known here: refuse rather than guess.
        throw new RegoCompileError(
          loc,
          'import',
          `\`import ${path.join('.')}\` is refused: Portcullis compiles Rego v1 and cannot tell what a later version would change: use \`import rego.v1\` or no import`,
          'unsupported',
        );
      }
      if (path.length !== 2 || path[1] !== 'v1')
        this.fail(loc, 'import', `unknown import \`${path.join('.')}\`; only \`rego.v1\` exists`);
      if (alias !== null) this.fail(loc, 'import', '`import rego.v1` cannot have an alias');
      if (this.strictV1) this.fail(loc, 'import', '`rego.v1` is imported twice; remove one');
      if (this.futureKeywords)
        this.fail(
          loc,
          'import',
          '`import rego.v1` already implies `future.keywords`; remove the `future.keywords` import',
        );
      this.strictV1 = true;
    } else if (root === 'future') {
      if (path[1] !== 'keywords' || path.length > 3)
        this.fail(
          loc,
          'import',
          `unknown import \`${path.join('.')}\`; use \`future.keywords\` or \`future.keywords.<kw>\``,
        );
      const keyword = path[2];
      if (keyword !== undefined && !['in', 'every', 'if', 'contains'].includes(keyword)) {
        this.fail(loc, 'import', `unknown future keyword \`${keyword}\`; known: in, every, if, contains`);
      }
      if (alias !== null) this.fail(loc, 'import', '`import future.keywords` cannot have an alias');
      if (this.strictV1)
        this.fail(loc, 'import', '`import rego.v1` already implies `future.keywords`; remove this import');
      this.futureKeywords = true;
    } else if (root !== 'data' && root !== 'input') {
      this.fail(
        loc,
        'import',
        `imports must start with \`data\` or \`input\` (or be \`rego.v1\` / \`future.keywords\`), found \`${root}\``,
      );
    } else {
      // Each import binds one name in the module; two imports binding the same name would shadow each other.
      const bound = alias ?? (path[path.length - 1] as string);
      const earlier = this.importedNames.get(bound);
      if (earlier !== undefined) {
        this.fail(
          loc,
          'import',
          `\`${bound}\` is already imported at line ${earlier.line}; use \`as <name>\` to import it under another name`,
        );
      }
      this.importedNames.set(bound, loc);
    }
    return { loc, path, alias };
  }

  // ---------- rules ----------
  private ruleStatement(): Rule[] {
    const isDefault = this.isWord('default');
    if (isDefault) this.next();
    const nameToken = this.peek();
    if (
      nameToken.kind !== 'ident' ||
      RESERVED.has(nameToken.text) ||
      ['true', 'false', 'null'].includes(nameToken.text)
    ) {
      this.fail(nameToken.loc, 'rule', `expected a rule name, found ${describe(nameToken)}`);
    }
    const loc = nameToken.loc;
    if (nameToken.text === 'input' || nameToken.text === 'data') {
      this.fail(loc, 'rule', `a rule cannot be named \`${nameToken.text}\`: it would shadow the root document`);
    }
    const segments = this.headSegments();

    let args: Term[] | null = null;
    // In a head, `(` after the name can only open the argument list, so a space before it is harmless.
    if (this.isPunct('(')) {
      this.next();
      args = this.termList(')', 'function arguments');
      if (args.length === 0)
        this.fail(nameToken.loc, 'function', 'a function needs at least one argument (use a rule for a constant)');
    }

    let setElement: Term | null = null;
    if (this.isWord('contains')) {
      const containsToken = this.next();
      if (args !== null || isDefault)
        this.fail(
          containsToken.loc,
          'rule head',
          '`contains` defines a partial set; it cannot follow a function head or `default`',
        );
      setElement = this.termIn(false);
    }

    let value: Term | null = null;
    let assign = false;
    if (setElement === null && (this.isPunct(':=') || this.isPunct('='))) {
      assign = this.next().text === ':=';
      value = this.termIn(false);
    }

    const hasIf = this.isWord('if');
    const hasBraces = !hasIf && this.isPunct('{');
    if (isDefault) {
      if (value === null) this.fail(loc, 'default rule', 'a default rule needs a value: `default name := value`');
      // A default function answers for any arguments, so its parameters can only be distinct plain names.
      const seen = new Set<string>();
      for (const arg of args ?? []) {
        if (arg.type !== 'var')
          this.fail(
            arg.loc,
            'default rule',
            `default function parameters must be plain variable names, found ${describeTerm(arg)}`,
          );
        if (seen.has(arg.name)) this.fail(arg.loc, 'default rule', `parameter \`${arg.name}\` is repeated`);
        if (arg.wildcard !== true) seen.add(arg.name);
      }
      const notConstant = firstNonConstant(value);
      if (notConstant !== null) {
        this.fail(
          notConstant.loc,
          'default rule',
          `a default value must be a constant (no variables, references, calls or operators outside comprehensions), found ${describeTerm(notConstant)}`,
        );
      }
      if (hasIf || hasBraces) this.fail(this.peek().loc, 'default rule', 'a default rule has no body');
    }
    if (hasBraces && this.strictV1) {
      const partialSetHint =
        value === null && args === null && segments.length === 2
          ? '; a v0 partial set `p[x] { ... }` is written `p contains x if { ... }`'
          : '';
      this.fail(
        this.peek().loc,
        'rule body',
        `\`if\` is required before a rule body in Rego v1 (\`import rego.v1\`)${partialSetHint}`,
      );
    }

    // Classify the head as OPA does. A two-part head without a value (`p[x]`, `p.q`) is the v0 partial set
    // when written with a v0 body (braces, no `if`); everywhere else a missing value means `true`, and a last
    // `[term]` that is not a string makes the rule build an object: in OPA, `a[x] if q[x]` is the object
    // {x: true} also in a v0 module that imports future.keywords.
    const last = segments[segments.length - 1] as HeadSegment;
    // A variable before the last position (`p[x][y] := v`, `o.s[x][x] contains x`): the rule is named by the
    // segments before it and builds nested objects keyed by the rest, as OPA's general ref heads do.
    const firstVar = segments.findIndex(
      (segment, i) => i > 0 && segment.kind === 'term' && segment.term.type !== 'string',
    );
    let keyPath: Term[] | undefined;
    const segmentTerm = (segment: HeadSegment): Term =>
      segment.kind === 'term' ? segment.term : { type: 'string', loc: segment.loc, value: segment.name, raw: false };
    if (firstVar > 0 && (firstVar < segments.length - 1 || setElement !== null) && args === null && !isDefault) {
      const levels = segments.slice(firstVar).map(segmentTerm);
      keyPath = setElement !== null ? levels : levels.slice(0, -1);
    }
    const v0SetHead = value === null && segments.length === 2 && hasBraces && !hasIf;
    let kind: RuleKind;
    let key: Term | null = null;
    let nameSegments = segments;
    if (args !== null) {
      kind = 'function';
    } else if (keyPath !== undefined) {
      kind = setElement !== null ? 'partialSet' : 'partialObject';
      key = setElement ?? segmentTerm(last);
      nameSegments = segments.slice(0, firstVar);
    } else if (setElement !== null) {
      kind = 'partialSet';
      key = setElement;
    } else if (v0SetHead) {
      kind = 'partialSet';
      key = last.kind === 'term' ? last.term : { type: 'string', loc: last.loc, value: last.name, raw: false };
      nameSegments = segments.slice(0, -1);
    } else if (value === null && segments.length === 2 && last.kind === 'term' && !hasIf) {
      this.fail(
        loc,
        'rule head',
        '`name[x]` needs a body or a value; write `name contains x` for a set or `name[x] := value` for an object',
      );
    } else if (last.kind === 'term' && last.term.type !== 'string') {
      kind = 'partialObject';
      key = last.term;
      nameSegments = segments.slice(0, -1);
    } else {
      kind = 'complete';
    }
    const name = nameSegments.map((segment): string => {
      if (segment.kind === 'name') return segment.name;
      if (segment.term.type === 'string') return segment.term.value;
      return this.fail(
        segment.term.loc,
        'rule head',
        'only the last `[...]` of a rule name may be a variable key; earlier ones must be strings',
      );
    });
    if (isDefault && (kind === 'partialSet' || kind === 'partialObject')) {
      this.fail(loc, 'default rule', 'only complete rules and functions can have a default');
    }

    const implicitValue = value === null;
    const ruleValue: Term = value ?? { type: 'boolean', value: true, loc };
    const bodies: Body[] = [];
    if (hasIf) {
      this.next();
      bodies.push(this.ifBody());
    } else if (hasBraces) {
      bodies.push(this.bracedBody());
    } else if (implicitValue && kind !== 'partialSet') {
      this.fail(
        this.peek().loc,
        'rule',
        `rule \`${name.join('.')}\` needs a value (\`:= value\`) or a body (\`if { ... }\`), found ${describe(this.peek())}`,
      );
    } else {
      bodies.push({ loc, exprs: [] });
    }
    // v0 allowed several bodies after one head (`p { a } { b }`): each is its own rule (logical OR).
    const bracedFirstBody = this.isPunct('}', this.tokens[this.pos - 1]);
    while (bracedFirstBody && this.isPunct('{') && !isDefault) {
      if (this.strictV1)
        this.fail(
          this.peek().loc,
          'rule body',
          'several bodies after one head are not allowed in Rego v1; write the rule twice',
        );
      bodies.push(this.bracedBody());
    }

    const elses: ElseClause[] = [];
    while (this.isWord('else')) {
      const elseToken = this.next();
      if (kind !== 'complete' && kind !== 'function')
        this.fail(elseToken.loc, 'else', '`else` only follows complete rules and functions');
      if (isDefault) this.fail(elseToken.loc, 'else', 'a default rule cannot have `else`');
      if (bodies.length > 1) this.fail(elseToken.loc, 'else', '`else` cannot follow a rule with several bodies');
      let elseValue: Term | null = null;
      if (this.isPunct(':=') || this.isPunct('=')) {
        this.next();
        elseValue = this.termIn(false);
      }
      let body: Body;
      if (this.isWord('if')) {
        this.next();
        body = this.isPunct('{') ? this.bracedBody() : this.ifBody();
      } else if (this.isPunct('{')) {
        if (this.strictV1) this.fail(this.peek().loc, 'else', '`if` is required before an else body in Rego v1');
        body = this.bracedBody();
      } else if (elseValue !== null) {
        body = { loc: elseToken.loc, exprs: [] };
      } else {
        this.fail(
          this.peek().loc,
          'else',
          `expected \`:= value\`, \`if\` or \`{\` after \`else\`, found ${describe(this.peek())}`,
        );
      }
      elses.push({
        loc: elseToken.loc,
        value: elseValue ?? { type: 'boolean', value: true, loc: elseToken.loc },
        implicitValue: elseValue === null,
        body,
      });
    }

    return bodies.map((body) => ({
      loc,
      kind,
      default: isDefault,
      name,
      key,
      ...(keyPath === undefined ? {} : { keyPath }),
      value: ruleValue,
      implicitValue,
      args,
      body,
      elses,
      assign,
    }));
  }

  /** The rule name: `p`, `a.b.c`, `p[x]`, `a.b["c"][k]` (adjacent tokens only). */
  private headSegments(): HeadSegment[] {
    const first = this.next();
    const segments: HeadSegment[] = [{ kind: 'name', name: first.text, loc: first.loc }];
    for (;;) {
      const token = this.peek();
      if (token.spaceBefore) return segments;
      if (this.isPunct('.')) {
        this.next();
        const name = this.peek();
        if (name.kind !== 'ident' || name.spaceBefore)
          this.fail(name.loc, 'rule head', `expected a name after \`.\`, found ${describe(name)}`);
        this.next();
        segments.push({ kind: 'name', name: name.text, loc: name.loc });
      } else if (this.isPunct('[')) {
        this.next();
        const term = this.termIn(false);
        this.expectPunct(']', 'rule head');
        segments.push({ kind: 'term', term });
      } else {
        return segments;
      }
    }
  }

  /**
   * After `if`: a single literal (`p if x > 1`) or a braced body. As in OPA, a leading `{` is first read as
   * a literal, so `p if { x | ... }` is a set comprehension and `p if {"a": 1}.a` an object; a plain set
   * literal (`p if { x }`) is never meant as one, so that reading falls back to a body.
   */
  private ifBody(): Body {
    const start = this.peek();
    if (this.isWord('else') || start.kind === 'eof')
      this.fail(start.loc, 'rule body', `expected a body after \`if\`, found ${describe(start)}`);
    if (!this.isPunct('{')) return { loc: start.loc, exprs: [this.literal()] };
    if (this.isPunct('}', this.peek(1))) return this.bracedBody(); // reports the empty body
    const saved = { pos: this.pos, wildcards: this.wildcards };
    const literal = this.attempt(() => this.literal());
    if (
      literal !== undefined &&
      !(literal.type === 'term' && literal.term.type === 'set' && literal.term.loc === start.loc)
    ) {
      return { loc: start.loc, exprs: [literal] };
    }
    this.pos = saved.pos;
    this.wildcards = saved.wildcards;
    return this.bracedBody();
  }

  private bracedBody(): Body {
    const open = this.expectPunct('{', 'rule body');
    const exprs = this.query('}', open);
    this.expectPunct('}', 'rule body');
    return { loc: open.loc, exprs };
  }

  /** Literals up to (not including) the closing `end`, separated by line breaks or `;`. */
  private query(end: string, open: Token): Expr[] {
    if (this.isPunct(end))
      this.fail(open.loc, 'body', `empty body; a body needs at least one expression (use \`true\`)`);
    const exprs: Expr[] = [];
    for (;;) {
      exprs.push(this.literal());
      if (this.isPunct(';')) {
        this.next();
        if (this.isPunct(end)) return exprs;
        continue;
      }
      if (this.isPunct(end)) return exprs;
      const token = this.peek();
      if (token.kind === 'eof') this.fail(open.loc, 'body', `\`${open.text}\` is never closed; add \`${end}\``);
      if (!token.newlineBefore) {
        this.fail(
          token.loc,
          'body',
          `expected a line break, \`;\` or \`${end}\` after the expression, found ${describe(token)}${hintFor(token)}`,
        );
      }
    }
  }

  // ---------- literals ----------
  private literal(): Expr {
    const token = this.peek();
    if (this.isWord('some')) return this.trailingWith(this.someDecl());
    if (this.isWord('every')) return this.trailingWith(this.every());
    if (this.isWord('not')) {
      this.next();
      if (this.isWord('some') || this.isWord('every') || this.isWord('not')) {
        this.fail(
          this.peek().loc,
          'not',
          `\`not ${this.peek().text}\` is not allowed; negate a rule that holds the \`${this.peek().text}\` instead`,
        );
      }
      const inner = this.expr();
      this.withModifiers(inner.with);
      return { type: 'not', loc: token.loc, expr: inner };
    }
    const expr = this.expr();
    this.withModifiers(expr.with);
    return expr;
  }

  /** `some x in xs with ...` and `every ... { } with ...`: the modifiers apply to the whole expression. */
  private trailingWith(expr: Expr): Expr {
    if (!this.isWord('with') || expr.type === 'not') return expr;
    const modifiers: WithModifier[] = [];
    this.withModifiers(modifiers);
    return { ...expr, with: modifiers };
  }

  private expr(): Extract<Expr, { with: WithModifier[] }> {
    const loc = this.peek().loc;
    const left = this.termIn(true);
    if (this.isPunct(':=') || this.isPunct('=')) {
      const op = this.next();
      if (left.type === 'in' && left.key !== null)
        this.fail(op.loc, 'assignment', '`k, v in xs` cannot be assigned to; use `some k, v in xs`');
      const right = this.termIn(true);
      return op.text === ':='
        ? { type: 'assign', loc, left, right, with: [] }
        : { type: 'unify', loc, left, right, with: [] };
    }
    return { type: 'term', loc, term: left, with: [] };
  }

  private withModifiers(into: WithModifier[]): void {
    while (this.isWord('with')) {
      const loc = this.next().loc;
      const target = this.postfix();
      if (!this.isWord('as'))
        this.fail(this.peek().loc, 'with', `expected \`as\` after the \`with\` target, found ${describe(this.peek())}`);
      this.next();
      const value = this.termIn(false);
      into.push({ loc, target, value });
    }
  }

  private someDecl(): Expr {
    const loc = this.next().loc;
    const start = { pos: this.pos, wildcards: this.wildcards };
    const membership = this.attempt(() => this.termIn(true));
    if (membership !== undefined && membership.type === 'in') {
      return { type: 'somein', loc, key: membership.key, value: membership.value, collection: membership.collection };
    }
    this.pos = start.pos;
    this.wildcards = start.wildcards;
    const vars: VarTerm[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'ident' || RESERVED.has(token.text) || ['true', 'false', 'null', '_'].includes(token.text)) {
        this.fail(
          token.loc,
          'some',
          `expected a variable name (\`some x, y\` or \`some x in xs\`), found ${describe(token)}`,
        );
      }
      this.next();
      vars.push({ type: 'var', loc: token.loc, name: token.text });
      if (!this.isPunct(',')) return { type: 'some', loc, vars };
      this.next();
    }
  }

  private every(): Expr {
    const loc = this.next().loc;
    const domain = this.termIn(true);
    if (domain.type !== 'in' || domain.value.type !== 'var' || (domain.key !== null && domain.key.type !== 'var')) {
      this.fail(domain.loc, 'every', 'expected `every x in xs {` or `every k, v in xs {` with plain variable names');
    }
    const open = this.peek();
    if (!this.isPunct('{'))
      this.fail(open.loc, 'every', `expected \`{\` to start the \`every\` body, found ${describe(open)}`);
    const body = this.bracedBody();
    return {
      type: 'every',
      loc,
      key: domain.key as VarTerm | null,
      value: domain.value,
      collection: domain.collection,
      body,
    };
  }

  // ---------- terms, loosest binding first ----------
  /**
   * `keyVal` allows `k, v in xs` (expression and `some` positions; in lists the comma separates items).
   */
  private termIn(keyVal: boolean): Term {
    let left = this.relation();
    for (;;) {
      if (keyVal && this.isPunct(',')) {
        const key = left;
        const pair = this.attempt(() => {
          this.next();
          const value = this.relation();
          if (!this.isWord('in')) this.fail(this.peek().loc, 'in', 'not a key-value membership');
          this.next();
          const collection = this.relation();
          return { value, collection };
        });
        if (pair === undefined) return left;
        left = { type: 'in', loc: key.loc, key, value: pair.value, collection: pair.collection };
        continue;
      }
      if (this.isWord('in')) {
        this.next();
        const collection = this.relation();
        left = { type: 'in', loc: left.loc, key: null, value: left, collection };
        continue;
      }
      return left;
    }
  }

  private relation(): Term {
    let left = this.or();
    while (this.peek().kind === 'punct' && RELATION_OPS.has(this.peek().text)) {
      const op = this.next().text as BinaryOp;
      left = { type: 'binary', loc: left.loc, op, left, right: this.or() };
    }
    return left;
  }

  private or(): Term {
    let left = this.and();
    while (this.isPunct('|')) {
      this.next();
      left = { type: 'binary', loc: left.loc, op: '|', left, right: this.and() };
    }
    return left;
  }

  private and(): Term {
    let left = this.arith();
    while (this.isPunct('&')) {
      this.next();
      left = { type: 'binary', loc: left.loc, op: '&', left, right: this.arith() };
    }
    return left;
  }

  private arith(): Term {
    let left = this.factor();
    while (this.peek().kind === 'punct' && ARITH_OPS.has(this.peek().text)) {
      const op = this.next().text as BinaryOp;
      left = { type: 'binary', loc: left.loc, op, left, right: this.factor() };
    }
    return left;
  }

  private factor(): Term {
    let left = this.unary();
    while (this.peek().kind === 'punct' && FACTOR_OPS.has(this.peek().text)) {
      const op = this.next().text as BinaryOp;
      left = { type: 'binary', loc: left.loc, op, left, right: this.unary() };
    }
    return left;
  }

  /** As in OPA, unary minus only makes negative number literals (`-1`, `- 1`); `-x` is refused. */
  private unary(): Term {
    if (!this.isPunct('-')) return this.postfix();
    const minus = this.next();
    const operand = this.peek();
    if (operand.kind !== 'number') {
      this.fail(
        minus.loc,
        'unary minus',
        `\`-\` only negates number literals, found ${describe(operand)}; write \`0 - x\` to negate a value`,
      );
    }
    this.next();
    return { type: 'number', loc: minus.loc, text: `-${operand.text}` };
  }

  /** A primary term followed by adjacent `.name`, `[term]` and `(args)`. */
  private postfix(): Term {
    let term = this.primary();
    if (!canBeRefHead(term)) return term;
    // Only `.name` steps keep a ref callable: `a.b(x)` is a call, `a["b"](x)` is not.
    let callable = term.type === 'var';
    for (;;) {
      const token = this.peek();
      if (token.spaceBefore || token.kind !== 'punct') return term;
      if (token.text === '.') {
        this.next();
        const name = this.peek();
        if (name.kind !== 'ident' || name.spaceBefore)
          this.fail(name.loc, 'reference', `expected a field name after \`.\`, found ${describe(name)}`);
        this.next();
        term = appendPath(term, { type: 'string', loc: name.loc, value: name.text, raw: false });
      } else if (token.text === '[') {
        this.next();
        const key = this.termIn(false);
        this.expectPunct(']', 'reference');
        term = appendPath(term, key);
        callable = false;
      } else if (token.text === '(') {
        if (!callable) {
          this.fail(
            token.loc,
            'call',
            'only a plain or dotted name can be called (`f(x)`, `lib.f(x)`, `object.get(o, k, d)`)',
          );
        }
        term = this.call(term, token);
        callable = false;
      } else {
        return term;
      }
    }
  }

  private call(callee: Term, open: Token): Term {
    const name = dottedName(callee);
    if (name === null) {
      this.fail(
        open.loc,
        'call',
        'only a plain or dotted name can be called (`f(x)`, `lib.f(x)`, `object.get(o, k, d)`)',
      );
    }
    this.next();
    const args = this.termList(')', 'call arguments');
    if (name === 'set' && args.length === 0) return { type: 'set', loc: callee.loc, items: [] };
    return { type: 'call', loc: callee.loc, name, nameLoc: callee.loc, args };
  }

  private primary(): Term {
    // Every nested collection, parenthesis and body passes through here; stop long before the JavaScript
    // stack does.
    if (++this.depth > MAX_NESTING) {
      this.fail(this.peek().loc, 'term', `nesting deeper than ${MAX_NESTING} levels; split the expression up`);
    }
    try {
      return this.primaryUnguarded();
    } finally {
      this.depth--;
    }
  }

  private primaryUnguarded(): Term {
    const token = this.peek();
    const loc = token.loc;
    switch (token.kind) {
      case 'number':
        this.next();
        return { type: 'number', loc, text: token.text };
      case 'string':
        this.next();
        return { type: 'string', loc, value: token.text, raw: token.raw };
      case 'ident':
        return this.word(token);
      case 'punct':
        if (token.text === '[') return this.array();
        if (token.text === '{') return this.setOrObject();
        if (token.text === '(') {
          this.next();
          // Inside parentheses a comma cannot separate anything else, so `(k, v in xs)` is a membership term.
          const inner = this.termIn(true);
          this.expectPunct(')', 'parenthesis');
          return inner;
        }
        break;
      case 'eof':
        break;
    }
    return this.fail(loc, 'term', `expected a value, variable, reference or call, found ${describe(token)}`);
  }

  private word(token: Token): Term {
    const loc = token.loc;
    switch (token.text) {
      case 'true':
      case 'false':
        this.next();
        return { type: 'boolean', loc, value: token.text === 'true' };
      case 'null':
        this.next();
        return { type: 'null', loc };
      case '_':
        this.next();
        return { type: 'var', loc, name: `$wildcard${this.wildcards++}`, wildcard: true };
    }
    // `contains(s, "x")` is the builtin even though `contains` is a keyword in rule heads.
    if (
      RESERVED.has(token.text) &&
      !(token.text === 'contains' && this.isPunct('(', this.peek(1)) && !this.peek(1).spaceBefore)
    ) {
      this.fail(loc, 'term', `\`${token.text}\` is a keyword and cannot be used as a value here`);
    }
    this.next();
    return { type: 'var', loc, name: token.text };
  }

  // Comprehension or collection, decided as OPA does: only a single term (no operator outside parentheses)
  // followed by `|` starts a comprehension, so `[x | xs]` is a comprehension while `[a & b | c]` is an array
  // holding a union. If the comprehension body then stops at a `,`, the `|` was a union after all
  // (`[x | y, 5]`).
  private array(): Term {
    const open = this.next();
    if (this.isPunct(']')) {
      this.next();
      return { type: 'array', loc: open.loc, items: [] };
    }
    const start = this.pos;
    const head = this.unary();
    if (this.isPunct('|')) {
      this.next();
      return this.comprehensionOr(
        (body) => ({ type: 'arraycompr', loc: open.loc, head, body }),
        ']',
        open,
        () => {
          this.pos = start;
          return { type: 'array', loc: open.loc, items: this.restOfList(this.termIn(false), ']', 'array') };
        },
      );
    }
    if (!this.isPunct(',') && !this.isPunct(']')) {
      this.pos = start;
      return this.either<Term>(
        () => ({ type: 'array', loc: open.loc, items: this.restOfList(this.termIn(false), ']', 'array') }),
        () =>
          this.operatorHeadComprehension(']', open, (opHead, body) => ({
            type: 'arraycompr',
            loc: open.loc,
            head: opHead,
            body,
          })),
      );
    }
    return { type: 'array', loc: open.loc, items: this.restOfList(head, ']', 'array') };
  }

  private setOrObject(): Term {
    const open = this.next();
    if (this.isPunct('}')) {
      this.next();
      return { type: 'object', loc: open.loc, entries: [] };
    }
    const start = this.pos;
    const head = this.unary();
    if (this.isPunct('|')) {
      this.next();
      return this.comprehensionOr(
        (body) => ({ type: 'setcompr', loc: open.loc, head, body }),
        '}',
        open,
        () => {
          this.pos = start;
          return { type: 'set', loc: open.loc, items: this.restOfList(this.termIn(false), '}', 'set') };
        },
      );
    }
    if (!this.isPunct(',') && !this.isPunct('}') && !this.isPunct(':')) {
      this.pos = start;
      return this.either<Term>(
        () => {
          const key = this.termIn(false);
          if (this.isPunct(':')) return this.object(open, key);
          return { type: 'set', loc: open.loc, items: this.restOfList(key, '}', 'set') };
        },
        () =>
          this.operatorHeadComprehension('}', open, (opHead, body) => ({
            type: 'setcompr',
            loc: open.loc,
            head: opHead,
            body,
          })),
      );
    }
    if (this.isPunct(':')) return this.object(open, head);
    return { type: 'set', loc: open.loc, items: this.restOfList(head, '}', 'set') };
  }

  /** After the first key: `key: value | body}` (comprehension) or `key: value, ...}`. */
  private object(open: Token, firstKey: Term): Term {
    this.expectPunct(':', 'object');
    const valueStart = this.pos;
    const value = this.unary();
    if (this.isPunct('|')) {
      this.next();
      const comprehension = this.attempt(() => this.comprehensionBody('}', open));
      if (comprehension !== undefined)
        return { type: 'objectcompr', loc: open.loc, key: firstKey, value, body: comprehension };
    }
    if (!this.isPunct(',') && !this.isPunct('}')) {
      this.pos = valueStart;
      return this.either<Term>(
        () => this.objectEntries(open, firstKey, this.termIn(false)),
        () =>
          this.operatorHeadComprehension('}', open, (opValue, body) => ({
            type: 'objectcompr',
            loc: open.loc,
            key: firstKey,
            value: opValue,
            body,
          })),
      );
    }
    return this.objectEntries(open, firstKey, value);
  }

  /**
   * `[x * 2 | body]`: OPA only starts a comprehension after a single term, so it reads this as an array
   * holding `x * 2 | body` and fails. Once that reading has failed there is no other meaning, so the head is
   * taken as an expression up to the `|` (operators binding tighter than `|`).
   */
  private operatorHeadComprehension(end: string, open: Token, build: (head: Term, body: Body) => Term): Term {
    const head = this.and();
    this.expectPunct('|', 'comprehension');
    return build(head, this.comprehensionBody(end, open));
  }

  /** The rest of `{k: v, ...}` once the first entry is read. */
  private objectEntries(open: Token, firstKey: Term, firstValue: Term): Term {
    const entries = [{ key: firstKey, value: firstValue }];
    while (this.isPunct(',')) {
      this.next();
      if (this.isPunct('}')) break;
      const key = this.termIn(false);
      this.expectPunct(':', 'object');
      entries.push({ key, value: this.termIn(false) });
    }
    this.closeCollection('}', 'object');
    return { type: 'object', loc: open.loc, entries };
  }

  /**
   * Reads a comprehension body; when it fails on a `,` the collection is re-read by `fallback`. When both
   * readings fail, the error that got further into the source is reported.
   */
  private comprehensionOr(build: (body: Body) => Term, end: string, open: Token, fallback: () => Term): Term {
    const saved = { pos: this.pos, wildcards: this.wildcards };
    try {
      return build(this.comprehensionBody(end, open));
    } catch (bodyError) {
      if (!(bodyError instanceof ParseFailure) || !this.isPunct(',')) throw bodyError;
      this.pos = saved.pos;
      this.wildcards = saved.wildcards;
      try {
        return fallback();
      } catch (listError) {
        if (!(listError instanceof ParseFailure)) throw listError;
        throw isAfter(bodyError.loc, listError.loc) ? bodyError : listError;
      }
    }
  }

  private comprehensionBody(end: string, open: Token): Body {
    const bodyLoc = this.peek().loc;
    const exprs = this.query(end, open);
    this.expectPunct(end, 'comprehension');
    return { loc: bodyLoc, exprs };
  }

  private restOfList(first: Term, end: string, construct: string): Term[] {
    const items = [first];
    while (this.isPunct(',')) {
      this.next();
      if (this.isPunct(end)) break;
      items.push(this.termIn(false));
    }
    this.closeCollection(end, construct);
    return items;
  }

  private closeCollection(end: string, construct: string): void {
    if (!this.isPunct(end))
      this.fail(this.peek().loc, construct, `expected \`,\` or \`${end}\`, found ${describe(this.peek())}`);
    this.next();
  }

  /** Comma-separated terms up to `end` (consumed); a trailing comma is allowed. */
  private termList(end: string, construct: string): Term[] {
    const items: Term[] = [];
    while (!this.isPunct(end)) {
      items.push(this.termIn(false));
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      if (!this.isPunct(end))
        this.fail(this.peek().loc, construct, `expected \`,\` or \`${end}\`, found ${describe(this.peek())}`);
    }
    this.next();
    return items;
  }
}

const isAfter = (a: Location, b: Location): boolean => a.line > b.line || (a.line === b.line && a.col > b.col);

/** The first part of a default value that is not a constant, or null when the whole term is constant. */
function firstNonConstant(term: Term): Term | null {
  switch (term.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
    // A comprehension is closed over its own body, so it is as fixed as a constant (`default a := [x | ...]`).
    case 'arraycompr':
    case 'setcompr':
    case 'objectcompr':
      return null;
    case 'array':
    case 'set':
      return term.items.map(firstNonConstant).find((found) => found !== null) ?? null;
    case 'object':
      for (const entry of term.entries) {
        const found = firstNonConstant(entry.key) ?? firstNonConstant(entry.value);
        if (found !== null) return found;
      }
      return null;
    default:
      return term;
  }
}

function describeTerm(term: Term): string {
  switch (term.type) {
    case 'var':
      return term.wildcard === true ? 'the wildcard `_`' : `the variable \`${term.name}\``;
    case 'ref':
      return 'a reference';
    case 'call':
      return `a call to \`${term.name}\``;
    case 'binary':
      return `the operator \`${term.op}\``;
    case 'in':
      return 'an `in` membership test';
    default:
      return `a ${term.type} term`;
  }
}

function canBeRefHead(term: Term): boolean {
  switch (term.type) {
    case 'var':
    case 'ref':
    case 'call':
    case 'array':
    case 'object':
    case 'set':
    case 'arraycompr':
    case 'setcompr':
    case 'objectcompr':
      return true;
    default:
      return false;
  }
}

function appendPath(term: Term, element: Term): Term {
  if (term.type === 'ref') return { ...term, path: [...term.path, element] };
  return { type: 'ref', loc: term.loc, head: term, path: [element] };
}

/** `f` / `a.b.f` written with dots only; anything else (`a[0]`, `f(x)`) cannot be called. */
function dottedName(term: Term): string | null {
  if (term.type === 'var') return term.wildcard === true ? null : term.name;
  if (term.type !== 'ref' || term.head.type !== 'var' || term.head.wildcard === true) return null;
  const parts = [term.head.name];
  for (const element of term.path) {
    if (element.type !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(element.value)) return null;
    parts.push(element.value);
  }
  return parts.join('.');
}

/** Extra advice for tokens that usually mean syntax from another language. */
function hintFor(token: Token): string {
  if (token.kind === 'ident' && (token.text === 'or' || token.text === 'and')) {
    return ` (Rego has no \`${token.text}\`: the expressions of a body must all hold, and a rule defined twice holds when either definition does)`;
  }
  if (token.kind === 'punct' && token.text === '(' && token.spaceBefore) {
    return ' (a call takes no space between the function name and `(`)';
  }
  return '';
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of file';
    case 'ident':
      return `\`${token.text}\``;
    case 'number':
      return `number ${token.text}`;
    case 'string':
      return `string ${JSON.stringify(token.text)}`;
    case 'punct':
      return `\`${token.text}\``;
  }
}
