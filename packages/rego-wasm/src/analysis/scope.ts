// Variable scoping. A body (rule body, else body, comprehension body, `every` body) is one level: a name used
// in it is either global (input, data, an import alias, a rule of the package), a local of an enclosing level
// (comprehensions see outer bindings), or a local of this level. Declarations (`some`, `:=`, `some ... in`,
// function parameters, `every` variables) make a name local even when it would otherwise be global.
import type { Body, Expr, Term, VarTerm } from '../ast.js';
import { RegoCompileError } from '../errors.js';
import { builtinSpec } from '../builtins/catalog.js';
import { resolveGlobalName, type ModuleScope, type RuleTreeNode } from './modules.js';

export interface VarScope {
  id: number;
  parent: VarScope | null;
  locals: Set<string>;
  declared: Set<string>;
  module: ModuleScope;
  root: RuleTreeNode;
}

export type ResolvedVar =
  { kind: 'local'; id: string; name: string; scope: VarScope } | { kind: 'global'; path: string[] };

let nextScopeId = 0;

/** Calls visit for every term reachable at this level, without entering nested bodies (their own level). */
export function forEachLevelTerm(term: Term, visit: (term: Term) => void): void {
  visit(term);
  switch (term.type) {
    case 'ref':
      forEachLevelTerm(term.head, visit);
      for (const part of term.path) forEachLevelTerm(part, visit);
      return;
    case 'array':
    case 'set':
      for (const item of term.items) forEachLevelTerm(item, visit);
      return;
    case 'object':
      for (const entry of term.entries) {
        forEachLevelTerm(entry.key, visit);
        forEachLevelTerm(entry.value, visit);
      }
      return;
    case 'call':
      for (const arg of term.args) forEachLevelTerm(arg, visit);
      return;
    case 'binary':
      forEachLevelTerm(term.left, visit);
      forEachLevelTerm(term.right, visit);
      return;
    case 'in':
      if (term.key !== null) forEachLevelTerm(term.key, visit);
      forEachLevelTerm(term.value, visit);
      forEachLevelTerm(term.collection, visit);
      return;
    default:
      return; // scalars, vars and comprehensions (whose insides are a level of their own)
  }
}

/** The terms of an expression that belong to the enclosing level (an `every` body is its own level). */
export function levelTermsOfExpr(expr: Expr): Term[] {
  // `with` values are evaluated in the enclosing body, before the expression they modify.
  return [...ownLevelTerms(expr), ...withValueTerms(expr)];
}

/** `a.b.c` written as a var or a ref with constant string segments, else null. */
export function dottedName(term: Term): string | null {
  if (term.type === 'var') return term.name;
  if (term.type !== 'ref' || term.head.type !== 'var') return null;
  const parts = [term.head.name];
  for (const part of term.path) {
    if (part.type !== 'string') return null;
    parts.push(part.value);
  }
  return parts.join('.');
}

/**
 * The values of an expression's `with` modifiers that are evaluated as terms: a builtin's name (`with
 * time.now_ns as mock_now` replaces it, `with f as count` names it) is a function reference, not a variable.
 */
export function withValueTerms(expr: Expr): Term[] {
  if (expr.type === 'not') return [];
  return (expr.with ?? [])
    .map((modifier) => modifier.value)
    .filter((value) => {
      const name = dottedName(value);
      return name === null || builtinSpec(name) === undefined;
    });
}

function ownLevelTerms(expr: Expr): Term[] {
  switch (expr.type) {
    case 'term':
      return [expr.term];
    case 'assign':
    case 'unify':
      return [expr.left, expr.right];
    case 'not':
      return levelTermsOfExpr(expr.expr);
    case 'some':
      return [...expr.vars];
    case 'somein':
      return [...(expr.key === null ? [] : [expr.key]), expr.value, expr.collection];
    case 'every':
      return [expr.collection];
  }
}

export function varsOfTerm(term: Term): VarTerm[] {
  const vars: VarTerm[] = [];
  forEachLevelTerm(term, (t) => {
    if (t.type === 'var') vars.push(t);
  });
  return vars;
}

function declaredByExpr(expr: Expr): string[] {
  switch (expr.type) {
    case 'some':
      return expr.vars.map((v) => v.name);
    case 'assign':
      return varsOfTerm(expr.left).map((v) => v.name);
    case 'somein':
      return [...(expr.key === null ? [] : varsOfTerm(expr.key)), ...varsOfTerm(expr.value)].map((v) => v.name);
    default:
      return [];
  }
}

export interface LevelParts {
  exprs: Expr[];
  /** Head terms evaluated at this level (rule value and key, comprehension head). */
  terms: Term[];
  /** Names declared up front: function parameters, `every` key and value. */
  declared: string[];
}

export function resolveVar(scope: VarScope, name: string): ResolvedVar | null {
  for (let s: VarScope | null = scope; s !== null; s = s.parent) {
    if (s.locals.has(name)) return { kind: 'local', id: `${s.id}:${name}`, name, scope: s };
  }
  const path = resolveGlobalName(scope.root, scope.module, name);
  return path === null ? null : { kind: 'global', path };
}

const scopeCache = new WeakMap<object, VarScope>();

/**
 * The scope of one level. Cached by its AST node so the safety check and the planner agree on every name.
 */
export function levelScope(
  key: object,
  parent: VarScope | null,
  module: ModuleScope,
  root: RuleTreeNode,
  parts: LevelParts,
): VarScope {
  const cached = scopeCache.get(key);
  if (cached !== undefined) return cached;
  const declared = new Set<string>(parts.declared);
  const usedAbove = new Set<string>();
  for (const expr of parts.exprs) {
    const declaredHere = declaredByExpr(expr);
    for (const name of new Set(declaredHere)) {
      if (declared.has(name) && !name.startsWith('$')) {
        const v = levelTermsOfExpr(expr)
          .flatMap(varsOfTerm)
          .find((t) => t.name === name);
        throw new RegoCompileError(
          v?.loc ?? expr.loc,
          `var ${name} declared above`,
          `${name} is declared twice in the same body; rename one of them`,
          'conflict',
        );
      }
    }
    for (const name of declaredHere) {
      if (usedAbove.has(name)) {
        const v = levelTermsOfExpr(expr)
          .flatMap(varsOfTerm)
          .find((t) => t.name === name);
        throw new RegoCompileError(
          v?.loc ?? expr.loc,
          `var ${name} referenced above`,
          `${name} is declared here but already used earlier in the body; rename one of them`,
          'conflict',
        );
      }
      declared.add(name);
    }
    if (expr.type === 'some') continue;
    for (const term of levelTermsOfExpr(expr)) for (const v of varsOfTerm(term)) usedAbove.add(v.name);
  }
  for (const name of declared) {
    if (name === 'input' || name === 'data') {
      throw new RegoCompileError(
        parts.exprs[0]?.loc ?? { file: module.module.file, line: 1, col: 1 },
        `${name} shadowed`,
        `${name} cannot be redeclared as a local variable`,
        'conflict',
      );
    }
  }
  const scope: VarScope = { id: nextScopeId++, parent, locals: new Set(declared), declared, module, root };
  const consider = (v: VarTerm): void => {
    if (scope.locals.has(v.name)) return;
    if (v.wildcard === true) {
      scope.locals.add(v.name);
      return;
    }
    if (resolveVar(scope, v.name) !== null) return; // outer local or global
    scope.locals.add(v.name);
  };
  const terms = [...parts.terms, ...parts.exprs.flatMap(levelTermsOfExpr)];
  for (const term of terms) for (const v of varsOfTerm(term)) consider(v);
  scopeCache.set(key, scope);
  return scope;
}

export function bodyScope(body: Body, parent: VarScope, heads: Term[], declared: string[] = []): VarScope {
  return levelScope(body, parent, parent.module, parent.root, { exprs: body.exprs, terms: heads, declared });
}
