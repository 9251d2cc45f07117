// array.*: array.flatten (recursive, as OPA), and array.reverse for bundles built by `opa build` (compiled
// modules reverse, concatenate and slice natively).
import { array } from './args.js';

function flatten(xs: readonly unknown[]): unknown[] {
  return xs.flatMap((x) => (Array.isArray(x) ? flatten(x) : [x]));
}

export const arrayBuiltins = {
  'array.flatten': (a: unknown) => flatten(array('array.flatten', a)),
  'array.reverse': (a: unknown) => [...array('array.reverse', a)].reverse(),
};
