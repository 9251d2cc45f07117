// The integer operands the catalog declares (BuiltinSpec.integers), read in front of every JavaScript
// implementation: the table decides the behaviour, so the two cannot drift. Each operand is read as OPA reads
// it (int64: IntOperand, integer: BigIntOperand, exact.ts) and handed to the implementation as that BigInt,
// so no implementation sees a double where OPA holds an exact integer. A value that is not an integer as OPA
// reads it throws BuiltinArgError (the call is undefined, or eval_builtin_error when strict).
import { BuiltinArgError } from './args.js';
import type { BuiltinSpec, IntegerOperand } from './catalog.js';
import { bigIntOperand, int64Operand, NumberText } from './exact.js';
import { takesTexts, textBuiltin, type TextBuiltin } from './texts.js';

type Builtin = (...args: unknown[]) => unknown;

/** The operand as OPA reads it, or OPA's operand error. */
export function readOperand(builtin: string, rule: IntegerOperand, position: number, value: unknown): bigint {
  try {
    return rule === 'int64' ? int64Operand(builtin, value) : bigIntOperand(builtin, value);
  } catch (error) {
    if (!(error instanceof BuiltinArgError)) throw error;
    // Same class as the cause: a value this package does not reproduce stays a NotReproducedError.
    const Refusal = error.constructor as typeof BuiltinArgError;
    throw new Refusal(builtin, `operand ${position + 1} must be an integer number (${error.message})`);
  }
}

/** A wire text as the value the rule reads: a JSON number text as its NumberText, anything else as is. */
function fromText(text: unknown): unknown {
  return typeof text === 'string' && /^-?\d/.test(text) ? new NumberText(text) : text;
}

/**
 * `impl` behind the reading of `spec.integers`: it receives each integer operand as the BigInt OPA reads;
 * `impl` itself when the entry declares none. A builtin that takes wire texts keeps its texts (only checked).
 */
export function withIntegerChecks(name: string, spec: BuiltinSpec | undefined, impl: Builtin): Builtin {
  const integers = Object.entries(spec?.integers ?? {}).map(([position, rule]) => [Number(position), rule] as const);
  if (integers.length === 0) return impl;
  if (takesTexts(impl)) {
    return textBuiltin((...texts: unknown[]) => {
      for (const [position, rule] of integers) readOperand(name, rule, position, fromText(texts[position]));
      return (impl as TextBuiltin)(...texts);
    });
  }
  return (...args: unknown[]) => {
    const read = [...args];
    for (const [position, rule] of integers) read[position] = readOperand(name, rule, position, args[position]);
    return impl(...read);
  };
}
