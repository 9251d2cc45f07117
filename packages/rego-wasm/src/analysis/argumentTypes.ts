// Arguments of a type the builtin does not take, refused at compile time as OPA's type checker refuses them
// (`uuid.rfc4122(1)`, `count(1)`, `1 & 2`, `lower(count(x))`, `x := 1; lower(x)`): the catalog's declared
// argument and result types decide. Only terms whose type the syntax and the catalog alone tell are checked:
// literals, collections, comprehensions, builtin calls and operators, the local variables bound to such a
// term by `:=` or `=` (array and object destructuring included), as a builtin call's output argument or by
// iterating over a collection of known element types (`some x in [1, 2]`, `some k, v in {"a": 1}`, `xs[i]`),
// and references into such a local (`x := {"a": 1}; x.a`), as OPA's checker infers them. Where OPA knows an
// element's position (`[1, "s"][0]` is a number there), this reads the union of all elements (number or
// string): never narrower than OPA's type, so a policy OPA accepts is never refused. Rule documents and the
// results of the policy's functions are typed by ruleTypes.ts. Input, base data and function parameters may be
// anything until the policy runs (OPA types parameters by their use in the body; here they are left unchecked).
import type { CallTerm, Expr, RefTerm, Term, VarTerm } from '../ast.js';
import { builtinSpec, operatorBuiltin, type Shape, type ValueType } from '../builtins/catalog.js';
import { RegoCompileError } from '../errors.js';
import { scalarKey } from './constants.js';
import { forEachLevelTerm } from './scope.js';

/** One alternative of a type: its kind and, for a collection, the types of its keys and values where known. */
export interface TypeKind {
  readonly type: ValueType;
  /** Array: number; set: its members; object: its keys. Null or absent: unknown. */
  readonly keys?: RegoType | null;
  /** Array and set: the members; object: the values. Null or absent: unknown. */
  readonly values?: RegoType | null;
}

/** A type as OPA's checker infers it: one alternative, or several (a union). */
export type RegoType = readonly TypeKind[];

/** The builtin a call resolved to, or undefined (a function of the policy, a refusal, not yet resolved). */
export type BuiltinOf = (call: CallTerm) => string | undefined;

/** The type inferred for a variable occurrence, or null when nothing is known about it. */
export type VarTypeOf = (v: VarTerm) => RegoType | null;

/**
 * The type of a reference whose head names a document (`data.pkg.p.x`, `p.x` for a rule p, an import
 * alias): null when unknown; undefined when the head is a local variable (typed through VarTypeOf).
 */
export type GlobalRefTypeOf = (ref: RefTerm) => RegoType | null | undefined;

/** The result type of a call to a function of the policy, or null when unknown. */
export type CallResultOf = (call: CallTerm) => RegoType | null;

/** What types the terms of one level: resolved builtins, typed variables, rule documents, policy functions. */
export interface TypeEnv {
  builtinOf: BuiltinOf;
  varType?: VarTypeOf;
  globalRef?: GlobalRefTypeOf;
  callResult?: CallResultOf;
}

const NUMBER: RegoType = [{ type: 'number' }];

/** The kinds of a type, each once. */
export function shapeOf(type: RegoType): Shape {
  return [...new Set(type.map((t) => t.type))];
}

function ofShape(shape: Shape): RegoType {
  return shape.map((type) => ({ type }));
}

/** The union of types, or null when one of them is unknown (or there are none: an empty collection). */
export function unionOf(types: ReadonlyArray<RegoType | null>): RegoType | null {
  if (types.length === 0 || types.some((t) => t === null)) return null;
  return (types as RegoType[]).flat();
}

const COLLECTIONS: ReadonlySet<ValueType> = new Set(['array', 'set', 'object']);

/** What iterating over (or indexing into) a value of `type` yields: the union over its collection alternatives. */
export function partOf(type: RegoType, part: 'keys' | 'values'): RegoType | null {
  if (type.some((t) => t.type === 'any')) return null;
  const collections = type.filter((t) => COLLECTIONS.has(t.type));
  return unionOf(collections.map((t) => t[part] ?? null));
}

/** The type of a term as written, or null when only evaluation tells it. */
function termType(term: Term, env: TypeEnv): RegoType | null {
  const typeOf = (t: Term): RegoType | null => termType(t, env);
  switch (term.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
      return [{ type: term.type }];
    case 'array':
      return [{ type: 'array', keys: NUMBER, values: unionOf(term.items.map(typeOf)) }];
    case 'set': {
      const members = unionOf(term.items.map(typeOf));
      return [{ type: 'set', keys: members, values: members }];
    }
    case 'object':
      return [
        {
          type: 'object',
          keys: unionOf(term.entries.map((e) => typeOf(e.key))),
          values: unionOf(term.entries.map((e) => typeOf(e.value))),
        },
      ];
    case 'arraycompr':
      return [{ type: 'array' }];
    case 'setcompr':
      return [{ type: 'set' }];
    case 'objectcompr':
      return [{ type: 'object' }];
    case 'in':
      return [{ type: 'boolean' }];
    case 'var':
      return env.varType?.(term) ?? null;
    case 'ref':
      return refType(term, env);
    case 'call': {
      const name = env.builtinOf(term);
      if (name === undefined) return env.callResult?.(term) ?? null;
      const result = builtinSpec(name)?.result;
      return result === undefined ? null : ofShape(result);
    }
    case 'binary': {
      const name = operatorBuiltin(term.op, 2);
      const result = name === undefined ? undefined : builtinSpec(name)?.result;
      return result === undefined ? null : ofShape(result);
    }
    default:
      return null;
  }
}

/**
 * A reference into a local of known type (`x.a`, `xs[i]`, `[1, 2][_]`): each step takes the values of the
 * collections it may be. References to input, data or rules stay unknown.
 */
function refType(ref: RefTerm, env: TypeEnv): RegoType | null {
  if (ref.head.type === 'ref' || ref.head.type === 'call') return null;
  if (ref.head.type === 'var') {
    const global = env.globalRef?.(ref);
    if (global !== undefined) return global;
  }
  let type = termType(ref.head, env);
  for (let i = 0; i < ref.path.length && type !== null; i++) type = partOf(type, 'values');
  return type;
}

/** The type of a term as written, with no variable typed: what a rule's head value alone tells. */
export function literalType(term: Term, builtinOf: BuiltinOf): RegoType | null {
  return termType(term, { builtinOf });
}

function described(shape: Shape): string {
  const text = shape.join(' or ');
  return /^[aeiou]/.test(text) ? `an ${text}` : `a ${text}`;
}

/** Throws when an argument of a call to builtin `name` has a type its catalog entry does not admit. */
export function checkArgumentTypes(name: string, args: readonly Term[], env: TypeEnv): void {
  const spec = builtinSpec(name);
  // Too many arguments is an arity error (the planner's); one more is the output argument, not checked.
  if (spec === undefined || args.length > spec.arity + 1) return;
  args.forEach((arg, i) => {
    const declared = spec.args[i];
    const type = termType(arg, env);
    const actual = type === null ? null : shapeOf(type);
    if (declared === undefined || actual === null || declared.includes('any') || actual.includes('any')) return;
    if (actual.some((kind) => declared.includes(kind))) return;
    const what = arg.type === 'var' ? `${arg.name} (argument ${i + 1})` : `argument ${i + 1}`;
    throw new RegoCompileError(
      arg.loc,
      name,
      `${what} is ${described(actual)}, but ${name} takes ${declared.join(' or ')} there`,
      'invalid',
    );
  });
}

/** The same check for the builtin an operator calls (`1 & 2`: `and` takes sets). */
export function checkOperandTypes(op: string, operands: readonly Term[], env: TypeEnv): void {
  const name = operatorBuiltin(op, operands.length);
  if (name !== undefined) checkArgumentTypes(name, operands, env);
}

/**
 * Throws when `left = right` compares two values whose types share no kind (`x := 1; x = "a"`): OPA's checker
 * refuses it ("match error"). Only when nothing in either side is unbound (a `=` that binds is a pattern match
 * this does not type) and both types are known; kinds are compared at the top level only, where this never
 * knows less than OPA, so a policy OPA accepts is never refused.
 */
export function checkUnifyTypes(left: Term, right: Term, bindsLocal: BindsLocal, env: TypeEnv): void {
  for (const side of [left, right]) {
    let binds = false;
    forEachLevelTerm(side, (t) => {
      if (t.type === 'var' && bindsLocal(t) !== null) binds = true;
    });
    if (binds) return;
  }
  const a = termType(left, env);
  const b = termType(right, env);
  if (a === null || b === null) return;
  const shapeA = shapeOf(a);
  const shapeB = shapeOf(b);
  if (shapeA.includes('any') || shapeB.includes('any') || shapeA.some((kind) => shapeB.includes(kind))) return;
  throw new RegoCompileError(
    left.loc,
    'unification',
    `the left side is ${described(shapeA)} and the right side ${described(shapeB)}, so = can never succeed`,
    'invalid',
  );
}

/** The local variable id `v` binds here, or null (bound already, global, or not a variable). */
export type BindsLocal = (v: Term) => string | null;

/**
 * The types OPA's checker gives the variables `expr` binds, into `types` (by local id): `x := t`, `x = t`
 * and `t = x` with `t` of a known type; arrays and objects destructured element by element
 * (`[a, b] := [1, "s"]`, `{"k": v} := {"k": 1}`) or against a local of known type (each part gets the union
 * of its values); `some k, v in coll` (OPA's `v = coll[k]`); a variable a reference iterates with (`xs[i]`:
 * the keys of xs); the output argument of a builtin call (`count(xs, n)`). `bindsLocal` tells which variables
 * are unbound before `expr` (OPA types a variable where it is first bound; a later `=` compares).
 */
export function inferBoundTypes(expr: Expr, bindsLocal: BindsLocal, env: TypeEnv, types: Map<string, RegoType>): void {
  const typeOf = (t: Term): RegoType | null => termType(t, env);
  const setType = (id: string, type: RegoType | null): void => {
    if (type !== null && type.length > 0 && !type.some((t) => t.type === 'any')) types.set(id, type);
  };
  // A pattern against a type: a variable takes it; an array or object pattern gives each part the values.
  const bindToType = (pattern: Term, type: RegoType | null): void => {
    const id = bindsLocal(pattern);
    if (id !== null) return setType(id, type);
    if (type === null || (pattern.type !== 'array' && pattern.type !== 'object')) return;
    const kind = pattern.type;
    const alternatives = type.filter((t) => t.type === kind || t.type === 'any');
    if (alternatives.length === 0) return;
    const values = partOf(alternatives, 'values');
    if (pattern.type === 'array') for (const item of pattern.items) bindToType(item, values);
    else for (const entry of pattern.entries) bindToType(entry.value, values);
  };
  const bind = (pattern: Term, value: Term): void => {
    const id = bindsLocal(pattern);
    if (id !== null) return setType(id, typeOf(value));
    if (pattern.type === 'array' && value.type === 'array') {
      if (pattern.items.length === value.items.length) pattern.items.forEach((item, i) => bind(item, value.items[i]!));
      return;
    }
    if (pattern.type === 'object' && value.type === 'object') {
      if (pattern.entries.length !== value.entries.length) return;
      for (const entry of pattern.entries) {
        const key = scalarKey(entry.key);
        const match = key === null ? undefined : value.entries.find((e) => scalarKey(e.key) === key);
        if (match !== undefined) bind(entry.value, match.value);
      }
      return;
    }
    if ((pattern.type === 'array' || pattern.type === 'object') && value.type === 'var')
      bindToType(pattern, typeOf(value));
  };
  // `xs[i]` with i unbound: i takes the keys of what xs is at that step (OPA's refChecker).
  const bindRefKeys = (term: Term): void => {
    forEachLevelTerm(term, (t) => {
      if (t.type !== 'ref' || t.head.type === 'ref' || t.head.type === 'call') return;
      let type = typeOf(t.head);
      for (const part of t.path) {
        if (type === null) return;
        const id = bindsLocal(part);
        if (id !== null) setType(id, partOf(type, 'keys'));
        type = partOf(type, 'values');
      }
    });
  };
  switch (expr.type) {
    case 'assign':
      bindRefKeys(expr.right);
      bind(expr.left, expr.right);
      return;
    case 'unify':
      bindRefKeys(expr.left);
      bindRefKeys(expr.right);
      bind(expr.left, expr.right);
      bind(expr.right, expr.left);
      return;
    case 'somein': {
      const collection = typeOf(expr.collection);
      if (collection === null) return;
      if (expr.key !== null) bindToType(expr.key, partOf(collection, 'keys'));
      bindToType(expr.value, partOf(collection, 'values'));
      return;
    }
    case 'term': {
      bindRefKeys(expr.term);
      const call = expr.term;
      const name = call.type === 'call' ? env.builtinOf(call) : undefined;
      const spec = name === undefined ? undefined : builtinSpec(name);
      if (call.type !== 'call' || spec === undefined || call.args.length !== spec.arity + 1) return;
      const id = bindsLocal(call.args[spec.arity] as Term);
      if (id !== null && !spec.result.includes('any')) types.set(id, ofShape(spec.result));
      return;
    }
    default:
      return;
  }
}
