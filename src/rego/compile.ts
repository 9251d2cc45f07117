// compileRego: Rego sources -> OPA Wasm ABI module. parse -> analyze -> plan -> emit.
import type { Module } from './ast.js';
import { analyzeModules } from './analysis/index.js';
import type { CompileOptions, CompileResult, RegoSource } from './index.js';
import { parseModule } from './parser.js';
import { entrypointPath, planPolicy } from './planner/index.js';
import { emitWasm } from './wasm/emit.js';
import type { Policy } from './ir.js';

/** Parses, analyzes and plans; the IR alone, for tests and tools that inspect the plan. */
export function planRego(sources: RegoSource[], entrypoints: string[]): Policy {
  const modules: Module[] = sources.map((source) => parseModule(source.path, source.source));
  const moduleSet = analyzeModules(modules);
  return planPolicy(moduleSet, entrypoints);
}

export function compileRego(sources: RegoSource[], options: CompileOptions): CompileResult {
  const policy = planRego(sources, options.entrypoints);
  const wasm = emitWasm(policy);
  return { wasm, entrypoints: options.entrypoints.map((entrypoint) => entrypointPath(entrypoint).slice(1).join('/')) };
}
