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
import { checkedImplementations, plainJson, sdkBuiltins, wire, builtinWireName, type Builtin } from './sdkGlue.js';
import { takesTexts, textBuiltin, type TextBuiltin } from './texts.js';

export { answerSizes, builtinWireName } from './sdkGlue.js';

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

export const customBuiltins: Record<string, Builtin> = sdkBuiltins(implementations);

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
    checkedImplementations(implementations).flatMap(([name, impl, numberTexts]) => {
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
