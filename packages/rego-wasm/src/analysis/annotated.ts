// The annotated program: what the analysis decided about a module set, for the planner to read rather than
// work out again. Per body (rule body, else body, comprehension and `every` body): its scope and its
// expressions in the order safety chose, so the planner plans them in that order. Per call: what it calls (a
// function of the policy, a builtin of the catalog, print), or the refusal to raise if a plan reaches it.
// Per expression, the orders safety chose inside it: which references iterate first, in which order the
// elements of two literals unify. Per variable occurrence: the local it is (by scope id) or the global path
// it stands for, and per local the type its binding tells. Per `with` modifier: what it replaces (input, a
// data path, a function or builtin).
import type { Body, CallTerm, Expr, RefTerm, Term, VarTerm, WithModifier } from '../ast.js';
import type { RegoType } from './argumentTypes.js';
import type { RegoCompileError } from '../errors.js';
import type { CallTarget, ModuleSet } from './modules.js';
import type { UnifyPair } from './safety.js';
import type { VarScope } from './scope.js';
import type { WithTarget } from './with.js';

export interface AnnotatedBody {
  /** The body's level: every variable it binds has the id `<scope.id>:<name>`. */
  readonly scope: VarScope;
  /** The expressions after safety reordering: each runs once every variable it needs is bound. */
  readonly exprs: readonly Expr[];
  /**
   * For a rule's body or else body: the variables of its head and of the function's parameter patterns, as
   * this body resolves them. Clauses can share those terms (a rule's else bodies share its parameters; the
   * bodies of a legacy `p[k] = v { ... } { ... }` share its head) while each is a level of its own, so their
   * bindings depend on the clause; AnnotatedProgram.vars holds one clause's.
   */
  readonly clauseVars: ReadonlyMap<VarTerm, VarBinding>;
}

/**
 * A call as the analysis resolved it. A call it cannot resolve (an unknown function, a refused builtin) is
 * refused only when a plan reaches it, as before, so rules nothing evaluates do not block a build.
 */
export type CallResolution = CallTarget | { kind: 'refused'; error: RegoCompileError };

/** What a variable occurrence refers to. */
export type VarBinding =
  /** A variable of a body (`id` is `<scope id>:<name>`); `parameter` when it is a function's parameter. */
  | { kind: 'local'; id: string; parameter: boolean }
  /** `input`, `data`, a rule of the module's package or an import alias: the absolute path it stands for. */
  | { kind: 'global'; path: string[]; via: 'root' | 'rule' | 'import' };

/** What the analysis records as it checks rules. */
export interface Annotations {
  /** Every variable occurrence in those rules (bodies, heads, arguments), by its AST node. */
  readonly vars: Map<VarTerm, VarBinding>;
  /** Ids of the locals that are function parameters. */
  readonly parameters: Set<string>;
  /** Every body of every rule the analysis accepted, by its AST node. */
  readonly bodies: Map<Body, AnnotatedBody>;
  /** Every call in those rules (bodies, heads, arguments, default values), by its AST node. */
  readonly calls: Map<CallTerm, CallResolution>;
  /**
   * Per term used as an expression (not a call with an output argument): the references in it that iterate
   * over what nothing has bound yet, evaluated before the rest as OPA does (see iteratingRefs); often none.
   */
  readonly hoists: Map<Term, readonly RefTerm[]>;
  /** Per unification of two literals of the same shape, by its left term: the order its element pairs unify in. */
  readonly unifications: Map<Term, readonly UnifyPair[]>;
  /** Per `with` modifier: its target, or the refusal to raise if a plan reaches it. */
  readonly withTargets: Map<WithModifier, WithTarget | { kind: 'refused'; error: RegoCompileError }>;
  /**
   * Per local variable id: its type where the term that binds it tells it, as OPA's type checker infers it
   * (argumentTypes.ts); builtin arguments are checked against it. Absent: unknown until evaluation.
   */
  readonly localTypes: Map<string, RegoType>;
}

/**
 * The module set with its annotations. The rules the analysis refused (ModuleSet.deferredRefusals) are never
 * planned, so the annotations need not cover them.
 */
export interface AnnotatedProgram extends ModuleSet, Annotations {}

/** A program with no annotations yet, for the analysis to fill in. */
export function annotatedProgram(moduleSet: ModuleSet): AnnotatedProgram {
  return {
    ...moduleSet,
    vars: new Map(),
    parameters: new Set(),
    bodies: new Map(),
    calls: new Map(),
    hoists: new Map(),
    unifications: new Map(),
    withTargets: new Map(),
    localTypes: new Map(),
  };
}

function unanalysed(what: string, node: Term | Body): Error {
  const { file, line, col } = node.loc;
  return new Error(`compiler bug: the ${what} at ${file}:${line}:${col} is planned but was never analysed`);
}

/** The annotations of a body; the planner plans only what the analysis accepted, so a miss is a compiler bug. */
export function annotatedBody(program: AnnotatedProgram, body: Body): AnnotatedBody {
  const annotated = program.bodies.get(body);
  if (annotated === undefined) throw unanalysed('body', body);
  return annotated;
}

/** What a variable occurrence refers to. */
export function varBinding(program: AnnotatedProgram, v: VarTerm): VarBinding {
  const binding = program.vars.get(v);
  if (binding === undefined) throw unanalysed('variable', v);
  return binding;
}

/** The references of an expression's term that iterate first. */
export function annotatedHoists(program: AnnotatedProgram, term: Term): readonly RefTerm[] {
  const refs = program.hoists.get(term);
  if (refs === undefined) throw unanalysed('expression', term);
  return refs;
}

/** The order in which the element pairs of `left = right` (two literals of the same shape) unify. */
export function annotatedUnification(program: AnnotatedProgram, left: Term): readonly UnifyPair[] {
  const order = program.unifications.get(left);
  if (order === undefined) throw unanalysed('unification', left);
  return order;
}

/** What a `with` modifier replaces; throws the refusal the analysis recorded for it. */
export function annotatedWithTarget(program: AnnotatedProgram, modifier: WithModifier): WithTarget {
  const target = program.withTargets.get(modifier);
  if (target === undefined) throw unanalysed('with modifier', modifier.target);
  if (target.kind === 'refused') throw target.error;
  return target;
}

/** What a call calls; throws the refusal the analysis recorded for it. */
export function resolvedCall(program: AnnotatedProgram, term: CallTerm): CallTarget {
  const resolution = program.calls.get(term);
  if (resolution === undefined) throw unanalysed('call', term);
  if (resolution.kind === 'refused') throw resolution.error;
  return resolution;
}
