// The child process of compileIsolated: one request in, one reply out, then exit (its memory goes back).
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { ChildReply, ChildRequest } from './isolated-protocol.js';

/**
 * The parent lowers this process's priority right after the fork, but on Linux a priority belongs to one
 * thread: the threads Node started before that (V8's compiler and GC helpers) would keep competing with the
 * server as equals. Each thread is one entry of /proc/self/task; elsewhere the parent's call is all there is.
 */
function lowerThreadPriorities(niceness: number): void {
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const thread of threads) {
    try {
      setPriority(Number(thread), niceness);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

const BACKEND_MISSING =
  'compiling Rego needs binaryen (an optional peer dependency of @portcullis/rego-wasm, installed with the ' +
  'development dependencies): run `npm install binaryen`, or serve a bundle built by `portcullis policy build`';

async function compile(request: ChildRequest): Promise<ChildReply> {
  let compiler: typeof import('./index.js');
  try {
    compiler = await import('./index.js');
  } catch (error) {
    const missing =
      (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes("'binaryen'");
    if (missing) return { ok: false, error: { kind: 'backend-missing', message: BACKEND_MISSING } };
    throw error;
  }
  try {
    const compiled = compiler.compileRego(request.sources, request.options);
    const rules = request.sources.flatMap((source) => {
      const module = compiler.parseModule(source.path, source.source);
      return module.rules.map((rule) => [...module.package.path, ...rule.name]);
    });
    return { ok: true, result: { ...compiled, rules } };
  } catch (error) {
    if (error instanceof compiler.RegoCompileError) {
      return {
        ok: false,
        error: {
          kind: 'compile',
          loc: error.loc,
          construct: error.construct,
          detail: error.detail,
          errorKind: error.kind,
        },
      };
    }
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      error: {
        kind: 'other',
        code: typeof code === 'string' ? code : undefined,
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
      },
    };
  }
}

const niceness = Number(process.argv[2]);
if (Number.isInteger(niceness)) lowerThreadPriorities(niceness);

process.once('message', (message) => {
  compile(message as ChildRequest).then(
    (reply) => process.send?.(reply, () => process.disconnect()),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
});
