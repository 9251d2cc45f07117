// compileRego in a child process that exits afterwards. The calling process never loads the compiler
// (binaryen alone is ~80 MB of resident memory) and keeps its event loop free while a policy compiles; every
// byte the compile used goes back to the system when the child exits. Importing this module loads no
// compiler code: only `node:child_process`, `node:worker_threads` and the error classes.
import { existsSync } from 'node:fs';
import { getPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { RegoCompileError } from './errors.js';
import type { CompileOptions, CompileResult, RegoSource } from './index.js';
import type { ChildReply, ChildRequest, LauncherOutcome } from './isolated-protocol.js';
import { CompilerShell, SHELL } from './isolated-shell.js';
import { throughLauncherThread } from './isolated-thread.js';

export { RegoCompileError, type CompileErrorKind } from './errors.js';
export type { CompileOptions, CompileResult, RegoSource } from './index.js';

export interface IsolatedCompileResult extends CompileResult {
  /** Path of every rule the sources define (package path + rule name), e.g. `['envoy', 'authz', 'allow']`. */
  rules: string[][];
  /**
   * Milliseconds the calling thread spent starting the compile (asking the shell for a child, or starting the
   * launcher thread), the one part of an isolated compile that runs on the caller's event loop.
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
 * the parent's + 10 (SCHED_IDLE: ~87%); the compile took a little longer. Where the shell starts the children
 * they also run under SCHED_IDLE (isolated-shell.ts); the launcher thread's children have the niceness only.
 */
const CHILD_NICENESS = 19;

/**
 * Where the shell exists (every Unix, the image included), a long-lived shell starts each child
 * (isolated-shell.ts): a fork copies the page tables of the process that forks, and forked from the caller it
 * holds the caller's memory map for 3-9 ms of a ~100 MB process, stalling the event loop that answers checks.
 * Elsewhere a worker thread of the caller forks (isolated-launcher.ts): that still stalls the loop's page faults
 * while it copies, but not for the wait until the child has exec'ed.
 */
export function compileIsolated(sources: RegoSource[], options: CompileOptions): Promise<IsolatedCompileResult> {
  const started = performance.now();
  // The compile yields the CPU to its parent: on a small CPU share, a server answering checks while a policy
  // reloads keeps its latency, and the reload takes longer instead. Raising niceness needs no privilege.
  const niceness = Math.max(CHILD_NICENESS, currentNiceness());
  const request: ChildRequest = { sources, options };
  const outcome = runChild(request, niceness);
  const spawnMs = performance.now() - started;
  return outcome.then((settled) => {
    if (settled.kind === 'failed') throw new CompilerUnavailableError('child-failed', settled.message);
    if (settled.reply.ok) return { ...settled.reply.result, spawnMs };
    throw fromReply(settled.reply.error);
  });
}

let shellUsable: boolean | undefined;

function runChild(request: ChildRequest, niceness: number): Promise<LauncherOutcome> {
  shellUsable ??= process.platform !== 'win32' && existsSync(SHELL);
  if (!shellUsable) return throughLauncherThread(request, niceness);
  return compilerShell(niceness)
    .run(request)
    .then((outcome) => {
      if (outcome.kind !== 'no-shell') return outcome;
      // The shell is there but cannot be run here: the launcher thread forks from now on.
      shellUsable = false;
      return throughLauncherThread(request, niceness);
    });
}

// One shell per process, at the niceness of the first compile (CHILD_NICENESS: the highest there is).
let shell: CompilerShell | undefined;
function compilerShell(niceness: number): CompilerShell {
  shell ??= new CompilerShell(niceness);
  return shell;
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
