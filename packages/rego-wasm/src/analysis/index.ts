// Analysis of a parsed module set: rule groups and the virtual document tree, imports, and safety of every
// body. It returns the annotated program (./annotated.ts): each body's scope and safe order, which the
// planner reads. Errors in the policy are raised for every rule; refusals of unsupported constructs (calls
// outside the builtin subset) only for rules an entrypoint reaches, since nothing else is ever evaluated.
import type { Body, Module, Rule, Term } from '../ast.js';
import { RegoCompileError } from '../errors.js';
import { buildModuleSet, DEFERRED_KINDS, type ModuleScope, type RuleTreeNode } from './modules.js';
import { annotatedProgram, type AnnotatedProgram, type Annotations } from './annotated.js';
import { annotateCalls, annotateVars, bindVars, checkBody, checkNestedTerm } from './safety.js';
import { levelScope, varsOfTerm, type VarScope } from './scope.js';

export type { ModuleSet, RuleGroup, RuleTreeNode, ModuleScope, RuleDefinition, CallTarget } from './modules.js';
export { constantJson } from './constants.js';
export type { FuncMock, WithTarget } from './with.js';
export {
  annotatedBody,
  annotatedHoists,
  annotatedProgram,
  annotatedUnification,
  annotatedWithTarget,
  resolvedCall,
  varBinding,
  type AnnotatedBody,
  type AnnotatedProgram,
  type Annotations,
  type CallResolution,
  type VarBinding,
} from './annotated.js';
export { findNode, resolveCall, resolveGlobalName } from './modules.js';

/** Everything a clause (rule body or else body) needs to be planned: its scope and its parameters' ids. */
export interface ClauseScope {
  scope: VarScope;
  /** Variable ids bound before the body runs (function parameters). */
  bound: Set<string>;
}

function headTerms(rule: Rule): Term[] {
  return [...(rule.keyPath ?? []), ...(rule.key === null ? [] : [rule.key]), rule.value];
}

function argNames(rule: Rule): string[] {
  return (rule.args ?? []).flatMap(varsOfTerm).map((v) => v.name);
}

/** The scope of a rule's body, or of one of its else bodies (which see the same parameters). */
export function clauseScope(rule: Rule, body: Body, value: Term, module: ModuleScope, root: RuleTreeNode): ClauseScope {
  const heads = body === rule.body ? headTerms(rule) : [value];
  const scope = levelScope(body, null, module, root, {
    exprs: body.exprs,
    terms: [...heads, ...(rule.args ?? [])],
    declared: argNames(rule),
  });
  const bound = new Set(argNames(rule).map((name) => `${scope.id}:${name}`));
  return { scope, bound };
}

/** Checks one rule; records each of its bodies (with its scope and safe order) and calls in `into`. */
export function checkRule(rule: Rule, module: ModuleScope, root: RuleTreeNode, into: Annotations): void {
  if (rule.default) {
    const vars = [rule.value, ...(rule.args ?? [])].flatMap(varsOfTerm).filter((v) => !argNames(rule).includes(v.name));
    const first = vars[0];
    if (first !== undefined) {
      throw new RegoCompileError(
        first.loc,
        'default',
        `a default value must be a constant; ${first.name} is a variable or a rule`,
        'invalid',
      );
    }
    // A default value has no body, but a comprehension in it does; the (empty) body keeps the value's scope.
    const { scope, bound } = clauseScope(rule, rule.body, rule.value, module, root);
    into.bodies.set(rule.body, { scope, exprs: [], clauseVars: new Map() });
    for (const id of bound) into.parameters.add(id);
    annotateCalls([rule.value, ...(rule.args ?? [])], scope, into);
    annotateVars([rule.value, ...(rule.args ?? [])], scope, into);
    checkNestedTerm(rule.value, scope, bound, into);
    return;
  }
  const args = rule.args ?? [];
  const main = clauseScope(rule, rule.body, rule.value, module, root);
  for (const id of main.bound) into.parameters.add(id);
  annotateCalls(args, main.scope, into);
  annotateVars(args, main.scope, into);
  const heads = headTerms(rule);
  const clauseVars = bindVars([...heads, ...args], main.scope, into.parameters);
  checkBody(rule.body, main.scope, main.bound, heads, into, clauseVars);
  for (const clause of rule.elses) {
    const elseScope = clauseScope(rule, clause.body, clause.value, module, root);
    for (const id of elseScope.bound) into.parameters.add(id);
    const elseVars = bindVars([clause.value, ...args], elseScope.scope, into.parameters);
    checkBody(clause.body, elseScope.scope, elseScope.bound, [clause.value], into, elseVars);
  }
}

/**
 * Builds the rule tree and checks every rule of every module, annotating their bodies; throws
 * RegoCompileError on the first problem.
 */
export function analyzeModules(modules: Module[]): AnnotatedProgram {
  const moduleSet = annotatedProgram(buildModuleSet(modules));
  for (const scope of moduleSet.modules) {
    for (const rule of scope.module.rules) {
      try {
        checkRule(rule, scope, moduleSet.root, moduleSet);
      } catch (err) {
        if (!(err instanceof RegoCompileError) || !DEFERRED_KINDS.has(err.kind)) throw err;
        moduleSet.deferredRefusals.set(rule, err);
      }
    }
  }
  return moduleSet;
}
