// compileRego in a child process that exits afterwards. The calling process never loads the compiler
// (binaryen alone is ~80 MB of resident memory) and keeps its event loop free while a policy compiles; every
// byte the compile used goes back to the system when the child exits. Importing this module loads no
// compiler code: only `node:worker_threads` and the error classes.
import { getPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { RegoCompileError } from './errors.js';
import type { CompileOptions, CompileResult, RegoSource } from './index.js';
import type { ChildReply, LauncherData, LauncherOutcome } from './isolated-protocol.js';

export { RegoCompileError, type CompileErrorKind } from './errors.js';
export type { CompileOptions, CompileResult, RegoSource } from './index.js';

export interface IsolatedCompileResult extends CompileResult {
  /** Path of every rule the sources define (package path + rule name), e.g. `['envoy', 'authz', 'allow']`. */
  rules: string[][];
  /**
   * Milliseconds the calling thread spent starting the compile (the thread that forks the child), the one part
   * of an isolated compile that runs on the caller's event loop.
   */
  spawnMs: number;
}

/**
 * The compiler cannot run here: its backend (binaryen, an optional peer dependency) is not installed, or the
 * child process died before answering. `reason` is stable; the message says what to do.
 */
export class CompilerUnavailableError extends Error {
  readonly code = 'REGO_COMPILER_UNAVAILABLE';
  constructor(
    readonly reason: 'backend-missing' | 'child-failed',
    message: string,
  ) {
    super(message);
    this.name = 'CompilerUnavailableError';
  }
}

/** An error the compiler raised that is neither a policy mistake nor a missing backend (a compiler bug). */
export class IsolatedCompileError extends Error {
  constructor(
    readonly code: string | undefined,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

/**
 * The compiler child's scheduling priority: the lowest Unix niceness. Measured under a closed-loop check load
 * on two shared cores, the server kept ~85% of its check throughput while a compile ran at 19, against ~77% at
 * the parent's + 10 (SCHED_IDLE, which Node cannot set: ~87%); the compile took a little longer.
 */
const CHILD_NICENESS = 19;

// The built launcher next to this module (dist/isolated-launcher.js).
const LAUNCHER_URL = new URL('./isolated-launcher.js', import.meta.url);

/**
 * The child is forked from a worker thread (isolated-launcher.ts), not from the caller's thread: a fork copies
 * the page tables of the whole process and then waits until the child has exec'ed, 1-2 ms on an idle machine
 * and several ms when the new child waits for a core, all of it a stall of the caller's event loop. Starting a
 * worker costs that loop ~0.5 ms; the worker's start-up, the fork and the wait run beside it. The launcher keeps
 * the caller's priority: while a fork copies the page tables it holds the lock of the process's memory map, and
 * every page fault of the event loop waits for it, so a fork at niceness 19 on a busy core would stall the loop
 * for as long as the scheduler keeps the forking thread waiting.
 */
export function compileIsolated(sources: RegoSource[], options: CompileOptions): Promise<IsolatedCompileResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // The compile yields the CPU to its parent: on a small CPU share, a server answering checks while a policy
    // reloads keeps its latency, and the reload takes longer instead. Raising niceness needs no privilege.
    const niceness = Math.max(CHILD_NICENESS, currentNiceness());
    const data: LauncherData = { request: { sources, options }, niceness };
    // execArgv: none of the caller's loaders or flags (tsx, a test runner, --inspect) in the launcher thread.
    const worker = new Worker(LAUNCHER_URL, { workerData: data, execArgv: [] });
    const spawnMs = performance.now() - started;
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      // The launcher ends by itself once the child has exited; it need not keep the caller alive until then.
      worker.unref();
      outcome();
    };
    worker.once('message', (message) => {
      const outcome = message as LauncherOutcome;
      settle(() => {
        if (outcome.kind === 'failed') reject(new CompilerUnavailableError('child-failed', outcome.message));
        else if (outcome.reply.ok) resolve({ ...outcome.reply.result, spawnMs });
        else reject(fromReply(outcome.reply.error));
      });
    });
    worker.once('error', (error) =>
      settle(() =>
        reject(new CompilerUnavailableError('child-failed', `the compiler launcher failed: ${error.message}`)),
      ),
    );
    worker.once('exit', (code) =>
      settle(() =>
        reject(
          new CompilerUnavailableError('child-failed', `the compiler launcher exited (code ${code}) before answering`),
        ),
      ),
    );
  });
}

function currentNiceness(): number {
  try {
    return getPriority();
  } catch {
    return 0;
  }
}

function fromReply(error: Extract<ChildReply, { ok: false }>['error']): Error {
  switch (error.kind) {
    case 'compile':
      return new RegoCompileError(error.loc, error.construct, error.detail, error.errorKind);
    case 'backend-missing':
      return new CompilerUnavailableError('backend-missing', error.message);
    case 'other':
      return new IsolatedCompileError(error.code, error.name, error.message);
  }
}
