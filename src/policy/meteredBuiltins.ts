// JavaScript builtins that charge fuel for what they build. Fuel counts steps of the compiled module, but
// a builtin can turn two numbers into millions of values before the module takes a step over them:
// `numbers.range(1, 1e7)` spends seconds in JavaScript and in parsing its result. Charging one step per
// element before building the answer lets a budget refuse it at once; the module's own counter is the
// account, so loops over the result and the builtin share one budget. Which builtins build how much is the
// compiler's builtin catalog's (`elementsBuilt`), read here through `answerSizes`.
import { answerSizes } from '@portcullis/rego-wasm/builtins/lazy';

type Builtin = (...args: unknown[]) => unknown;

/**
 * `builtins` with each builtin `answerSizes` names charging `fuel` (the instance's steps-left global, once it
 * exists; undefined for modules without fuel checks, which are not charged). When the answer needs more
 * steps than are left the call throws, the evaluation fails, and the counter reads below zero: out of fuel.
 */
export function meteredBuiltins(
  builtins: Record<string, Builtin>,
  fuel: () => WebAssembly.Global | undefined,
): Record<string, Builtin> {
  const metered: Record<string, Builtin> = { ...builtins };
  for (const [name, size] of Object.entries(answerSizes)) {
    const impl = builtins[name];
    if (impl === undefined) continue;
    metered[name] = (...args: unknown[]) => {
      const counter = fuel();
      const length = size(args);
      if (counter !== undefined && length !== undefined) {
        const left = (counter.value as number) - length;
        counter.value = Math.max(left, -1);
        if (left < 0) throw new AnswerBudgetError(name, length);
      }
      return impl(...args);
    };
  }
  return metered;
}

class AnswerBudgetError extends Error {
  constructor(name: string, length: number) {
    super(`${name} building ${length} values needs more fuel than is left`);
    this.name = 'AnswerBudgetError';
  }
}
