// `portcullis serve` loads its configuration in a child process that exits afterwards: the YAML parser, zod
// and the config schema are needed once, at start-up, but a module once loaded stays for the life of the
// process (its source text, bytecode and the schema objects: ~5 MB of the serving process's idle memory,
// measured with bench:footprint). The child answers with the validated Config (structured clone: the values
// the schema produces are plain data) or with the error loadConfig raised, rebuilt here with the same code,
// message and issues, so a configuration mistake is reported exactly as before. Importing this module loads
// neither yaml nor zod.
import { fork } from 'node:child_process';
import type { ConfigChildReply } from './configChild.js';
import { ConfigError } from './errors.js';
import type { LoadedConfig } from './load.js';

/** An error the child raised that is not a ConfigError (its code, e.g. a file check's, is kept). */
export class ConfigChildError extends Error {
  constructor(
    readonly code: string | undefined,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

// Built (dist/): plain Node runs the built child, whatever loaders or flags the parent runs with. From the
// sources (the tests, `tsx`), the child is TypeScript too and needs tsx's loader.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD_URL = new URL(FROM_SOURCE ? './configChild.ts' : './configChild.js', import.meta.url);
const CHILD_EXEC_ARGV = FROM_SOURCE ? ['--import', 'tsx'] : [];

/** loadConfig in a child process: the same file, environment and outcome. */
export function loadConfigInChild(options: { file?: string | undefined } = {}): Promise<LoadedConfig> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD_URL, options.file === undefined ? [] : [options.file], {
      execArgv: CHILD_EXEC_ARGV,
      // Structured clone, not JSON: a Config may hold values JSON would change (Infinity, undefined).
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    child.once('message', (message) => {
      const reply = message as ConfigChildReply;
      settle(() => (reply.ok ? resolve(reply.loaded) : reject(errorOf(reply.error))));
    });
    child.once('error', (error) =>
      settle(() => reject(new Error(`the configuration process could not start: ${error.message}`))),
    );
    child.once('exit', (code, signal) =>
      settle(() =>
        reject(new Error(`the configuration process exited (${signal ?? `code ${code}`}) before answering`)),
      ),
    );
  });
}

function errorOf(error: Extract<ConfigChildReply, { ok: false }>['error']): Error {
  return error.kind === 'config'
    ? new ConfigError(error.code, error.message, error.file, error.issues)
    : new ConfigChildError(error.code, error.name, error.message);
}
