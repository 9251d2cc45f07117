// The Rego -> Wasm compiler's public surface: sources in, an OPA Wasm ABI module out.
// Phases: lexer -> parser (AST) -> analysis -> planner (IR) -> wasm (binaryen + the AssemblyScript runtime).
export { RegoCompileError } from './errors.js';
export { compileRego } from './compile.js';

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
