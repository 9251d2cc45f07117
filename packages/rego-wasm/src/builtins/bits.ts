// bits.*: bitwise operations on integers of any size, as OPA's big.Int arithmetic. The operands arrive as
// OPA's BigIntOperand reads them (operands.ts); read again here for direct callers.
import { BuiltinArgError, NotReproducedError } from './args.js';
import { bigIntOperand, exactInt } from './exact.js';

/** Shifts beyond this would build an answer of more than this many bits: refused rather than built. */
const MAX_LEFT_SHIFT = 65_536n;

function shiftCount(name: string, b: unknown): bigint {
  const n = bigIntOperand(name, b);
  if (n < 0n)
    throw new BuiltinArgError(name, 'operand 2 must be an unsigned integer number but got a negative integer');
  // Go shifts by uint(b.Uint64()): beyond 2^64 only the low bits count, which this does not reproduce.
  if (n >= 1n << 64n) throw new NotReproducedError(name, 'a shift count beyond 2^64');
  return n;
}

export const bitsBuiltins = {
  'bits.and': (a: unknown, b: unknown) => exactInt(bigIntOperand('bits.and', a) & bigIntOperand('bits.and', b)),
  'bits.or': (a: unknown, b: unknown) => exactInt(bigIntOperand('bits.or', a) | bigIntOperand('bits.or', b)),
  'bits.xor': (a: unknown, b: unknown) => exactInt(bigIntOperand('bits.xor', a) ^ bigIntOperand('bits.xor', b)),
  'bits.negate': (a: unknown) => exactInt(~bigIntOperand('bits.negate', a)),
  'bits.lsh': (a: unknown, b: unknown) => {
    const x = bigIntOperand('bits.lsh', a);
    const n = shiftCount('bits.lsh', b);
    if (x === 0n) return 0;
    // OPA would build it (or run out of memory): refused rather than built.
    if (n > MAX_LEFT_SHIFT) throw new NotReproducedError('bits.lsh', 'a shift count this large');
    return exactInt(x << n);
  },
  'bits.rsh': (a: unknown, b: unknown) => {
    const x = bigIntOperand('bits.rsh', a);
    const n = shiftCount('bits.rsh', b);
    // Every bit shifted out: 0, or -1 for a negative number (big.Int.Rsh rounds toward minus infinity).
    if (n >= BigInt(x.toString(2).length)) return x < 0n ? -1 : 0;
    return exactInt(x >> n);
  },
};
