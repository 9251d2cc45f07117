// Messages between compileIsolated (isolated.ts), the worker thread that forks the compiler (isolated-launcher.ts)
// and the child process that compiles (isolated-child.ts).
import type { Location } from './ast.js';
import type { CompileErrorKind } from './errors.js';
import type { CompileOptions, CompileResult, RegoSource } from './index.js';

export interface ChildRequest {
  sources: RegoSource[];
  options: CompileOptions;
}

/** What the child compiled: the module, and the path of every rule the sources define. */
export interface ChildCompileResult extends CompileResult {
  rules: string[][];
}

export type ChildReply =
  | { ok: true; result: ChildCompileResult }
  | {
      ok: false;
      error:
        | { kind: 'compile'; loc: Location; construct: string; detail: string; errorKind: CompileErrorKind }
        | { kind: 'backend-missing'; message: string }
        | { kind: 'other'; code: string | undefined; name: string; message: string };
    };

/** The launcher thread's workerData: the request for the child, and the niceness the child runs at. */
export interface LauncherData {
  request: ChildRequest;
  niceness: number;
}

/** The launcher's one message: the child's reply, or why there is none. */
export type LauncherOutcome = { kind: 'reply'; reply: ChildReply } | { kind: 'failed'; message: string };
