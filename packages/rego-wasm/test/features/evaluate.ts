// Compiles Rego with compileRego and evaluates through the real opa-wasm SDK (with Portcullis's builtins).
import opa from '@open-policy-agent/opa-wasm';
import { customBuiltins } from '../../src/builtins/index.js';
import { compileRego } from '../../src/compile.js';
import { RegoCompileError } from '../../src/errors.js';

export type Sources = string | string[];

function toSources(modules: Sources): Array<{ path: string; source: string }> {
  return (Array.isArray(modules) ? modules : [modules]).map((source, i) => ({ path: `policy${i}.rego`, source }));
}

export interface Evaluated {
  /** The entrypoint's value, or undefined when the result set is empty. */
  value: unknown;
  defined: boolean;
}

/** Evaluates `entrypoint` (e.g. `test/allow`) once. Runtime errors (conflicts) propagate as exceptions. */
export async function evaluate(
  modules: Sources,
  entrypoint: string,
  input?: unknown,
  data: object = {},
): Promise<Evaluated> {
  const { wasm } = compileRego(toSources(modules), { entrypoints: [entrypoint] });
  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  policy.setData(data);
  const resultSet = policy.evaluate(input, entrypoint) as Array<{ result: unknown }>;
  if (resultSet.length > 1) throw new Error(`expected at most one result, got ${resultSet.length}`);
  return resultSet.length === 0 ? { value: undefined, defined: false } : { value: resultSet[0]?.result, defined: true };
}

/** The value of `entrypoint`; fails the test if it is undefined. */
export async function valueOf(
  modules: Sources,
  entrypoint: string,
  input?: unknown,
  data: object = {},
): Promise<unknown> {
  const result = await evaluate(modules, entrypoint, input, data);
  if (!result.defined) throw new Error(`${entrypoint} is undefined`);
  return result.value;
}

/** The RegoCompileError compiling `modules` throws (fails the test if it compiles). */
export function compileError(modules: Sources, entrypoint = 'test/p'): RegoCompileError {
  try {
    compileRego(toSources(modules), { entrypoints: [entrypoint] });
  } catch (err) {
    if (err instanceof RegoCompileError) return err;
    throw err;
  }
  throw new Error('expected the policy to be refused, but it compiled');
}

/** Sorts an array dumped from a set so tests can compare it. */
export function sorted(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Error(`expected an array (a dumped set), got ${JSON.stringify(value)}`);
  return [...value].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
