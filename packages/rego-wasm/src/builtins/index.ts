// The JavaScript builtins, as the SDK's customBuiltins table. Policy modules call them through the
// opa_builtinN hook: modules this package compiles under `portcullis.wire.<name>` with exact wire texts
// (wire.ts), bundles built by `opa build -t wasm` under the plain name with the SDK's JSON (sets as
// arrays). Every entry catches its own errors and returns undefined: in OPA's non-strict evaluation a
// builtin error makes the expression undefined, it never fails the query.
import { arithmeticBuiltins } from './arithmetic.js';
import { arrayBuiltins } from './array.js';
import { bitsBuiltins } from './bits.js';
import { cryptoBuiltins } from './crypto.js';
import { encodingBuiltins } from './encoding.js';
import { globBuiltins } from './glob.js';
import { graphBuiltins } from './graph.js';
import { jsonBuiltins } from './json.js';
import { jwtBuiltins } from './jwt.js';
import { netBuiltins } from './net.js';
import { numbersBuiltins } from './numbers.js';
import { objectBuiltins } from './object.js';
import { opaBuiltins } from './opa.js';
import { regexBuiltins } from './regex.js';
import { semverBuiltins } from './semver.js';
import { setBuiltins } from './sets.js';
import { sprintfBuiltins } from './sprintf.js';
import { stringBuiltins } from './strings.js';
import { timeBuiltins } from './time.js';
import { typeBuiltins } from './types.js';
import { unitsBuiltins } from './units.js';
import { uriBuiltins } from './uri.js';
import { uuidBuiltins } from './uuid.js';
import { x509Builtins } from './x509.js';
import { yamlBuiltins } from './yaml.js';
import { builtinSpec, CATALOG, takesNumberTexts } from './catalog.js';
import { bigIntOperand, parseExactJson, toJsNumbers } from './exact.js';
import { withIntegerChecks } from './operands.js';
import { takesTexts, textBuiltin, type TextBuiltin } from './texts.js';
import { toPlainJson } from './values.js';
import { parseWire, stringifyWire } from './wire.js';

type Builtin = (...args: unknown[]) => unknown;

/** Every JavaScript implementation, by OPA name: one table per OPA namespace. */
export const implementations: Readonly<Record<string, Builtin>> = Object.assign(
  Object.create(null) as Record<string, Builtin>,
  arithmeticBuiltins,
  arrayBuiltins,
  bitsBuiltins,
  cryptoBuiltins,
  encodingBuiltins,
  globBuiltins,
  graphBuiltins,
  jsonBuiltins,
  jwtBuiltins,
  netBuiltins,
  numbersBuiltins,
  objectBuiltins,
  opaBuiltins,
  regexBuiltins,
  semverBuiltins,
  setBuiltins,
  sprintfBuiltins,
  stringBuiltins,
  timeBuiltins,
  typeBuiltins,
  unitsBuiltins,
  uriBuiltins,
  uuidBuiltins,
  x509Builtins,
  yamlBuiltins,
);

const WIRE_PREFIX = 'portcullis.wire.';

/** The name a compiled module lists a JavaScript builtin under (the SDK's own would win over the plain name). */
export function builtinWireName(regoName: string): string {
  return `${WIRE_PREFIX}${regoName}`;
}

/** Results the module can take back: JSON values only (NaN and infinities are errors). */
function isJsonValue(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  return v !== undefined;
}

function plainJson(impl: Builtin): Builtin {
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

function wire(impl: Builtin, numberText: boolean): Builtin {
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
const checkedImplementations: ReadonlyArray<readonly [string, Builtin, boolean]> = Object.entries(implementations).map(
  ([name, impl]) => {
    const spec = builtinSpec(name);
    return [name, withIntegerChecks(name, spec, impl), spec !== undefined && takesNumberTexts(spec)] as const;
  },
);

export const customBuiltins: Record<string, Builtin> = Object.fromEntries(
  checkedImplementations.flatMap(([name, impl, numberTexts]) => [
    [name, plainJson(impl)],
    [builtinWireName(name), wire(impl, numberTexts)],
  ]),
);

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

/**
 * A builtin's error under OPA's `--strict-builtin-errors` (its `eval_builtin_error`): instead of making the
 * expression undefined, it stops the evaluation, which then throws this out of `evaluate`.
 */
export class BuiltinEvalError extends Error {
  readonly code = 'eval_builtin_error';
  constructor(
    readonly builtin: string,
    cause: unknown,
  ) {
    super(
      cause instanceof Error && cause.message.startsWith(`${builtin}:`)
        ? cause.message
        : `${builtin}: ${String(cause instanceof Error ? cause.message : cause)}`,
      { cause },
    );
    this.name = 'BuiltinEvalError';
  }
}

/**
 * customBuiltins for `policy eval|test --strict-builtin-errors`: the same implementations, but an error a
 * JavaScript builtin raises (a bad base for format_int, a date that does not parse) is thrown as a
 * BuiltinEvalError instead of becoming undefined. Builtins the Wasm runtime answers itself (comparisons,
 * count, ...) raise only type errors, which the compiler's checks already refuse where it can tell.
 */
export function strictCustomBuiltins(): Record<string, Builtin> {
  return Object.fromEntries(
    checkedImplementations.flatMap(([name, impl, numberTexts]) => {
      let failure: { error: unknown } | undefined;
      const watch = (...args: unknown[]): unknown => {
        try {
          return impl(...args);
        } catch (error) {
          failure = { error };
          throw error;
        }
      };
      // The wrappers below decide how arguments cross by the marker on the implementation: keep it.
      const watched = takesTexts(impl) ? textBuiltin(watch as TextBuiltin) : watch;
      const raising =
        (wrapped: Builtin): Builtin =>
        (...args: unknown[]) => {
          failure = undefined;
          const result = wrapped(...args);
          // `watch` sets it during the call (TypeScript cannot see that through the call).
          const raised = failure as { error: unknown } | undefined;
          if (raised !== undefined) throw new BuiltinEvalError(name, raised.error);
          return result;
        };
      return [
        [name, raising(plainJson(watched))],
        [builtinWireName(name), raising(wire(watched, numberTexts))],
      ];
    }),
  );
}
