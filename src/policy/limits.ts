// What one evaluation may spend (`policy.limits`), and how a failed evaluation is told apart: budget
// exhausted, memory cap reached, or any other error. Pure functions; the evaluator applies them.

export interface EvaluationLimits {
  /** steps one evaluation may take: loop iterations and function calls of the compiled policy */
  fuel: number;
  /** cap of the Wasm memory (input, data, everything the evaluation allocates), in MiB */
  memoryMiB: number;
}

/**
 * A step (one loop iteration or function call) takes 0.2-0.7 µs in the tightest loops measured by
 * `npm run bench:budget` on a loaded two-core machine, so a runaway stops within ~0.1-0.35 s; the default
 * and RBAC policies take a few dozen steps, and scanning a data set of 100,000 entries takes 100,000.
 */
export const DEFAULT_FUEL = 500_000;
/** Generous for a check (a few MiB in practice) while bounding a runaway to a fraction of a pod's memory. */
export const DEFAULT_MEMORY_MIB = 256;
/** A Wasm page; memory sizes and caps are counted in pages. */
export const WASM_PAGE_BYTES = 65_536;
/** The Wasm 32-bit address space is 65,536 pages; one page less keeps byte sizes within an unsigned 32-bit value. */
export const MAX_MEMORY_MIB = 4095;
/** The fuel counter is a signed 32-bit Wasm global. */
export const MAX_FUEL = 2 ** 31 - 1;

export const DEFAULT_LIMITS: EvaluationLimits = { fuel: DEFAULT_FUEL, memoryMiB: DEFAULT_MEMORY_MIB };

export function maximumPages(limits: EvaluationLimits): number {
  return limits.memoryMiB * ((1024 * 1024) / WASM_PAGE_BYTES);
}

export type EvalFailureReason = 'fuel' | 'memory' | 'error';

export interface FailureFacts {
  error: unknown;
  /** the fuel counter after the failure; undefined for modules without fuel checks (`opa build`) */
  fuelLeft: number | undefined;
  memoryBytes: number;
  maximumBytes: number;
}

/**
 * Fuel: the module's counter went below zero. Memory: the SDK could not grow the memory for the input (a
 * RangeError), or the module trapped with its memory in the last doubling before the cap (allocators grow
 * geometrically, so an allocation that failed there hit the cap; `opa build` modules do not check grow's
 * result and trap on the first write past the end instead).
 */
export function classifyFailure(facts: FailureFacts): EvalFailureReason {
  if (facts.fuelLeft !== undefined && facts.fuelLeft < 0) return 'fuel';
  if (facts.error instanceof RangeError) return 'memory';
  if (facts.error instanceof WebAssembly.RuntimeError && facts.memoryBytes * 2 >= facts.maximumBytes) return 'memory';
  return 'error';
}

export function describeFailure(reason: EvalFailureReason, limits: EvaluationLimits, detail: string): string {
  switch (reason) {
    case 'fuel':
      return `evaluation stopped after ${limits.fuel} steps (policy.limits.fuel)`;
    case 'memory':
      return `evaluation needed more than ${limits.memoryMiB} MiB (policy.limits.memoryMiB): ${detail}`;
    case 'error':
      return detail;
  }
}
