// Arguments of a type the builtin does not take, refused at compile time as OPA's type checker refuses them
// (`uuid.rfc4122(1)`, `count(1)`, `1 & 2`, `lower(count(x))`): the catalog's declared argument and result
// types decide. Only terms whose type the syntax and the catalog alone tell are checked (literals,
// collections, comprehensions, builtin calls and operators); a variable or a reference may be anything until
// the policy runs, and a function of the policy is not typed.
import type { CallTerm, Term } from '../ast.js';
import { builtinSpec, operatorBuiltin, type Shape } from '../builtins/catalog.js';
import { RegoCompileError } from '../errors.js';

/** The builtin a call resolved to, or undefined (a function of the policy, a refusal, not yet resolved). */
export type BuiltinOf = (call: CallTerm) => string | undefined;

/** The type of a term as written, or null when only evaluation tells it. */
function termType(term: Term, builtinOf: BuiltinOf): Shape | null {
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
export function checkArgumentTypes(name: string, args: readonly Term[], builtinOf: BuiltinOf): void {
  const spec = builtinSpec(name);
  // Too many arguments is an arity error (the planner's); one more is the output argument, not checked.
  if (spec === undefined || args.length > spec.arity + 1) return;
  args.forEach((arg, i) => {
    const declared = spec.args[i];
    const actual = termType(arg, builtinOf);
    if (declared === undefined || actual === null || declared.includes('any') || actual.includes('any')) return;
    if (actual.some((type) => declared.includes(type))) return;
    throw new RegoCompileError(
      arg.loc,
      name,
      `argument ${i + 1} is ${described(actual)}, but ${name} takes ${declared.join(' or ')} there`,
      'invalid',
    );
  });
}

/** The same check for the builtin an operator calls (`1 & 2`: `and` takes sets). */
export function checkOperandTypes(op: string, operands: readonly Term[], builtinOf: BuiltinOf): void {
  const name = operatorBuiltin(op, operands.length);
  if (name !== undefined) checkArgumentTypes(name, operands, builtinOf);
}
