// Messages between compileIsolated (isolated.ts) and the child process that compiles (isolated-child.ts).
import type { Location } from './ast.js';
import type { CompileErrorKind } from './errors.js';
import type { CompileOptions, RegoSource } from './index.js';
import type { IsolatedCompileResult } from './isolated.js';

export interface ChildRequest {
  sources: RegoSource[];
  options: CompileOptions;
}

export type ChildReply =
  | { ok: true; result: IsolatedCompileResult }
  | {
      ok: false;
      error:
        | { kind: 'compile'; loc: Location; construct: string; detail: string; errorKind: CompileErrorKind }
        | { kind: 'backend-missing'; message: string }
        | { kind: 'other'; code: string | undefined; name: string; message: string };
    };
