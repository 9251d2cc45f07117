import type { Location } from './ast.js';

/**
 * What kind of refusal a compile error is, stable for code to branch on (never the message text):
 * - `syntax`: the source does not parse (lexer, parser);
 * - `unsafe`: a variable nothing binds, or an expression that cannot be ordered after its bindings;
 * - `conflict`: two definitions that cannot both hold (rule paths, kinds, arities, defaults, names declared twice);
 * - `undefined`: a call to a function that neither the policy nor the builtins define;
 * - `invalid`: well-formed Rego that OPA rejects too (a default that is not constant, `else` on a partial
 *   rule, literals that can never unify, a call with the wrong number of arguments, a bad entrypoint);
 * - `recursion`: rules that depend on themselves;
 * - `unsupported`: valid Rego outside the subset this compiler turns into Wasm (`with`, `http.send`, ...);
 * - `limit`: a policy too large to compile.
 */
export type CompileErrorKind =
  'syntax' | 'unsafe' | 'conflict' | 'undefined' | 'invalid' | 'recursion' | 'unsupported' | 'limit';

/**
 * A policy the compiler will not turn into Wasm. `kind` classifies it (above); `construct` names what was
 * refused (e.g. `with`, `http.send`, `unsafe var x`); the message is `file:line:col: construct: detail`.
 */
export class RegoCompileError extends Error {
  readonly code = 'REGO_COMPILE';
  constructor(
    readonly loc: Location,
    readonly construct: string,
    readonly detail: string,
    readonly kind: CompileErrorKind,
  ) {
    super(`${loc.file}:${loc.line}:${loc.col}: ${construct}: ${detail}`);
    this.name = 'RegoCompileError';
  }
}
