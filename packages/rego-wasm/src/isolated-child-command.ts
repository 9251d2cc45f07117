// How the compiler child (isolated-child.ts) is run, the same whichever way it is started: by the long-lived
// shell (isolated-shell.ts) or by the launcher thread (isolated-launcher.ts).

/** The built child script next to this module (dist/isolated-child.js). */
export const CHILD_URL = new URL('./isolated-child.js', import.meta.url);

/**
 * Node flags of the compiler child.
 * - `--liftoff-only`: V8 compiles binaryen's WebAssembly with its baseline compiler only; by default it also
 *   recompiles the hot functions with its optimizing compiler, which a process that lives for one compile never
 *   pays back (measured on `policies/`: ~470 ms of CPU per compile instead of ~720 ms, and the compile itself 3x
 *   shorter).
 * - `--single-threaded`: V8 posts no work to its background threads (WebAssembly compilation, concurrent
 *   marking and sweeping), so the compile occupies one core at a time. Without it the child's worker threads
 *   ran 40-50 ms of each compile beside its main thread, on both cores of a two-core machine at once, and the
 *   server's threads woke up next to the compile on either core: in `npm run bench:reload-windows` (four
 *   alternating runs each) the p99 of checks during reloads went from 4.4-5.1 ms to 3.5-4.5 ms (control
 *   windows: 1.8-2.7 ms), for ~40 ms more per reload.
 */
export const CHILD_NODE_FLAGS: readonly string[] = ['--liftoff-only', '--single-threaded'];
