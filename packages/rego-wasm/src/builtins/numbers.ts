// numbers.range, numbers.range_step and rand.intn.
import { randomBytes } from 'node:crypto';
import { BuiltinArgError, str } from './args.js';
import { bigIntOperand, exactInt, int64Operand, INT64_MIN } from './exact.js';

/** A uniformly random integer in [0, n) from the system's CSPRNG (rejection sampling, no modulo bias). */
function randomBelow(n: bigint): bigint {
  const bits = n.toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const candidate = BigInt(`0x${randomBytes(bytes).toString('hex')}`) & mask;
    if (candidate < n) return candidate;
  }
}

/**
 * rand.intn(key, n): a random integer in [0, |n|). The compiled module answers the same key and |n| with the
 * same number for the rest of one evaluation, as OPA caches it per query; a decision that uses it is not
 * repeatable.
 */
function randIntn(key: unknown, n: unknown): bigint | number {
  str('rand.intn', key);
  let bound = int64Operand('rand.intn', n);
  if (bound === 0n) return 0;
  // Go's -n of the smallest int64 is itself, and Intn of a negative bound fails.
  if (bound === INT64_MIN) throw new BuiltinArgError('rand.intn', 'n out of range');
  if (bound < 0n) bound = -bound;
  return exactInt(randomBelow(bound));
}

/** numbers.range refuses ranges whose array would not fit the policy's memory anyway. */
const MAX_RANGE = 10_000_000n;

export const numbersBuiltins = {
  'rand.intn': randIntn,
  'numbers.range_step': (a: unknown, b: unknown, s: unknown) => {
    const from = bigIntOperand('numbers.range_step', a);
    const to = bigIntOperand('numbers.range_step', b);
    const step = bigIntOperand('numbers.range_step', s);
    if (step <= 0n) throw new BuiltinArgError('numbers.range_step', 'step must be a positive integer');
    const length = (to >= from ? to - from : from - to) / step + 1n;
    if (length > MAX_RANGE)
      throw new BuiltinArgError('numbers.range_step', `a range of ${length} numbers is too large`);
    const signed = from <= to ? step : -step;
    return Array.from({ length: Number(length) }, (_, i) => exactInt(from + BigInt(i) * signed));
  },
  'numbers.range': (a: unknown, b: unknown) => {
    const from = bigIntOperand('numbers.range', a);
    const to = bigIntOperand('numbers.range', b);
    const length = (to >= from ? to - from : from - to) + 1n;
    if (length > MAX_RANGE) throw new BuiltinArgError('numbers.range', `a range of ${length} numbers is too large`);
    const step = from <= to ? 1n : -1n;
    return Array.from({ length: Number(length) }, (_, i) => exactInt(from + BigInt(i) * step));
  },
};
