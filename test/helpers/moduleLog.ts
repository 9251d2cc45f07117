// A real `portcullis serve` whose every resolved module is recorded: a loader hook registered with --import
// before the CLI appends each resolved URL to a log file. The isolation tests read that list to show what the
// serving process loads and what it never does.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFiles } from './sidecar.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_CLI = fileURLToPath(new URL('./runCli.ts', import.meta.url));

const REGISTER = `import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url), { data: { log: process.env.MODULE_LOG } });
`;
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(log, resolved.url + '\\n');
  return resolved;
}
`;

/** The environment variable naming the file the hook appends each resolved module URL to. */
export const MODULE_LOG_ENV = 'MODULE_LOG';

/** Writes the hook's files into `dir`; returns what to pass to node's `--import` to load it. */
export function writeModuleLogHook(dir: string): string {
  writeFiles(dir, { 'register.mjs': REGISTER, 'hooks.mjs': HOOKS });
  return pathToFileURL(join(dir, 'register.mjs')).href;
}

export interface RecordedServe {
  /** Every module URL resolved so far, in order. */
  modules(): string[];
  /** SIGTERM, resolved once the process exited. */
  stop(): Promise<void>;
}

/**
 * Starts `portcullis serve --config <config>` with the hook (its files and the log `<name>.modules.log` go in
 * `dir`) and resolves once it is serving; rejects with its output if it exits first.
 */
export async function serveRecordingModules(dir: string, config: string, name = 'serve'): Promise<RecordedServe> {
  const log = join(dir, `${name}.modules.log`);
  writeFileSync(log, '');
  const hook = writeModuleLogHook(dir);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', hook, RUN_CLI, 'serve', '--config', config],
    { cwd: ROOT, env: { ...process.env, [MODULE_LOG_ENV]: log }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
  };
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes('portcullis serving')) {
          clearInterval(timer);
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`serve exited ${child.exitCode}:\n${output}`));
        }
      }, 50);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { modules: () => readFileSync(log, 'utf8').split('\n').filter(Boolean), stop };
}
