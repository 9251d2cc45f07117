import type { Location } from './ast.js';

/**
 * A policy the compiler will not turn into Wasm: a syntax error, an unsafe variable, or a construct outside
 * the supported subset. `construct` names what was refused (e.g. `with`, `http.send`, `unsafe var x`).
 */
export class RegoCompileError extends Error {
  readonly code = 'REGO_COMPILE';
  constructor(
    readonly loc: Location,
    readonly construct: string,
    readonly detail: string,
  ) {
    super(`${loc.file}:${loc.line}:${loc.col}: ${construct}: ${detail}`);
    this.name = 'RegoCompileError';
  }
}
