// Literal arguments of a type the builtin does not take, refused at compile time as OPA's type checker
// refuses them (`uuid.rfc4122(1)`, `count(1)`, `1 & 2`): the catalog's declared argument types decide. Only
// terms whose type the syntax alone tells are checked (literals, collections, comprehensions); a variable,
// a reference or a call may be anything until the policy runs.
import type { Term } from '../ast.js';
import { builtinSpec, operatorBuiltin, type ValueType } from '../builtins/catalog.js';
import { RegoCompileError } from '../errors.js';

/** The type of a term as written, or null when only evaluation tells it. */
function literalType(term: Term): ValueType | null {
  switch (term.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
    case 'array':
    case 'object':
    case 'set':
      return term.type;
    case 'arraycompr':
      return 'array';
    case 'setcompr':
      return 'set';
    case 'objectcompr':
      return 'object';
    default:
      return null;
  }
}

/** Throws when an argument of a call to builtin `name` is a literal of a type its catalog entry does not admit. */
export function checkArgumentTypes(name: string, args: readonly Term[]): void {
  const spec = builtinSpec(name);
  // Too many arguments is an arity error (the planner's); one more is the output argument, not checked.
  if (spec === undefined || args.length > spec.arity + 1) return;
  args.forEach((arg, i) => {
    const declared = spec.args[i];
    const actual = literalType(arg);
    if (declared === undefined || actual === null || declared.includes('any') || declared.includes(actual)) return;
    throw new RegoCompileError(
      arg.loc,
      name,
      `argument ${i + 1} is ${actual === 'array' || actual === 'object' ? 'an' : 'a'} ${actual}, but ${name} takes ${declared.join(' or ')} there`,
      'invalid',
    );
  });
}

/** The same check for the builtin an operator calls (`1 & 2`: `and` takes sets). */
export function checkOperandTypes(op: string, operands: readonly Term[]): void {
  const name = operatorBuiltin(op, operands.length);
  if (name !== undefined) checkArgumentTypes(name, operands);
}
