// Argument checks shared by the JS builtins. A wrong type throws BuiltinArgError, which the table in
// index.ts turns into undefined (OPA's non-strict evaluation: a builtin error makes the expression undefined).
import { RegoObject, RegoSet } from './values.js';

export class BuiltinArgError extends Error {
  readonly code = 'REGO_BUILTIN_ARG';
  constructor(
    readonly builtin: string,
    detail: string,
  ) {
    super(`${builtin}: ${detail}`);
    this.name = 'BuiltinArgError';
  }
}

/**
 * An input whose OPA result this implementation cannot reproduce with certainty: the call fails (undefined)
 * rather than answer differently from OPA. Builtins that turn their own errors into values re-throw it.
 */
export class NotReproducedError extends BuiltinArgError {}

export function str(builtin: string, v: unknown): string {
  if (typeof v !== 'string') throw new BuiltinArgError(builtin, `expected a string, got ${typeName(v)}`);
  return v;
}

export function num(builtin: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new BuiltinArgError(builtin, `expected a number, got ${typeName(v)}`);
  return v;
}

export function int(builtin: string, v: unknown): number {
  const n = num(builtin, v);
  if (!Number.isInteger(n)) throw new BuiltinArgError(builtin, `expected an integer, got ${n}`);
  return n;
}

/** An array or a set, as its elements (bundles built by `opa build` hand sets over as arrays). */
export function list(builtin: string, v: unknown): unknown[] {
  if (v instanceof RegoSet) return [...v.items];
  if (!Array.isArray(v)) throw new BuiltinArgError(builtin, `expected an array or set, got ${typeName(v)}`);
  return v;
}

/** An array, and only an array: where OPA's signature takes no set, a set is a type error. */
export function array(builtin: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new BuiltinArgError(builtin, `expected an array, got ${typeName(v)}`);
  return v;
}

export function strings(builtin: string, v: unknown): string[] {
  return list(builtin, v).map((x) => str(builtin, x));
}

export function obj(builtin: string, v: unknown): Record<string, unknown> {
  // A set, or an object with keys that are not strings, is not what these builtins take (OPA's type error).
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof RegoSet || v instanceof RegoObject) {
    throw new BuiltinArgError(builtin, `expected an object with string keys, got ${typeName(v)}`);
  }
  return v as Record<string, unknown>;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof RegoSet) return 'set';
  if (v instanceof RegoObject) return 'object';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
