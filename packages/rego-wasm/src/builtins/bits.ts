// bits.*: bitwise operations on integers of any size, as OPA's big.Int arithmetic.
import { BuiltinArgError } from './args.js';
import { bigIntArg, exactInt } from './exact.js';

function shift(name: string, a: unknown, b: unknown): [bigint, bigint] {
  const n = bigIntArg(name, b);
  if (n < 0n) throw new BuiltinArgError(name, 'the shift count must not be negative');
  // A shift this large would not fit any memory; OPA fails the same way, by running out.
  if (n > 65_536n) throw new BuiltinArgError(name, 'shift count too large');
  return [bigIntArg(name, a), n];
}

export const bitsBuiltins = {
  'bits.and': (a: unknown, b: unknown) => exactInt(bigIntArg('bits.and', a) & bigIntArg('bits.and', b)),
  'bits.or': (a: unknown, b: unknown) => exactInt(bigIntArg('bits.or', a) | bigIntArg('bits.or', b)),
  'bits.xor': (a: unknown, b: unknown) => exactInt(bigIntArg('bits.xor', a) ^ bigIntArg('bits.xor', b)),
  'bits.negate': (a: unknown) => exactInt(~bigIntArg('bits.negate', a)),
  'bits.lsh': (a: unknown, b: unknown) => {
    const [x, n] = shift('bits.lsh', a, b);
    return exactInt(x << n);
  },
  'bits.rsh': (a: unknown, b: unknown) => {
    const [x, n] = shift('bits.rsh', a, b);
    return exactInt(x >> n);
  },
};
