// The integer operands the catalog declares (BuiltinSpec.integers), checked in front of every JavaScript
// implementation: the table decides the behaviour, so the two cannot drift. A value that is not an integer
// as OPA reads it throws BuiltinArgError (the call is undefined, or eval_builtin_error when strict).
import { BuiltinArgError } from './args.js';
import type { BuiltinSpec, IntegerOperand } from './catalog.js';
import { bigIntArg, int64Operand, NumberText } from './exact.js';
import { takesTexts, textBuiltin, type TextBuiltin } from './texts.js';

type Builtin = (...args: unknown[]) => unknown;

function checkOperand(builtin: string, rule: IntegerOperand, position: number, value: unknown): void {
  try {
    if (rule === 'int64') int64Operand(builtin, value);
    else bigIntArg(builtin, value);
  } catch (error) {
    if (!(error instanceof BuiltinArgError)) throw error;
    throw new BuiltinArgError(builtin, `operand ${position + 1} must be an integer number (${error.message})`);
  }
}

/** A wire text as the value the rule reads: a JSON number text as its NumberText, anything else as is. */
function fromText(text: unknown): unknown {
  return typeof text === 'string' && /^-?\d/.test(text) ? new NumberText(text) : text;
}

/** `impl` behind the checks of `spec.integers`; `impl` itself when it declares none. */
export function withIntegerChecks(name: string, spec: BuiltinSpec | undefined, impl: Builtin): Builtin {
  const integers = Object.entries(spec?.integers ?? {}).map(([position, rule]) => [Number(position), rule] as const);
  if (integers.length === 0) return impl;
  if (takesTexts(impl)) {
    return textBuiltin((...texts: unknown[]) => {
      for (const [position, rule] of integers) checkOperand(name, rule, position, fromText(texts[position]));
      return (impl as TextBuiltin)(...texts);
    });
  }
  return (...args: unknown[]) => {
    for (const [position, rule] of integers) checkOperand(name, rule, position, args[position]);
    return impl(...args);
  };
}
