// IR -> Wasm. The policy's functions are added to the precompiled AssemblyScript runtime (values, JSON,
// builtins, the ABI exports) with binaryen, so one module carries both and binaryen optimizes across them.
//
// The emitter is a list of named stages (./stages.ts, EMIT_STAGES) over one shared context (./context.ts):
// the builtins a policy calls are numbered, its constants laid out as JSON texts in one passive data segment
// that the start function parses once, the fuel meter added (./fuel.ts; skipped with `fuel: false`), the
// IR's functions and plans compiled (./statements.ts), the runtime's `portcullis.*` imports (dispatch,
// reset, builtins, entrypoints) defined for this policy, and the module validated, pruned and serialized.
import type { Policy } from '../ir.js';
import { createEmitContext, type EmitContext, type EmitOptions } from './context.js';
import { WasmEmitError } from './errors.js';
import { EMIT_STAGES, type EmitStage } from './stages.js';

export type { EmitOptions } from './context.js';
export { EMIT_STAGES, type EmitStage } from './stages.js';

/** Runs `stages` in order over `m`, skipping those whose `when` refuses the options, timing each. */
export function runEmitStages(m: EmitContext, stages: readonly EmitStage[]): void {
  for (const stage of stages) {
    if (stage.when !== undefined && !stage.when(m.options)) continue;
    const started = performance.now();
    stage.run(m);
    m.options.onStage?.(stage.name, performance.now() - started);
  }
}

export function emitWasm(policy: Policy, options: EmitOptions = {}): Uint8Array {
  const m = createEmitContext(policy, options);
  try {
    runEmitStages(m, EMIT_STAGES);
    if (m.binary === undefined) throw new WasmEmitError('invalid-module', 'the emitter stages produced no module');
    return m.binary;
  } finally {
    m.mod.dispose();
  }
}
