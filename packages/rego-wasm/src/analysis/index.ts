// Analysis of a parsed module set: rule groups and the virtual document tree, imports, and safety of every
// body (the planner re-derives the same order when it plans a rule that an entrypoint reaches). Errors in
// the policy are raised for every rule; refusals of unsupported constructs (`with`, calls outside the
// builtin subset) only for rules an entrypoint reaches, since nothing else is ever evaluated.
import type { Body, Expr, Module, Rule, Term } from '../ast.js';
import { RegoCompileError } from '../errors.js';
import { buildModuleSet, UNSUPPORTED_CALL_CONSTRUCTS, type ModuleScope, type ModuleSet, type RuleTreeNode } from './modules.js';
import { checkBody } from './safety.js';
import { levelScope, varsOfTerm, type VarScope } from './scope.js';

export type { ModuleSet, RuleGroup, RuleTreeNode, ModuleScope, RuleDefinition, CallTarget } from './modules.js';
export { findNode, resolveCall, resolveGlobalName } from './modules.js';

/** Everything a clause (rule body or else body) needs to be planned: its scope and its parameters' ids. */
export interface ClauseScope {
  scope: VarScope;
  /** Variable ids bound before the body runs (function parameters). */
  bound: Set<string>;
}

function headTerms(rule: Rule): Term[] {
  return [...(rule.key === null ? [] : [rule.key]), rule.value];
}

function argNames(rule: Rule): string[] {
  return (rule.args ?? []).flatMap(varsOfTerm).map((v) => v.name);
}

/** The scope of a rule's body, or of one of its else bodies (which see the same parameters). */
export function clauseScope(rule: Rule, body: Body, value: Term, module: ModuleScope, root: RuleTreeNode): ClauseScope {
  const heads = body === rule.body ? headTerms(rule) : [value];
  const scope = levelScope(body, null, module, root, { exprs: body.exprs, terms: [...heads, ...(rule.args ?? [])], declared: argNames(rule) });
  const bound = new Set(argNames(rule).map((name) => `${scope.id}:${name}`));
  return { scope, bound };
}

function forEachExprDeep(exprs: Expr[], visit: (expr: Expr) => void): void {
  const visitTerm = (term: Term): void => {
    switch (term.type) {
      case 'ref':
        visitTerm(term.head);
        term.path.forEach(visitTerm);
        return;
      case 'array':
      case 'set':
        term.items.forEach(visitTerm);
        return;
      case 'object':
        for (const entry of term.entries) {
          visitTerm(entry.key);
          visitTerm(entry.value);
        }
        return;
      case 'arraycompr':
      case 'setcompr':
        visitTerm(term.head);
        forEachExprDeep(term.body.exprs, visit);
        return;
      case 'objectcompr':
        visitTerm(term.key);
        visitTerm(term.value);
        forEachExprDeep(term.body.exprs, visit);
        return;
      case 'call':
        term.args.forEach(visitTerm);
        return;
      case 'binary':
        visitTerm(term.left);
        visitTerm(term.right);
        return;
      case 'in':
        if (term.key !== null) visitTerm(term.key);
        visitTerm(term.value);
        visitTerm(term.collection);
        return;
      default:
        return;
    }
  };
  for (const expr of exprs) {
    visit(expr);
    switch (expr.type) {
      case 'term':
        visitTerm(expr.term);
        break;
      case 'assign':
      case 'unify':
        visitTerm(expr.left);
        visitTerm(expr.right);
        break;
      case 'not':
        forEachExprDeep([expr.expr], visit);
        break;
      case 'somein':
        if (expr.key !== null) visitTerm(expr.key);
        visitTerm(expr.value);
        visitTerm(expr.collection);
        break;
      case 'every':
        visitTerm(expr.collection);
        forEachExprDeep(expr.body.exprs, visit);
        break;
      default:
        break;
    }
  }
}

/**
 * `with` is refused in every rule an entrypoint reaches (the planner calls this): unit-test rules that use it
 * may live beside the policy without blocking the build, since nothing evaluates them.
 */
export function refuseWith(rule: Rule): void {
  // Head terms can hold comprehensions too: wrap them as expressions so one walk covers everything.
  const headExprs: Expr[] = [rule.value, ...(rule.key === null ? [] : [rule.key]), ...(rule.args ?? []), ...rule.elses.map((e) => e.value)]
    .map((term) => ({ type: 'term', term, with: [], loc: term.loc }));
  const bodies = [rule.body, ...rule.elses.map((e) => e.body), { loc: rule.loc, exprs: headExprs }];
  for (const body of bodies) {
    forEachExprDeep(body.exprs, (expr) => {
      if ('with' in expr && expr.with.length > 0) {
        const first = expr.with[0];
        throw new RegoCompileError(first?.loc ?? expr.loc, 'with', '`with` modifiers are not supported by the Wasm compiler; restructure the policy to pass values explicitly', 'unsupported');
      }
    });
  }
}

export function checkRule(rule: Rule, module: ModuleScope, root: RuleTreeNode): void {
  if (rule.default) {
    const vars = [rule.value, ...(rule.args ?? [])].flatMap(varsOfTerm).filter((v) => !argNames(rule).includes(v.name));
    const first = vars[0];
    if (first !== undefined) {
      throw new RegoCompileError(first.loc, 'default', `a default value must be a constant; ${first.name} is a variable or a rule`, 'invalid');
    }
    return;
  }
  const main = clauseScope(rule, rule.body, rule.value, module, root);
  checkBody(rule.body, main.scope, main.bound, headTerms(rule));
  for (const clause of rule.elses) {
    const elseScope = clauseScope(rule, clause.body, clause.value, module, root);
    checkBody(clause.body, elseScope.scope, elseScope.bound, [clause.value]);
  }
}

/** Builds the rule tree and checks every rule of every module; throws RegoCompileError on the first problem. */
export function analyzeModules(modules: Module[]): ModuleSet {
  const moduleSet = buildModuleSet(modules);
  for (const scope of moduleSet.modules) {
    for (const rule of scope.module.rules) {
      try {
        checkRule(rule, scope, moduleSet.root);
      } catch (err) {
        if (!(err instanceof RegoCompileError) || !UNSUPPORTED_CALL_CONSTRUCTS.has(err.construct)) throw err;
        moduleSet.deferredRefusals.set(rule, err);
      }
    }
  }
  return moduleSet;
}
