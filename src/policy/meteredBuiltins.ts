// JavaScript builtins that charge fuel for what they build. Fuel counts steps of the compiled module, but
// a builtin can turn two numbers into millions of values before the module takes a step over them:
// `numbers.range(1, 1e7)` spends seconds in JavaScript and in parsing its result. Charging one step per
// element before building the range lets a budget refuse it at once; the module's own counter is the
// account, so loops over the result and the range share one budget.
type Builtin = (...args: unknown[]) => unknown;

/** Names of numbers.range: the builtin-wire form (JSON texts) modules Portcullis compiles call, and OPA's. */
const RANGE_NAMES = ['portcullis.wire.numbers.range', 'numbers.range'];

/**
 * `builtins` with numbers.range charging `fuel` (the instance's steps-left global, once it exists;
 * undefined for modules without fuel checks, which are not charged). When the range needs more steps than
 * are left the call throws, the evaluation fails, and the counter reads below zero: out of fuel.
 */
export function meteredBuiltins(
  builtins: Record<string, Builtin>,
  fuel: () => WebAssembly.Global | undefined,
): Record<string, Builtin> {
  const metered: Record<string, Builtin> = { ...builtins };
  for (const name of RANGE_NAMES) {
    const impl = builtins[name];
    if (impl === undefined) continue;
    metered[name] = (...args: unknown[]) => {
      const counter = fuel();
      const length = rangeLength(args[0], args[1]);
      if (counter !== undefined && length !== undefined) {
        const left = (counter.value as number) - length;
        counter.value = Math.max(left, -1);
        if (left < 0) throw new RangeBudgetError(length);
      }
      return impl(...args);
    };
  }
  return metered;
}

class RangeBudgetError extends Error {
  constructor(length: number) {
    super(`numbers.range of ${length} numbers needs more fuel than is left`);
    this.name = 'RangeBudgetError';
  }
}

/** Element count of numbers.range(a, b); undefined when the arguments are not integers (the builtin refuses them). */
function rangeLength(a: unknown, b: unknown): number | undefined {
  const from = integerArg(a);
  const to = integerArg(b);
  if (from === undefined || to === undefined) return undefined;
  return Math.abs(to - from) + 1;
}

/** The exact form passes JSON texts; OPA's form passes numbers. */
function integerArg(v: unknown): number | undefined {
  let n: unknown = v;
  if (typeof v === 'string') {
    try {
      n = JSON.parse(v) as unknown;
    } catch {
      return undefined;
    }
  }
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}
