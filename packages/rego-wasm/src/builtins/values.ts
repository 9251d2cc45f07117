// Rego values that plain JSON cannot carry, as JavaScript builtins see them over the builtin wire (wire.ts):
// a set, and an object with a key that is not a string. Modules Portcullis compiles pass them exactly;
// bundles built by `opa build` hand the SDK's JSON instead (sets as arrays), which every builtin also takes.
import { isRegoNumber, NumberText, numbersEqual } from './exact.js';

/** A Rego set: its elements in the policy's order, without duplicates. */
export class RegoSet {
  constructor(readonly items: readonly unknown[]) {}
}

/** A Rego object with at least one key that is not a string. */
export class RegoObject {
  constructor(readonly entries: ReadonlyArray<readonly [unknown, unknown]>) {}
}

export function isRegoSet(v: unknown): v is RegoSet {
  return v instanceof RegoSet;
}

/** Plain JSON for the SDK (OPA-built bundles): sets become arrays, other keys their JSON text. */
export function toPlainJson(v: unknown): unknown {
  if (v instanceof NumberText) return Number(v.text);
  if (v instanceof RegoSet) return v.items.map(toPlainJson);
  if (v instanceof RegoObject) {
    return Object.fromEntries(
      v.entries.map(([k, x]) => [typeof k === 'string' ? k : JSON.stringify(toPlainJson(k)), toPlainJson(x)]),
    );
  }
  if (Array.isArray(v)) return v.map(toPlainJson);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlainJson(x)]));
  }
  return v;
}

/** Rego equality: numbers by value (1 == 1.0, BigInt and NumberText included), collections by content. */
export function regoEqual(a: unknown, b: unknown): boolean {
  if (isRegoNumber(a) && isRegoNumber(b)) return numbersEqual(a, b);
  if (a instanceof RegoSet || b instanceof RegoSet) {
    if (!(a instanceof RegoSet && b instanceof RegoSet) || a.items.length !== b.items.length) return false;
    return a.items.every((x) => b.items.some((y) => regoEqual(x, y)));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => regoEqual(x, b[i]));
  }
  if (isObjectValue(a) && isObjectValue(b)) {
    const x = entriesOf(a);
    const y = entriesOf(b);
    return x.length === y.length && x.every(([k, v]) => y.some(([k2, v2]) => regoEqual(k, k2) && regoEqual(v, v2)));
  }
  return a === b;
}

/** A Rego object: a plain object (string keys) or a RegoObject. */
export function isObjectValue(v: unknown): v is Record<string, unknown> | RegoObject {
  if (v instanceof RegoObject) return true;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegoSet);
}

export function entriesOf(v: Record<string, unknown> | RegoObject): Array<readonly [unknown, unknown]> {
  return v instanceof RegoObject ? [...v.entries] : Object.entries(v);
}

/** The object with these entries: plain when every key is a string. Later entries win. */
export function objectFrom(entries: ReadonlyArray<readonly [unknown, unknown]>): Record<string, unknown> | RegoObject {
  if (entries.every(([k]) => typeof k === 'string')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries)
      Object.defineProperty(out, k as string, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  }
  const kept: Array<readonly [unknown, unknown]> = [];
  for (const [k, v] of entries) {
    const i = kept.findIndex(([k2]) => regoEqual(k, k2));
    if (i >= 0) kept[i] = [k, v];
    else kept.push([k, v]);
  }
  return new RegoObject(kept);
}

/** A set of these elements, duplicates (by Rego equality) removed. */
export function setOf(items: readonly unknown[]): RegoSet {
  const kept: unknown[] = [];
  for (const x of items) if (!kept.some((y) => regoEqual(x, y))) kept.push(x);
  return new RegoSet(kept);
}
