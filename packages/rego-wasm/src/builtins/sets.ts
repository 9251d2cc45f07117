// The deprecated set and collection builtins OPA still accepts: set_diff, any, all.
import { BuiltinArgError, list } from './args.js';
import { RegoSet, regoEqual } from './values.js';

function setArg(name: string, v: unknown): RegoSet {
  if (!(v instanceof RegoSet)) throw new BuiltinArgError(name, 'expected a set');
  return v;
}

export const setBuiltins = {
  set_diff: (a: unknown, b: unknown) => {
    const right = setArg('set_diff', b);
    return new RegoSet(setArg('set_diff', a).items.filter((x) => !right.items.some((y) => regoEqual(x, y))));
  },
  any: (xs: unknown) => list('any', xs).some((x) => x === true),
  all: (xs: unknown) => list('all', xs).every((x) => x === true),
};
