// compileRego in a child process that exits afterwards. The calling process never loads the compiler
// (binaryen alone is ~80 MB of resident memory) and keeps its event loop free while a policy compiles; every
// byte the compile used goes back to the system when the child exits. Importing this module loads no
// compiler code: only `node:child_process` and the error classes.
import { fork } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { RegoCompileError } from './errors.js';
import type { CompileOptions, CompileResult, RegoSource } from './index.js';
import type { ChildReply, ChildRequest } from './isolated-protocol.js';

export { RegoCompileError, type CompileErrorKind } from './errors.js';
export type { CompileOptions, CompileResult, RegoSource } from './index.js';

export interface IsolatedCompileResult extends CompileResult {
  /** Path of every rule the sources define (package path + rule name), e.g. `['envoy', 'authz', 'allow']`. */
  rules: string[][];
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

/**
 * Node flags of the compiler child. `--liftoff-only`: V8 compiles binaryen's WebAssembly with its baseline
 * compiler only; by default it also recompiles the hot functions with its optimizing compiler, which a process
 * that lives for one compile never pays back (measured on `policies/`: ~470 ms of CPU per compile instead of
 * ~720 ms, and the compile itself 3x shorter).
 */
const CHILD_NODE_FLAGS = ['--liftoff-only'];

// The built child script next to this module (dist/isolated-child.js).
const CHILD_URL = new URL('./isolated-child.js', import.meta.url);

export function compileIsolated(sources: RegoSource[], options: CompileOptions): Promise<IsolatedCompileResult> {
  return new Promise((resolve, reject) => {
    // The compile yields the CPU to its parent: on a small CPU share, a server answering checks while a policy
    // reloads keeps its latency, and the reload takes longer instead. Raising niceness needs no privilege.
    const niceness = Math.max(CHILD_NICENESS, currentNiceness());
    // execArgv: only our flags, so the child is plain Node whatever loaders or flags the parent runs with (tsx,
    // a test runner, --inspect); 'advanced' serialization moves the module bytes as a Uint8Array, not JSON. The
    // niceness goes along for the threads Node starts before the parent's setPriority below reaches the child.
    const child = fork(CHILD_URL, [String(niceness)], {
      execArgv: CHILD_NODE_FLAGS,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    if (child.pid !== undefined) lowerPriority(child.pid, niceness);
    let stderr = '';
    let settled = false;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    child.once('message', (message) => {
      const reply = message as ChildReply;
      settle(() => (reply.ok ? resolve(reply.result) : reject(fromReply(reply.error))));
      child.disconnect();
    });
    child.once('error', (error) =>
      settle(() =>
        reject(new CompilerUnavailableError('child-failed', `the compiler process could not start: ${error.message}`)),
      ),
    );
    child.once('exit', (code, signal) => {
      settle(() =>
        reject(
          new CompilerUnavailableError(
            'child-failed',
            `the compiler process exited (${signal ?? `code ${code}`}) before answering${stderr ? `: ${stderr.trim()}` : ''}`,
          ),
        ),
      );
    });
    const request: ChildRequest = { sources, options };
    child.send(request);
  });
}

function currentNiceness(): number {
  try {
    return getPriority();
  } catch {
    return 0;
  }
}

/** A platform without priorities: the compile competes as an equal. */
function lowerPriority(pid: number, niceness: number): void {
  try {
    setPriority(pid, niceness);
  } catch {
    // nothing to lower
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
