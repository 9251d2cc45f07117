// The Rego -> Wasm compiler's public surface (the package's `.` export): sources in, an OPA Wasm ABI module out.
// Phases: lexer -> parser (AST) -> analysis -> planner (IR) -> wasm (binaryen + the AssemblyScript runtime).
// The builtins the module calls at evaluation time are `./builtins`; OPA bundles are `./bundle`.
export { RegoCompileError, type CompileErrorKind } from './errors.js';
export { compileRego } from './compile.js';
export { parseModule } from './parser.js';
/** Every error of a policy (all files, all rules), optionally with OPA's strict-mode checks. */
export { checkRego, type CheckOptions } from './tools/check.js';
/** Host callbacks for print() and coverage probes, and the coverable lines of a policy. */
export { hostBuiltins, coverableLines, type HostCallbacks } from './tools/host.js';
/** Canonical Rego v1 text of a module, comments kept (`policy fmt`). */
export { formatModule } from './tools/format.js';
/** Builtins a compiled policy may call (arity, lowering, OPA's argument types), and those it refuses with the reason. */
export {
  CATALOG,
  REFUSED,
  type BuiltinSpec,
  type IntegerOperand,
  type Shape,
  type ValueType,
} from './builtins/catalog.js';
/** The policy authors' guide's table of builtins, made from the catalog. */
export { builtinTable } from './tools/builtinTable.js';
/** A directory of Rego read as one policy (also the `./dir` entry, which loads no compiler code). */
export { readRegoDir, RegoDirError, type RegoDir, type RegoDirOptions } from './regoDir.js';
export type { Module, Rule } from './ast.js';

export interface RegoSource {
  /** Shown in errors as `path:line:col`. */
  path: string;
  source: string;
}

export interface CompileOptions {
  /** Entrypoints as the SDK names them, e.g. `envoy/authz/allow` (= data.envoy.authz.allow). */
  entrypoints: string[];
  /**
   * Emit fuel checks (default true): every loop iteration and function call charges one step of a budget
   * the host sets per evaluation through the exported global `portcullis_fuel_budget` (unlimited when it
   * does not); `portcullis_fuel` is the steps left, below zero once the evaluation ran out. false only to
   * measure what the checks cost.
   */
  fuel?: boolean;
  /**
   * Compile print() to calls of the host builtin `internal.print` (see `hostBuiltins`) instead of a no-op.
   * For `policy test` and `policy eval`; a production module has no one to print to.
   */
  print?: boolean;
  /** Emit a probe per expression (`internal.cover` with [file, line]) so a host can measure line coverage. */
  coverage?: boolean;
}

export interface CompileResult {
  wasm: Uint8Array;
  entrypoints: string[];
}
