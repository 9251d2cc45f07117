// Arguments of a type the builtin does not take, refused at compile time as OPA's type checker refuses them
// (`uuid.rfc4122(1)`, `count(1)`, `1 & 2`, `lower(count(x))`, `x := 1; lower(x)`): the catalog's declared
// argument and result types decide. Only terms whose type the syntax and the catalog alone tell are checked:
// literals, collections, comprehensions, builtin calls and operators, and the local variables bound to such a
// term by `:=` or `=` (destructuring included) or as a builtin call's output argument, as OPA's checker
// infers them. A reference, a function of the policy, a function parameter or a variable bound by iteration
// may be anything until the policy runs (OPA types some of those too; here they are left unchecked, so a
// policy OPA accepts is never refused).
import type { CallTerm, Expr, Term, VarTerm } from '../ast.js';
import { builtinSpec, operatorBuiltin, type Shape } from '../builtins/catalog.js';
import { RegoCompileError } from '../errors.js';

/** The builtin a call resolved to, or undefined (a function of the policy, a refusal, not yet resolved). */
export type BuiltinOf = (call: CallTerm) => string | undefined;

/** The type inferred for a variable occurrence, or null when nothing is known about it. */
export type VarTypeOf = (v: VarTerm) => Shape | null;

const untyped: VarTypeOf = () => null;

/** The type of a term as written, or null when only evaluation tells it. */
function termType(term: Term, builtinOf: BuiltinOf, varType: VarTypeOf): Shape | null {
  switch (term.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
    case 'array':
    case 'object':
    case 'set':
      return [term.type];
    case 'arraycompr':
      return ['array'];
    case 'setcompr':
      return ['set'];
    case 'objectcompr':
      return ['object'];
    case 'in':
      return ['boolean'];
    case 'var':
      return varType(term);
    case 'call': {
      const name = builtinOf(term);
      return name === undefined ? null : (builtinSpec(name)?.result ?? null);
    }
    case 'binary': {
      const name = operatorBuiltin(term.op, 2);
      return name === undefined ? null : (builtinSpec(name)?.result ?? null);
    }
    default:
      return null;
  }
}

function described(shape: Shape): string {
  const text = shape.join(' or ');
  return /^[aeiou]/.test(text) ? `an ${text}` : `a ${text}`;
}

/** Throws when an argument of a call to builtin `name` has a type its catalog entry does not admit. */
export function checkArgumentTypes(
  name: string,
  args: readonly Term[],
  builtinOf: BuiltinOf,
  varType: VarTypeOf = untyped,
): void {
  const spec = builtinSpec(name);
  // Too many arguments is an arity error (the planner's); one more is the output argument, not checked.
  if (spec === undefined || args.length > spec.arity + 1) return;
  args.forEach((arg, i) => {
    const declared = spec.args[i];
    const actual = termType(arg, builtinOf, varType);
    if (declared === undefined || actual === null || declared.includes('any') || actual.includes('any')) return;
    if (actual.some((type) => declared.includes(type))) return;
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
export function checkOperandTypes(
  op: string,
  operands: readonly Term[],
  builtinOf: BuiltinOf,
  varType: VarTypeOf = untyped,
): void {
  const name = operatorBuiltin(op, operands.length);
  if (name !== undefined) checkArgumentTypes(name, operands, builtinOf, varType);
}

/** The local variable id `v` binds here, or null (bound already, global, or not a variable). */
export type BindsLocal = (v: Term) => string | null;

/**
 * The types OPA's checker gives the variables `expr` binds, into `types` (by local id): `x := t`, `x = t`
 * and `t = x` with `t` of a known type, arrays destructured element by element (`[a, b] := [1, "s"]`), and
 * the output argument of a builtin call (`count(xs, n)`). `bindsLocal` tells which variables are unbound
 * before `expr` (OPA types a variable where it is first bound; a later `=` compares).
 */
export function inferBoundTypes(
  expr: Expr,
  bindsLocal: BindsLocal,
  builtinOf: BuiltinOf,
  varType: VarTypeOf,
  types: Map<string, Shape>,
): void {
  const bind = (pattern: Term, value: Term): void => {
    const id = bindsLocal(pattern);
    if (id !== null) {
      const type = termType(value, builtinOf, varType);
      if (type !== null && !type.includes('any')) types.set(id, type);
      return;
    }
    if (pattern.type === 'array' && value.type === 'array' && pattern.items.length === value.items.length) {
      pattern.items.forEach((item, i) => bind(item, value.items[i] as Term));
    }
  };
  switch (expr.type) {
    case 'assign':
      bind(expr.left, expr.right);
      return;
    case 'unify':
      bind(expr.left, expr.right);
      bind(expr.right, expr.left);
      return;
    case 'term': {
      const call = expr.term;
      const name = call.type === 'call' ? builtinOf(call) : undefined;
      const spec = name === undefined ? undefined : builtinSpec(name);
      if (call.type !== 'call' || spec === undefined || call.args.length !== spec.arity + 1) return;
      const id = bindsLocal(call.args[spec.arity] as Term);
      if (id !== null && !spec.result.includes('any')) types.set(id, spec.result);
      return;
    }
    default:
      return;
  }
}
