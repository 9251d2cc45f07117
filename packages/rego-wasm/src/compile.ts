// compileRego: Rego sources -> OPA Wasm ABI module. parse -> analyze -> plan -> emit.
import type { Module } from './ast.js';
import { RegoCompileError } from './errors.js';
import { analyzeModules } from './analysis/index.js';
import type { CompileOptions, CompileResult, RegoSource } from './index.js';
import { parseModule } from './parser.js';
import { entrypointPath, planPolicy } from './planner/index.js';
import { emitWasm } from './wasm/emit.js';
import type { Policy } from './ir.js';
import type { PlanOptions } from './planner/builder.js';

/** Parses, analyzes and plans; the IR alone, for tests and tools that inspect the plan. */
export function planRego(sources: RegoSource[], entrypoints: string[], options: PlanOptions = {}): Policy {
  const modules: Module[] = sources.map((source) => parseModule(source.path, source.source));
  try {
    const moduleSet = analyzeModules(modules);
    return planPolicy(moduleSet, entrypoints, options);
  } catch (err) {
    // Planning recurses once per expression of a body; a body of many hundreds of expressions is refused
    // cleanly instead of crashing.
    if (err instanceof RangeError) {
      const loc = modules[0]?.package.loc ?? { file: sources[0]?.path ?? '<policy>', line: 1, col: 1 };
      throw new RegoCompileError(
        loc,
        'policy size',
        'a rule body or collection is too large to compile; split it into several rules',
        'limit',
      );
    }
    throw err;
  }
}

export function compileRego(sources: RegoSource[], options: CompileOptions): CompileResult {
  const policy = planRego(sources, options.entrypoints, {
    print: options.print === true,
    coverage: options.coverage === true,
  });
  const wasm = emitWasm(policy, { fuel: options.fuel ?? true });
  return { wasm, entrypoints: options.entrypoints.map((entrypoint) => entrypointPath(entrypoint).slice(1).join('/')) };
}
