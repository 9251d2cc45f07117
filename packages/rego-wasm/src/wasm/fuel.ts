// Fuel: a step budget per evaluation, so a runaway policy (a comprehension over a huge range, nested loops
// over large collections) stops in bounded time instead of holding the host's thread. The emitter charges
// one step at the head of every `scan` iteration and at every function entry (Rego has no recursion, so
// these bound all the work the emitted code does), and native builtins that scan a collection without
// allocating charge for the elements they scan (the catalog's `scans`; the memory cap already bounds builtins
// whose work is proportional to what they allocate). The runtime's reset hook, run at the start of every
// evaluation, refills the counter from the budget. The host sets the budget through an exported global
// and, after a failure, reads the counter to tell "out of fuel" from other errors.
import binaryen from 'binaryen';

/** The budget each evaluation starts with (mutable; the host writes it once per instance). */
export const FUEL_BUDGET_EXPORT = 'portcullis_fuel_budget';
/** Steps left in the current evaluation; below zero once the budget ran out. */
export const FUEL_LEFT_EXPORT = 'portcullis_fuel';
/** What the evaluation aborts with when the budget runs out. */
export const FUEL_EXHAUSTED_MESSAGE = 'evaluation ran out of fuel (its budget of steps)';

const FUEL = 'pc:fuel';
const BUDGET = 'pc:fuel_budget';
/** A host that never sets a budget (the SDK alone, the CLI) gets the largest one: the module runs as before. */
const UNLIMITED = 2 ** 31 - 1;
const i32 = binaryen.i32;

/**
 * Elements a scan covers per step, as a shift (64): measured, comparing one element of `x in xs` costs
 * about a hundredth of a loop iteration, so a step per element would refuse policies that are fast.
 */
export const SCAN_ELEMENTS_PER_STEP_SHIFT = 6;

export interface FuelMeter {
  /** Charges `steps` (an i32 expression; one when absent); `exhausted` (an abort) runs when that leaves the counter below zero. */
  charge(exhausted: number, steps?: number): number;
  /** Refills the counter from the budget (the start of an evaluation). */
  refill(): number;
  /** Exports the two globals; call after the emitter prunes the runtime's own exports. */
  exportGlobals(): void;
}

export function addFuelMeter(mod: binaryen.Module): FuelMeter {
  mod.addGlobal(FUEL, i32, true, mod.i32.const(UNLIMITED));
  mod.addGlobal(BUDGET, i32, true, mod.i32.const(UNLIMITED));
  return {
    charge: (exhausted, steps) =>
      mod.block(null, [
        mod.global.set(FUEL, mod.i32.sub(mod.global.get(FUEL, i32), steps ?? mod.i32.const(1))),
        mod.if(mod.i32.lt_s(mod.global.get(FUEL, i32), mod.i32.const(0)), exhausted),
      ]),
    refill: () => mod.global.set(FUEL, mod.global.get(BUDGET, i32)),
    exportGlobals() {
      mod.addGlobalExport(FUEL, FUEL_LEFT_EXPORT);
      mod.addGlobalExport(BUDGET, FUEL_BUDGET_EXPORT);
    },
  };
}
