// object.*: the builtins the runtime does not do natively (object.get, keys, union and remove are native in
// compiled modules; keys and remove are also here for bundles built by `opa build`).
import { BuiltinArgError, array, list, typeName } from './args.js';
import { entriesOf, isObjectValue, objectFrom, RegoObject, RegoSet, regoEqual, setOf } from './values.js';

function objectArg(name: string, v: unknown): Record<string, unknown> | RegoObject {
  if (!isObjectValue(v)) throw new BuiltinArgError(name, `expected an object, got ${typeName(v)}`);
  return v;
}

/** The keys named by an array, a set or an object's keys. */
function keysArg(name: string, v: unknown): unknown[] {
  if (isObjectValue(v)) return entriesOf(v).map(([k]) => k);
  return list(name, v);
}

/** object.union: b's values win, and two objects under the same key merge recursively. */
function union(
  a: Record<string, unknown> | RegoObject,
  b: Record<string, unknown> | RegoObject,
): Record<string, unknown> | RegoObject {
  const out = entriesOf(a);
  for (const [k, v] of entriesOf(b)) {
    const i = out.findIndex(([k2]) => regoEqual(k, k2));
    if (i < 0) out.push([k, v]);
    else {
      const old = out[i]![1];
      out[i] = [k, isObjectValue(old) && isObjectValue(v) ? union(old, v) : v];
    }
  }
  return objectFrom(out);
}

function arrayContains(sup: readonly unknown[], sub: readonly unknown[]): boolean {
  if (sub.length === 0) return true;
  for (let i = 0; i + sub.length <= sup.length; i++) {
    if (sub.every((x, j) => regoEqual(sup[i + j], x))) return true;
  }
  return false;
}

/**
 * OPA's object.subset: objects recursively (a value must be a subset where both sides are objects, sets or
 * arrays, equal otherwise); sets by membership; arrays as a contiguous run; a set inside an array by membership.
 */
function isSubset(sup: unknown, sub: unknown): boolean {
  if (isObjectValue(sup) && isObjectValue(sub)) {
    const superEntries = entriesOf(sup);
    return entriesOf(sub).every(([k, v]) => {
      const hit = superEntries.find(([k2]) => regoEqual(k, k2));
      if (hit === undefined) return false;
      const s = hit[1];
      if (
        (isObjectValue(s) && isObjectValue(v)) ||
        (s instanceof RegoSet && v instanceof RegoSet) ||
        (Array.isArray(s) && Array.isArray(v))
      ) {
        return isSubset(s, v);
      }
      return regoEqual(s, v);
    });
  }
  if (sup instanceof RegoSet && sub instanceof RegoSet)
    return sub.items.every((x) => sup.items.some((y) => regoEqual(x, y)));
  if (Array.isArray(sup) && Array.isArray(sub)) return arrayContains(sup, sub);
  if (Array.isArray(sup) && sub instanceof RegoSet) return sub.items.every((x) => sup.some((y) => regoEqual(x, y)));
  throw new BuiltinArgError('object.subset', 'both arguments must be objects, sets or arrays (or an array and a set)');
}

export const objectBuiltins = {
  'object.filter': (o: unknown, keys: unknown) => {
    const wanted = keysArg('object.filter', keys);
    return objectFrom(entriesOf(objectArg('object.filter', o)).filter(([k]) => wanted.some((w) => regoEqual(k, w))));
  },
  'object.remove': (o: unknown, keys: unknown) => {
    const unwanted = keysArg('object.remove', keys);
    return objectFrom(entriesOf(objectArg('object.remove', o)).filter(([k]) => !unwanted.some((w) => regoEqual(k, w))));
  },
  'object.keys': (o: unknown) => setOf(entriesOf(objectArg('object.keys', o)).map(([k]) => k)),
  'object.union_n': (xs: unknown) =>
    array('object.union_n', xs).reduce<Record<string, unknown> | RegoObject>(
      (acc, x) => union(acc, objectArg('object.union_n', x)),
      {},
    ),
  'object.subset': (sup: unknown, sub: unknown) => isSubset(sup, sub),
};
