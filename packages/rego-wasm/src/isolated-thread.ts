// The fallback way of starting the compiler child, where there is no shell to start it (isolated-shell.ts): a
// short-lived worker thread of the caller forks it (isolated-launcher.ts) and relays its reply.
import { Worker } from 'node:worker_threads';
import type { ChildRequest, LauncherData, LauncherOutcome } from './isolated-protocol.js';

// The built launcher next to this module (dist/isolated-launcher.js).
const LAUNCHER_URL = new URL('./isolated-launcher.js', import.meta.url);

/**
 * The launcher thread keeps the caller's priority: while a fork copies the page tables it holds the lock of the
 * process's memory map, and every page fault of the event loop waits for it, so a fork at niceness 19 on a busy
 * core would stall the loop for as long as the scheduler keeps the forking thread waiting.
 */
export function throughLauncherThread(request: ChildRequest, niceness: number): Promise<LauncherOutcome> {
  return new Promise((resolve) => {
    const data: LauncherData = { request, niceness };
    // execArgv: none of the caller's loaders or flags (tsx, a test runner, --inspect) in the launcher thread.
    const worker = new Worker(LAUNCHER_URL, { workerData: data, execArgv: [] });
    let settled = false;
    const settle = (outcome: LauncherOutcome): void => {
      if (settled) return;
      settled = true;
      // The launcher ends by itself once the child has exited; it need not keep the caller alive until then.
      worker.unref();
      resolve(outcome);
    };
    worker.once('message', (message) => settle(message as LauncherOutcome));
    worker.once('error', (error) =>
      settle({ kind: 'failed', message: `the compiler launcher failed: ${error.message}` }),
    );
    worker.once('exit', (code) =>
      settle({ kind: 'failed', message: `the compiler launcher exited (code ${code}) before answering` }),
    );
  });
}
