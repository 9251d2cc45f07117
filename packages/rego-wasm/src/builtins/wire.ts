// The builtin wire: how modules Portcullis compiles hand arguments to JavaScript builtins and take results
// back. Each argument goes out as one JSON text made in Wasm, and the result comes back as JSON text that
// Wasm parses, so nothing is lost to the SDK's JSON.parse: integers beyond 2^53 cross as digits (BigInt
// here), a set as {"\u0000set": [...]} (RegoSet here), and an object JSON cannot carry (a key that is not a
// string, or one starting with NUL) as {"\u0000obj": [[key, value], ...]} (RegoObject here).
import { type ExactJsonOptions, NumberText, parseExactJson } from './exact.js';
import { RegoObject, RegoSet } from './values.js';

const SET_TAG = '\u0000set';
const OBJ_TAG = '\u0000obj';

function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (typeof v !== 'object' || v === null || v instanceof NumberText) return v;
  const keys = Object.keys(v);
  const record = v as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === SET_TAG && Array.isArray(record[SET_TAG])) {
    return new RegoSet((record[SET_TAG] as unknown[]).map(revive));
  }
  if (keys.length === 1 && keys[0] === OBJ_TAG && Array.isArray(record[OBJ_TAG])) {
    const pairs = (record[OBJ_TAG] as unknown[]).map((p) =>
      Array.isArray(p) && p.length === 2 ? ([revive(p[0]), revive(p[1])] as const) : undefined,
    );
    if (pairs.some((p) => p === undefined)) return v;
    const entries = pairs as Array<readonly [unknown, unknown]>;
    // All keys strings (an object only tagged for a NUL-led key): a plain object is the exact value.
    if (entries.every(([k]) => typeof k === 'string')) return plainObject(entries as Array<readonly [string, unknown]>);
    return new RegoObject(entries);
  }
  return plainObject(Object.entries(record).map(([k, x]) => [k, revive(x)] as const));
}

function plainObject(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries)
    Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A builtin argument's wire text as the value it stands for. */
export function parseWire(text: string, options: ExactJsonOptions = {}): unknown {
  return revive(parseExactJson(text, options));
}

/** A builtin result as wire text. */
export function stringifyWire(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof NumberText) return v.text;
  if (v instanceof RegoSet) return `{${JSON.stringify(SET_TAG)}:[${v.items.map(stringifyWire).join(',')}]}`;
  if (v instanceof RegoObject) return pairsText(v.entries);
  if (Array.isArray(v)) return `[${v.map(stringifyWire).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    if (entries.some(([k]) => k.startsWith('\u0000'))) return pairsText(entries);
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stringifyWire(x)}`).join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError('not a JSON number');
  return JSON.stringify(v);
}

function pairsText(entries: ReadonlyArray<readonly [unknown, unknown]>): string {
  return `{${JSON.stringify(OBJ_TAG)}:[${entries.map(([k, x]) => `[${stringifyWire(k)},${stringifyWire(x)}]`).join(',')}]}`;
}
