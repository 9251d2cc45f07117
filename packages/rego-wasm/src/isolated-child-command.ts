// How the compiler child (isolated-child.ts) is run, the same whichever way it is started: by the long-lived
// shell (isolated-shell.ts) or by the launcher thread (isolated-launcher.ts).

/** The built child script next to this module (dist/isolated-child.js). */
export const CHILD_URL = new URL('./isolated-child.js', import.meta.url);

/**
 * Node flags of the compiler child. `--liftoff-only`: V8 compiles binaryen's WebAssembly with its baseline
 * compiler only; by default it also recompiles the hot functions with its optimizing compiler, which a process
 * that lives for one compile never pays back (measured on `policies/`: ~470 ms of CPU per compile instead of
 * ~720 ms, and the compile itself 3x shorter).
 */
export const CHILD_NODE_FLAGS: readonly string[] = ['--liftoff-only'];
