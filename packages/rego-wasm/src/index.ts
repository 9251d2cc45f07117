// The Rego -> Wasm compiler's public surface (the package's `.` export): sources in, an OPA Wasm ABI module out.
// Phases: lexer -> parser (AST) -> analysis -> planner (IR) -> wasm (binaryen + the AssemblyScript runtime).
// The builtins the module calls at evaluation time are `./builtins`; OPA bundles are `./bundle`.
export { RegoCompileError } from './errors.js';
export { compileRego } from './compile.js';
export { parseModule } from './parser.js';
/** Builtins a compiled policy may call, by name, with their arity. */
export { BUILTINS } from './ir.js';
export type { Module, Rule } from './ast.js';

export interface RegoSource {
  /** Shown in errors as `path:line:col`. */
  path: string;
  source: string;
}

export interface CompileOptions {
  /** Entrypoints as the SDK names them, e.g. `envoy/authz/allow` (= data.envoy.authz.allow). */
  entrypoints: string[];
}

export interface CompileResult {
  wasm: Uint8Array;
  entrypoints: string[];
}
