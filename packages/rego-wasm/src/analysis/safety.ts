// Safety: every local variable is used only after something binds it. Expressions are reordered (stable,
// first ready expression first) so a body may mention a variable before the expression that binds it, as
// Rego allows. The order chosen for each body is recorded in the annotated program (./annotated.ts), which
// the planner plans from.
import { withModifiersOf, type Body, type CallTerm, type Expr, type RefTerm, type Term, type VarTerm } from '../ast.js';
import type { Annotations, VarBinding } from './annotated.js';
import { withTarget } from './with.js';
import {
  checkArgumentTypes,
  checkOperandTypes,
  checkUnifyTypes,
  inferBoundTypes,
  type GlobalRefTypeOf,
  type TypeEnv,
  type VarTypeOf,
} from './argumentTypes.js';
import { functionResultType, ruleRefType } from './ruleTypes.js';
import { RegoCompileError } from '../errors.js';
import { scalarKey } from './constants.js';
import { resolveCall, type CallTarget, type ModuleScope, type RuleTreeNode } from './modules.js';
import {
  bodyScope,
  forEachLevelTerm,
  levelTermsOfExpr,
  resolveVar,
  varsOfTerm,
  withValueTerms,
  type VarScope,
} from './scope.js';

/** Working state of one readiness question: what is bound, and which unbound variables blocked it. */
export interface Probe {
  bound: Set<string>;
  missing: Map<string, VarTerm>;
  /**
   * Set only on the probe of an expression at its final place in its body (checkBody): the orders chosen
   * inside the expression are recorded there for the planner. Trial probes record nothing.
   */
  record?: Annotations;
}

export function newProbe(bound: Set<string>): Probe {
  return { bound: new Set(bound), missing: new Map() };
}

/** The local variable id of `term` when it is a variable of some enclosing level that is not yet bound. */
export function unboundLocal(term: Term, scope: VarScope, bound: Set<string>): string | null {
  if (term.type !== 'var') return null;
  const resolved = resolveVar(scope, term.name);
  if (resolved === null) {
    throw new RegoCompileError(term.loc, `unsafe var ${term.name}`, `${term.name} is not bound by anything`, 'unsafe');
  }
  if (resolved.kind !== 'local') return null;
  return bound.has(resolved.id) ? null : resolved.id;
}

export function comprehensionScope(term: Term, scope: VarScope): VarScope | null {
  switch (term.type) {
    case 'arraycompr':
    case 'setcompr':
      return bodyScope(term.body, scope, [term.head]);
    case 'objectcompr':
      return bodyScope(term.body, scope, [term.key, term.value]);
    default:
      return null;
  }
}

export function everyScope(expr: Extract<Expr, { type: 'every' }>, scope: VarScope): VarScope {
  const declared = [expr.value.name, ...(expr.key === null ? [] : [expr.key.name])];
  return bodyScope(expr.body, scope, [], declared);
}

/** Requires every variable of `outer` scopes used inside a nested level (deeply) to be bound. */
function requireOuterBindings(exprs: Expr[], heads: Term[], inner: VarScope, outer: VarScope, probe: Probe): void {
  const outerIds = new Set<number>();
  for (let s: VarScope | null = outer; s !== null; s = s.parent) outerIds.add(s.id);
  const visitTerm = (term: Term, scope: VarScope): void => {
    forEachLevelTerm(term, (t) => {
      if (t.type === 'var') {
        const resolved = resolveVar(scope, t.name);
        if (resolved?.kind === 'local' && outerIds.has(resolved.scope.id) && !probe.bound.has(resolved.id)) {
          probe.missing.set(resolved.id, t);
        }
        return;
      }
      const nested = comprehensionScope(t, scope);
      if (nested === null) return;
      if (t.type === 'objectcompr') visitLevel(t.body.exprs, [t.key, t.value], nested);
      else if (t.type === 'arraycompr' || t.type === 'setcompr') visitLevel(t.body.exprs, [t.head], nested);
    });
  };
  const visitLevel = (levelExprs: Expr[], levelHeads: Term[], scope: VarScope): void => {
    for (const head of levelHeads) visitTerm(head, scope);
    for (const expr of levelExprs) {
      for (const term of levelTermsOfExpr(expr)) visitTerm(term, scope);
      forEachEvery(expr, (every) => visitLevel(every.body.exprs, [], everyScope(every, scope)));
    }
  };
  visitLevel(exprs, heads, inner);
}

function forEachEvery(expr: Expr, visit: (every: Extract<Expr, { type: 'every' }>) => void): void {
  if (expr.type === 'every') visit(expr);
  else if (expr.type === 'not') forEachEvery(expr.expr, visit);
}

/** Evaluating `term` as a value: records unbound variables it needs and binds ref-iteration variables. */
export function probeTerm(term: Term, scope: VarScope, probe: Probe): void {
  switch (term.type) {
    case 'var': {
      const id = unboundLocal(term, scope, probe.bound);
      if (id !== null) probe.missing.set(id, term);
      return;
    }
    case 'ref': {
      probeTerm(term.head, scope, probe);
      for (const part of term.path) {
        const id = unboundLocal(part, scope, probe.bound);
        if (id !== null) probe.bound.add(id);
        else probeTerm(part, scope, probe);
      }
      return;
    }
    case 'array':
    case 'set':
      for (const item of term.items) probeTerm(item, scope, probe);
      return;
    case 'object':
      for (const entry of term.entries) {
        probeTerm(entry.key, scope, probe);
        probeTerm(entry.value, scope, probe);
      }
      return;
    case 'arraycompr':
    case 'setcompr':
      requireOuterBindings(term.body.exprs, [term.head], comprehensionScope(term, scope) as VarScope, scope, probe);
      return;
    case 'objectcompr':
      requireOuterBindings(
        term.body.exprs,
        [term.key, term.value],
        comprehensionScope(term, scope) as VarScope,
        scope,
        probe,
      );
      return;
    case 'call':
      for (const arg of term.args) probeTerm(arg, scope, probe);
      return;
    case 'binary':
      probeTerm(term.left, scope, probe);
      probeTerm(term.right, scope, probe);
      return;
    case 'in':
      if (term.key !== null) probeTerm(term.key, scope, probe);
      probeTerm(term.value, scope, probe);
      probeTerm(term.collection, scope, probe);
      return;
    default:
      return;
  }
}

/** True when `term` is an array/object literal with an unbound variable in a pattern position. */
export function isPattern(term: Term, scope: VarScope, bound: Set<string>): boolean {
  if (unboundLocal(term, scope, bound) !== null) return true;
  if (term.type === 'array') return term.items.some((item) => isPattern(item, scope, bound));
  if (term.type === 'object') return term.entries.some((entry) => isPattern(entry.value, scope, bound));
  return false;
}

/** Matching `pattern` against an already computed value: binds its unbound variables, compares the rest. */
export function probePatternAgainstValue(pattern: Term, scope: VarScope, probe: Probe): void {
  const id = unboundLocal(pattern, scope, probe.bound);
  if (id !== null) {
    probe.bound.add(id);
    return;
  }
  if (pattern.type === 'array' && isPattern(pattern, scope, probe.bound)) {
    for (const item of pattern.items) probePatternAgainstValue(item, scope, probe);
    return;
  }
  if (pattern.type === 'object' && isPattern(pattern, scope, probe.bound)) {
    for (const entry of pattern.entries) {
      probeTerm(entry.key, scope, probe);
      probePatternAgainstValue(entry.value, scope, probe);
    }
    return;
  }
  probeTerm(pattern, scope, probe);
}

export type UnifyPair = [Term, Term];

/**
 * Splits `l = r` on two literals of the same shape into pairs; null when they are not two such literals.
 * An empty list with `mismatch` means the shapes can never unify (the expression just fails).
 */
export function unifyPairs(l: Term, r: Term): { pairs: UnifyPair[]; mismatch: boolean } | null {
  const literalTypes = new Set(['array', 'object', 'set', 'null', 'boolean', 'number', 'string']);
  const destructures = l.type === 'array' || l.type === 'object' || r.type === 'array' || r.type === 'object';
  if (destructures && literalTypes.has(l.type) && literalTypes.has(r.type) && l.type !== r.type) {
    return { pairs: [], mismatch: true };
  }
  if (l.type === 'array' && r.type === 'array') {
    if (l.items.length !== r.items.length) return { pairs: [], mismatch: true };
    return { pairs: l.items.map((item, i) => [item, r.items[i] as Term]), mismatch: false };
  }
  if (l.type === 'object' && r.type === 'object') {
    const rightByKey = new Map<string, Term>();
    for (const entry of r.entries) {
      const key = scalarKey(entry.key);
      if (key === null) return null;
      rightByKey.set(key, entry.value);
    }
    if (rightByKey.size !== l.entries.length) return { pairs: [], mismatch: true };
    const pairs: UnifyPair[] = [];
    for (const entry of l.entries) {
      const key = scalarKey(entry.key);
      if (key === null) return null;
      const other = rightByKey.get(key);
      if (other === undefined) return { pairs: [], mismatch: true };
      pairs.push([entry.value, other]);
    }
    return { pairs, mismatch: false };
  }
  return null;
}

/** The order in which literal pairs can be unified, or null (with probe.missing filled) when stuck. */
export function unifyPairOrder(pairs: UnifyPair[], scope: VarScope, probe: Probe): UnifyPair[] | null {
  const pending = [...pairs];
  const ordered: UnifyPair[] = [];
  while (pending.length > 0) {
    const index = pending.findIndex(([a, b]) => {
      const trial = newProbe(probe.bound);
      probeUnify(a, b, scope, trial);
      return trial.missing.size === 0;
    });
    if (index < 0) {
      for (const [a, b] of pending) probeUnify(a, b, scope, probe);
      return null;
    }
    const [pair] = pending.splice(index, 1) as [UnifyPair];
    probeUnify(pair[0], pair[1], scope, probe);
    ordered.push(pair);
  }
  return ordered;
}

export function probeUnify(l: Term, r: Term, scope: VarScope, probe: Probe): void {
  const leftVar = unboundLocal(l, scope, probe.bound);
  const rightVar = unboundLocal(r, scope, probe.bound);
  if (leftVar !== null && rightVar !== null) {
    probe.missing.set(leftVar, l as VarTerm);
    probe.missing.set(rightVar, r as VarTerm);
    return;
  }
  if (leftVar !== null || rightVar !== null) {
    const [variable, value] = leftVar !== null ? [l, r] : [r, l];
    probeTerm(value, scope, probe);
    if (probe.missing.size === 0) probePatternAgainstValue(variable, scope, probe);
    return;
  }
  const split = unifyPairs(l, r);
  if (split !== null) {
    if (split.mismatch) {
      throw new RegoCompileError(
        l.loc,
        'unification',
        'these two literals have different shapes (array length or object keys), so = can never succeed',
        'invalid',
      );
    }
    const order = unifyPairOrder(split.pairs, scope, probe);
    if (order !== null) probe.record?.unifications.set(l, order);
    return;
  }
  const leftPattern = isPattern(l, scope, probe.bound);
  const rightPattern = isPattern(r, scope, probe.bound);
  if (leftPattern && rightPattern) {
    // Two patterns that are not literals of the same shape (e.g. an array against an object) never unify,
    // but their variables stay unbound, which makes later uses unsafe; require them bound instead.
    probeTerm(l, scope, probe);
    probeTerm(r, scope, probe);
    return;
  }
  if (leftPattern || rightPattern) {
    const [pattern, value] = leftPattern ? [l, r] : [r, l];
    probeTerm(value, scope, probe);
    if (probe.missing.size === 0) probePatternAgainstValue(pattern, scope, probe);
    return;
  }
  probeTerm(l, scope, probe);
  probeTerm(r, scope, probe);
}

/** A call used as an expression with one argument more than the function takes: the last one is its output. */
export function callOutputArgument(
  term: Term,
  root: RuleTreeNode,
  module: ModuleScope,
): { inputs: Term[]; output: Term } | null {
  if (term.type !== 'call') return null;
  return outputArgument(term, resolveCall(root, module, term.name, term.nameLoc));
}

/** callOutputArgument for a call whose target is known. */
export function outputArgument(term: CallTerm, target: CallTarget): { inputs: Term[]; output: Term } | null {
  if (target.kind === 'print') return null;
  if (term.args.length === target.arity + 1) {
    return { inputs: term.args.slice(0, target.arity), output: term.args[target.arity] as Term };
  }
  return null;
}

function probeAssignTarget(left: Term, scope: VarScope, probe: Probe): void {
  if (left.type === 'var') {
    const resolved = resolveVar(scope, left.name);
    if (resolved?.kind !== 'local' || probe.bound.has(resolved.id)) {
      throw new RegoCompileError(
        left.loc,
        `var ${left.name} assigned above`,
        `${left.name} is already bound; use = or == to compare, or pick another name`,
        'conflict',
      );
    }
    probe.bound.add(resolved.id);
    return;
  }
  if (left.type === 'array') {
    for (const item of left.items) probeAssignTarget(item, scope, probe);
    return;
  }
  if (left.type === 'object') {
    for (const entry of left.entries) {
      probeTerm(entry.key, scope, probe);
      probeAssignTarget(entry.value, scope, probe);
    }
    return;
  }
  if (left.type === 'ref' || left.type === 'call' || left.type === 'set' || left.type.endsWith('compr')) {
    throw new RegoCompileError(
      left.loc,
      ':=',
      'the left side of := must be a variable or an array/object pattern of variables',
      'invalid',
    );
  }
  probeTerm(left, scope, probe); // scalars inside a pattern are compared
}

/**
 * References in a comparison or call that iterate (a path variable nothing has bound yet) and can run first:
 * OPA evaluates them before the rest, so `some foo; foo == input.foos[foo]` is safe. Only refs whose head
 * needs nothing unbound and whose path parts are variables or scalars qualify; in source order.
 */
export function iteratingRefs(term: Term, scope: VarScope, bound: Set<string>): RefTerm[] {
  if (term.type !== 'binary' && term.type !== 'call' && term.type !== 'in') return [];
  const refs: RefTerm[] = [];
  forEachLevelTerm(term, (t) => {
    if (t.type !== 'ref' || t.head.type !== 'var') return;
    if (unboundLocal(t.head, scope, bound) !== null) return;
    let iterates = false;
    for (const part of t.path) {
      if (part.type === 'var') {
        if (unboundLocal(part, scope, bound) !== null) iterates = true;
      } else if (part.type !== 'string' && part.type !== 'number' && part.type !== 'boolean' && part.type !== 'null') {
        return;
      }
    }
    if (iterates) refs.push(t);
  });
  return refs;
}

/** Vars an expression needs (in probe.missing) and binds (added to probe.bound), given what is bound. */
export function probeExpr(expr: Expr, scope: VarScope, probe: Probe): void {
  // `with` values are evaluated first, in the enclosing body: they need their variables bound already.
  const withValues = withValueTerms(expr);
  if (withValues.length > 0) {
    const before = new Set(probe.bound);
    for (const value of withValues) probeTerm(value, scope, probe);
    if (probe.missing.size > 0) return;
    probe.bound.clear();
    for (const id of before) probe.bound.add(id);
  }
  switch (expr.type) {
    case 'term': {
      const output = callOutputArgument(expr.term, scope.root, scope.module);
      if (output === null) {
        const refs = iteratingRefs(expr.term, scope, probe.bound);
        probe.record?.hoists.set(expr.term, refs);
        for (const ref of refs) probeTerm(ref, scope, probe);
        probeTerm(expr.term, scope, probe);
        return;
      }
      for (const input of output.inputs) probeTerm(input, scope, probe);
      if (probe.missing.size === 0) probePatternAgainstValue(output.output, scope, probe);
      return;
    }
    case 'assign':
      probeTerm(expr.right, scope, probe);
      if (probe.missing.size === 0) probeAssignTarget(expr.left, scope, probe);
      return;
    case 'unify':
      probeUnify(expr.left, expr.right, scope, probe);
      return;
    case 'not': {
      // Negation binds nothing outside; wildcards in it are its own, any other variable must be bound first.
      const inner: Probe = { ...newProbe(probe.bound), record: probe.record };
      probeExpr(expr.expr, scope, inner);
      for (const [id, v] of inner.missing) probe.missing.set(id, v);
      for (const id of inner.bound) {
        if (probe.bound.has(id)) continue;
        const name = id.slice(id.indexOf(':') + 1);
        if (!name.startsWith('$')) {
          const v = findVar(levelTermsOfExpr(expr.expr), name);
          if (v !== null) probe.missing.set(id, v);
        }
      }
      return;
    }
    case 'some':
      return;
    case 'somein':
      probeTerm(expr.collection, scope, probe);
      if (probe.missing.size > 0) return;
      if (expr.key !== null) probePatternAgainstValue(expr.key, scope, probe);
      probePatternAgainstValue(expr.value, scope, probe);
      return;
    case 'every':
      probeTerm(expr.collection, scope, probe);
      requireOuterBindings(expr.body.exprs, [], everyScope(expr, scope), scope, probe);
      return;
  }
}

function findVar(terms: Term[], name: string): VarTerm | null {
  let found: VarTerm | null = null;
  for (const term of terms) {
    forEachLevelTerm(term, (t) => {
      if (found === null && t.type === 'var' && t.name === name) found = t;
    });
  }
  return found;
}

export function unsafeVarError(v: VarTerm): RegoCompileError {
  return new RegoCompileError(
    v.loc,
    `unsafe var ${v.name}`,
    `nothing binds ${v.name} before it is used; bind it (for example with := or some ... in) or fix the name`,
    'unsafe',
  );
}

/** The first expression, in source order, that can run with what is bound; -1 when none can. */
export function nextReadyExpr(exprs: Expr[], scope: VarScope, bound: Set<string>): number {
  return exprs.findIndex((expr) => {
    const probe = newProbe(bound);
    probeExpr(expr, scope, probe);
    return probe.missing.size === 0;
  });
}

/** Reorders a body for safety, or throws naming the first variable nothing binds. */
export function orderBody(exprs: Expr[], scope: VarScope, bound: Set<string>): { ordered: Expr[]; bound: Set<string> } {
  const remaining = [...exprs];
  const ordered: Expr[] = [];
  let current = new Set(bound);
  while (remaining.length > 0) {
    const index = nextReadyExpr(remaining, scope, current);
    if (index < 0) {
      const probe = newProbe(current);
      probeExpr(remaining[0] as Expr, scope, probe);
      const [first] = probe.missing.values();
      if (first !== undefined) throw unsafeVarError(first);
      throw new RegoCompileError(
        (remaining[0] as Expr).loc,
        'unsafe expression',
        'this expression cannot be ordered after its bindings',
        'unsafe',
      );
    }
    const [expr] = remaining.splice(index, 1) as [Expr];
    const probe = newProbe(current);
    probeExpr(expr, scope, probe);
    current = probe.bound;
    ordered.push(expr);
  }
  return { ordered, bound: current };
}

/** Head terms are evaluated after the body: all their variables must be bound by then. */
export function requireBound(terms: Term[], scope: VarScope, bound: Set<string>): Set<string> {
  const probe = newProbe(bound);
  for (const term of terms) probeTerm(term, scope, probe);
  const [first] = probe.missing.values();
  if (first !== undefined) throw unsafeVarError(first);
  return probe.bound;
}

/**
 * Records what each call in `terms` (at this level) calls, or the refusal a plan that reaches it raises:
 * the deferred kinds (an unknown function, a refused builtin) and the errors only planning raised before.
 */
function resolveCalls(terms: Term[], scope: VarScope, into: Annotations): void {
  for (const term of terms) {
    forEachLevelTerm(term, (t) => {
      if (t.type !== 'call' || into.calls.has(t)) return;
      try {
        into.calls.set(t, resolveCall(scope.root, scope.module, t.name, t.nameLoc));
      } catch (error) {
        if (!(error instanceof RegoCompileError)) throw error;
        into.calls.set(t, { kind: 'refused', error });
      }
    });
  }
}

/**
 * The type inferred for a variable occurrence at this level: a local's, by its id (enclosing levels too); a
 * rule's (ruleTypes.ts) for the name of a rule of the package or an import alias of one.
 */
function localTypeOf(scope: VarScope, into: Annotations): VarTypeOf {
  return (v) => {
    const resolved = resolveVar(scope, v.name);
    if (resolved === null) return null;
    return resolved.kind === 'local'
      ? (into.localTypes.get(resolved.id) ?? null)
      : ruleRefType(scope.root, resolved.path, []);
  };
}

/** The type of a reference into a rule document (`data.pkg.p.x`, `p.x`); undefined for a local head. */
function globalRefTypeOf(scope: VarScope): GlobalRefTypeOf {
  return (ref) => {
    if (ref.head.type !== 'var') return undefined;
    const resolved = resolveVar(scope, ref.head.name);
    if (resolved === null || resolved.kind === 'local') return undefined;
    return ruleRefType(scope.root, resolved.path, ref.path);
  };
}

/**
 * What types the terms of this level: builtins as the calls resolved, locals, rule documents, and the results of
 * the policy's functions (ruleTypes.ts).
 */
function typeEnv(scope: VarScope, into: Annotations): TypeEnv {
  return {
    builtinOf: (call) => {
      const target = into.calls.get(call);
      return target?.kind === 'builtin' ? target.name : undefined;
    },
    varType: localTypeOf(scope, into),
    globalRef: globalRefTypeOf(scope),
    callResult: (call) => {
      const target = into.calls.get(call);
      return target?.kind === 'function' ? functionResultType(scope.root, target.group) : null;
    },
  };
}

/**
 * Once every call of the level is resolved (a nested call's result type is its builtin's) and the level's
 * locals typed: the argument types. OPA's type checker refuses the module, whether or not an entrypoint
 * reaches the call.
 */
function checkCallTypes(terms: Term[], scope: VarScope, into: Annotations): void {
  const env = typeEnv(scope, into);
  for (const term of terms) {
    forEachLevelTerm(term, (t) => {
      if (t.type === 'binary') checkOperandTypes(t.op, [t.left, t.right], env);
      const name = t.type === 'call' ? env.builtinOf(t) : undefined;
      if (t.type === 'call' && name !== undefined) checkArgumentTypes(name, t.args, env);
    });
  }
}

/** Records the calls of `terms` (resolveCalls) and checks their argument types. */
export function annotateCalls(terms: Term[], scope: VarScope, into: Annotations): void {
  resolveCalls(terms, scope, into);
  checkCallTypes(terms, scope, into);
}

/**
 * Types the locals a body binds (into.localTypes), walking its expressions in the safe order with what is
 * bound before each: the expression that first binds a variable decides its type, as in OPA's checker.
 */
function inferLocalTypes(exprs: Expr[], scope: VarScope, bound: Set<string>, into: Annotations): void {
  const env = typeEnv(scope, into);
  let current = new Set(bound);
  for (const expr of exprs) {
    const before = current;
    const bindsLocal = (t: Term): string | null => {
      if (t.type !== 'var') return null;
      const resolved = resolveVar(scope, t.name);
      return resolved?.kind === 'local' && !before.has(resolved.id) ? resolved.id : null;
    };
    if (expr.type === 'unify') checkUnifyTypes(expr.left, expr.right, bindsLocal, env);
    inferBoundTypes(expr, bindsLocal, env, into.localTypes);
    const probe = newProbe(current);
    probeExpr(expr, scope, probe);
    current = probe.bound;
  }
}

/** What each variable occurrence in `terms` (at this level) refers to; `parameters` are the function's. */
export function bindVars(terms: Term[], scope: VarScope, parameters: ReadonlySet<string>): Map<VarTerm, VarBinding> {
  const bindings = new Map<VarTerm, VarBinding>();
  for (const v of terms.flatMap(varsOfTerm)) {
    const resolved = resolveVar(scope, v.name);
    if (resolved === null) continue; // unsafe: the probe that orders the body reports it
    if (resolved.kind === 'local') {
      bindings.set(v, { kind: 'local', id: resolved.id, parameter: parameters.has(resolved.id) });
      continue;
    }
    const alias = scope.module.aliases.get(v.name);
    const via =
      v.name === 'input' || v.name === 'data'
        ? 'root'
        : alias !== undefined && alias.join('.') === resolved.path.join('.')
          ? 'import'
          : 'rule';
    bindings.set(v, { kind: 'global', path: resolved.path, via });
  }
  return bindings;
}

/** Records the target of each `with` modifier of `expr` (or of the expression a `not` negates). */
export function annotateWith(expr: Expr, scope: VarScope, into: Annotations): void {
  for (const modifier of withModifiersOf(expr)) {
    try {
      into.withTargets.set(modifier, withTarget(modifier, scope));
    } catch (error) {
      if (!(error instanceof RegoCompileError)) throw error;
      into.withTargets.set(modifier, { kind: 'refused', error });
    }
  }
}

/** Records what each variable occurrence in `terms` (at this level) refers to. */
export function annotateVars(terms: Term[], scope: VarScope, into: Annotations): void {
  for (const [v, binding] of bindVars(terms, scope, into.parameters)) into.vars.set(v, binding);
}

/**
 * Checks a body and, recursively, the comprehension and `every` bodies inside it; records each body (its
 * scope and safe order), each call and each variable occurrence in them in `into`. `typed`: whether OPA's
 * type checker reads this body. It checks rule bodies and comprehension bodies (with the variables around
 * them), but not the body of an `every` nor anything nested in one (its CheckBody walks a body's expressions
 * without descending into them, and its closures are comprehensions only), so argument types are not
 * checked there: a refusal OPA would not make is a divergence too.
 */
export function checkBody(
  body: Body,
  scope: VarScope,
  bound: Set<string>,
  heads: Term[],
  into: Annotations,
  clauseVars: ReadonlyMap<VarTerm, VarBinding> = new Map(),
  typed = true,
): void {
  const { ordered, bound: after } = orderBody(body.exprs, scope, bound);
  into.bodies.set(body, { scope, exprs: ordered, clauseVars });
  const levelTerms = [...heads, ...ordered.flatMap(levelTermsOfExpr)];
  resolveCalls(levelTerms, scope, into);
  if (typed) {
    inferLocalTypes(ordered, scope, bound, into);
    checkCallTypes(levelTerms, scope, into);
  }
  annotateVars(levelTerms, scope, into);
  for (const expr of ordered) annotateWith(expr, scope, into);
  let current = new Set(bound);
  for (const expr of ordered) {
    const probe: Probe = { ...newProbe(current), record: into };
    probeExpr(expr, scope, probe);
    current = probe.bound;
    checkNested(expr, scope, current, into, typed);
  }
  const final = requireBound(heads, scope, after);
  for (const head of heads) checkNestedTerm(head, scope, final, into, typed);
}

function checkNested(expr: Expr, scope: VarScope, bound: Set<string>, into: Annotations, typed: boolean): void {
  for (const term of levelTermsOfExpr(expr)) checkNestedTerm(term, scope, bound, into, typed);
  forEachEvery(expr, (every) => {
    const inner = everyScope(every, scope);
    const declared = new Set(bound);
    for (const v of [every.value, ...(every.key === null ? [] : [every.key])]) declared.add(`${inner.id}:${v.name}`);
    checkBody(every.body, inner, declared, [], into, new Map(), false);
  });
}

/** Checks the comprehension bodies inside a term (at this level), with `bound` bound around them. */
export function checkNestedTerm(
  term: Term,
  scope: VarScope,
  bound: Set<string>,
  into: Annotations,
  typed = true,
): void {
  forEachLevelTerm(term, (t) => {
    const nested = comprehensionScope(t, scope);
    if (nested === null) return;
    if (t.type === 'objectcompr') checkBody(t.body, nested, bound, [t.key, t.value], into, new Map(), typed);
    else if (t.type === 'arraycompr' || t.type === 'setcompr') {
      checkBody(t.body, nested, bound, [t.head], into, new Map(), typed);
    }
  });
}
