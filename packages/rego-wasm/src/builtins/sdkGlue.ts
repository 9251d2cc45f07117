// How the JavaScript implementations meet the opa-wasm SDK: each behind its catalog entry's integer checks,
// listed under its plain name (bundles built by `opa build -t wasm`, the SDK's JSON) and its wire name (modules
// this package compiles, exact wire texts), and the answer sizes a host charges fuel with. index.ts applies it
// to every implementation, lazy.ts to those a module calls.
import { builtinSpec, CATALOG, takesNumberTexts } from './catalog.js';
import { bigIntOperand, parseExactJson, toJsNumbers } from './exact.js';
import { withIntegerChecks } from './operands.js';
import { takesTexts } from './texts.js';
import { toPlainJson } from './values.js';
import { parseWire, stringifyWire } from './wire.js';

export type Builtin = (...args: unknown[]) => unknown;

export const WIRE_PREFIX = 'portcullis.wire.';

/** The name a compiled module lists a JavaScript builtin under (the SDK's own would win over the plain name). */
export function builtinWireName(regoName: string): string {
  return `${WIRE_PREFIX}${regoName}`;
}

/** Results the module can take back: JSON values only (NaN and infinities are errors). */
function isJsonValue(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  return v !== undefined;
}

export function plainJson(impl: Builtin): Builtin {
  if (takesTexts(impl)) {
    return (...args: unknown[]) => {
      try {
        const result = impl(...args.map((arg) => stringifyWire(arg)));
        return result === undefined ? undefined : toJsNumbers(parseExactJson(result));
      } catch {
        return undefined;
      }
    };
  }
  return (...args: unknown[]) => {
    try {
      // Bundles built by `opa build` take plain JSON back: BigInt becomes the nearest double, sets arrays.
      const result = toJsNumbers(toPlainJson(impl(...args)));
      return isJsonValue(result) ? result : undefined;
    } catch {
      return undefined;
    }
  };
}

export function wire(impl: Builtin, numberText: boolean): Builtin {
  // Exact texts in and out, unparsed (see texts.ts).
  if (takesTexts(impl)) {
    return (...texts: unknown[]) => {
      try {
        return texts.every((t) => typeof t === 'string') ? impl(...texts) : undefined;
      } catch {
        return undefined;
      }
    };
  }
  return (...texts: unknown[]) => {
    try {
      const args = texts.map((t) => (typeof t === 'string' ? parseWire(t, { numberText }) : undefined));
      if (args.includes(undefined)) return undefined;
      const result = impl(...args);
      if (result === undefined) return undefined;
      return stringifyWire(result);
    } catch {
      return undefined;
    }
  };
}

/** Each implementation behind its catalog entry's integer checks, with whether its numbers cross as texts. */
export function checkedImplementations(
  implementations: Readonly<Record<string, Builtin>>,
): ReadonlyArray<readonly [string, Builtin, boolean]> {
  return Object.entries(implementations).map(([name, impl]) => {
    const spec = builtinSpec(name);
    return [name, withIntegerChecks(name, spec, impl), spec !== undefined && takesNumberTexts(spec)] as const;
  });
}

/** The SDK's customBuiltins table of `implementations`: each under its plain and its wire name. */
export function sdkBuiltins(implementations: Readonly<Record<string, Builtin>>): Record<string, Builtin> {
  return Object.fromEntries(
    checkedImplementations(implementations).flatMap(([name, impl, numberTexts]) => [
      [name, plainJson(impl)],
      [builtinWireName(name), wire(impl, numberTexts)],
    ]),
  );
}

/**
 * An `integer` operand (OPA's BigIntOperand, the only kind elementsBuilt reads) as the SDK hands it over: a
 * JSON text (the builtin wire) or a JavaScript number.
 */
function integerOf(arg: unknown): bigint | undefined {
  try {
    return bigIntOperand('', typeof arg === 'string' ? parseExactJson(arg, { numberText: true }) : arg);
  } catch {
    return undefined;
  }
}

/**
 * For each customBuiltins name (plain and wire) of a builtin whose catalog entry says how many values its
 * answer holds (BuiltinSpec.elementsBuilt): that count for the call's arguments, or undefined when they are
 * not integers (the builtin refuses them). A host charges fuel with it before the call builds the answer.
 */
export const answerSizes: Readonly<Record<string, (args: readonly unknown[]) => number | undefined>> =
  Object.fromEntries(
    Object.entries(CATALOG).flatMap(([name, spec]) => {
      const elements = spec.elementsBuilt;
      if (elements === undefined) return [];
      const size = (args: readonly unknown[]): number | undefined => {
        const integers = args.map(integerOf);
        if (integers.some((n) => n === undefined)) return undefined;
        return Number(elements(integers as bigint[]));
      };
      return [
        [name, size],
        [builtinWireName(name), size],
      ];
    }),
  );
