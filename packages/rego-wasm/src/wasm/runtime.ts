// The precompiled AssemblyScript runtime the emitter extends: where its binary is, the wasm features it uses,
// the exports the opa-wasm SDK calls, and an index of its functions by the names the emitter refers to.
import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';
import { WasmEmitError } from './errors.js';

const RUNTIME_URL = new URL('../../dist/runtime/runtime.wasm', import.meta.url);
/** binaryen's name for an imported memory read from a binary without a name section. */
export const MEMORY_NAME = 'mimport$0';
export const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt;

/** Exports the SDK (or the older ctx API) uses; every other runtime export is internal and gets dropped. */
export const ABI_EXPORTS: ReadonlySet<string> = new Set([
  'opa_malloc',
  'opa_free',
  'opa_json_parse',
  'opa_value_parse',
  'opa_json_dump',
  'opa_value_dump',
  'opa_heap_ptr_get',
  'opa_heap_ptr_set',
  'opa_eval',
  'builtins',
  'entrypoints',
  'opa_eval_ctx_new',
  'opa_eval_ctx_set_input',
  'opa_eval_ctx_set_data',
  'opa_eval_ctx_set_entrypoint',
  'opa_eval_ctx_get_result',
  'eval',
  'opa_wasm_abi_version',
  'opa_wasm_abi_minor_version',
]);

/** Type tags of the runtime's value model (src/runtime/assembly/value.ts). */
export const TYPE_TAGS: Readonly<Record<string, number>> = {
  null: 1,
  boolean: 2,
  number: 3,
  string: 4,
  array: 5,
  object: 6,
  set: 7,
};

let runtimeBytes: Uint8Array | undefined;

function loadRuntime(): Uint8Array {
  if (runtimeBytes) return runtimeBytes;
  try {
    runtimeBytes = new Uint8Array(readFileSync(RUNTIME_URL));
  } catch (err) {
    throw new WasmEmitError(
      'runtime-missing',
      `the policy runtime ${RUNTIME_URL.pathname} is missing (${(err as Error).message}); run \`npm run build\``,
    );
  }
  return runtimeBytes;
}

/** A fresh binaryen module holding the runtime, with the features the emitted code uses; the caller disposes it. */
export function readRuntimeModule(): binaryen.Module {
  const mod = binaryen.readBinary(loadRuntime());
  mod.setFeatures(FEATURES);
  return mod;
}

export interface RuntimeNames {
  /** export name -> internal function name */
  exports: Map<string, string>;
  /** `portcullis.*` import base -> internal function name */
  hooks: Map<string, string>;
  /** `env.*` function import base -> internal function name */
  env: Map<string, string>;
}

export function indexRuntime(mod: binaryen.Module): RuntimeNames {
  const exports = new Map<string, string>();
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (info.kind === binaryen.ExternalFunction) exports.set(info.name, info.value);
  }
  const hooks = new Map<string, string>();
  const env = new Map<string, string>();
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module === 'portcullis' && info.base) hooks.set(info.base, info.name);
    if (info.module === 'env' && info.base) env.set(info.base, info.name);
  }
  return { exports, hooks, env };
}

/** The runtime's export for a native builtin (`b_` and the dotted name with `_`). */
export function nativeExport(builtin: string): string {
  return `b_${builtin.replace(/\./g, '_')}`;
}

/** The runtime's fast path for a JS builtin (`f_` ...): it answers the common case, 0 otherwise. */
export function fastPathExport(builtin: string): string {
  return `f_${builtin.replace(/\./g, '_')}`;
}
