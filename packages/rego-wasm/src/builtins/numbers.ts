// numbers.range and numbers.range_step.
import { BuiltinArgError } from './args.js';
import { bigIntArg, exactInt } from './exact.js';

/** numbers.range refuses ranges whose array would not fit the policy's memory anyway. */
const MAX_RANGE = 10_000_000n;

export const numbersBuiltins = {
  'numbers.range_step': (a: unknown, b: unknown, s: unknown) => {
    const from = bigIntArg('numbers.range_step', a);
    const to = bigIntArg('numbers.range_step', b);
    const step = bigIntArg('numbers.range_step', s);
    if (step <= 0n) throw new BuiltinArgError('numbers.range_step', 'step must be a positive integer');
    const length = (to >= from ? to - from : from - to) / step + 1n;
    if (length > MAX_RANGE)
      throw new BuiltinArgError('numbers.range_step', `a range of ${length} numbers is too large`);
    const signed = from <= to ? step : -step;
    return Array.from({ length: Number(length) }, (_, i) => exactInt(from + BigInt(i) * signed));
  },
  'numbers.range': (a: unknown, b: unknown) => {
    const from = bigIntArg('numbers.range', a);
    const to = bigIntArg('numbers.range', b);
    const length = (to >= from ? to - from : from - to) + 1n;
    if (length > MAX_RANGE) throw new BuiltinArgError('numbers.range', `a range of ${length} numbers is too large`);
    const step = from <= to ? 1n : -1n;
    return Array.from({ length: Number(length) }, (_, i) => exactInt(from + BigInt(i) * step));
  },
};
