// The worker thread of compileIsolated: forks the compiler child, relays its one reply to the thread that asked,
// and ends once the child has exited. Forking copies the whole process's page tables and then waits until the
// child has exec'ed (1-2 ms on an idle machine, several ms when the child waits for a core): on this thread that
// wait no longer holds the event loop that answers checks.
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { CHILD_NODE_FLAGS, CHILD_URL } from './isolated-child-command.js';
import type { ChildReply, ChildRequest, LauncherData, LauncherOutcome } from './isolated-protocol.js';

const { request, niceness } = workerData as LauncherData;

/** A platform without priorities: the compile competes as an equal. */
function lowerPriority(pid: number): void {
  try {
    setPriority(pid, niceness);
  } catch {
    // a platform without priorities: the compile competes as an equal
  }
}

function launch(): void {
  // execArgv: only our flags, so the child is plain Node whatever loaders or flags the server runs with (tsx, a
  // test runner, --inspect); 'advanced' serialization moves the module bytes as a Uint8Array, not JSON. The
  // niceness goes along for the threads Node starts before the setPriority below reaches the child.
  const child = fork(CHILD_URL, [String(niceness)], {
    execArgv: [...CHILD_NODE_FLAGS],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  if (child.pid !== undefined) lowerPriority(child.pid);
  let stderr = '';
  let posted = false;
  const settle = (outcome: LauncherOutcome): void => {
    if (posted) return;
    posted = true;
    post(outcome);
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  child.once('message', (message) => {
    settle({ kind: 'reply', reply: message as ChildReply });
    child.disconnect();
  });
  child.once('error', (error) =>
    settle({ kind: 'failed', message: `the compiler process could not start: ${error.message}` }),
  );
  // 'close', not 'exit': by then the child's stderr has been read to its end, for the message.
  child.once('close', (code, signal) =>
    settle({
      kind: 'failed',
      message: `the compiler process exited (${signal ?? `code ${code}`}) before answering${stderr ? `: ${stderr.trim()}` : ''}`,
    }),
  );
  // A child that dies at once (a bad NODE_OPTIONS) may close the channel before the request is written: that
  // EPIPE is not the story, the child's exit and stderr are, and 'close' reports them. A send that fails while
  // the child lives would leave nothing to answer, so the child is stopped and its 'close' settles.
  child.send(request satisfies ChildRequest, (error) => {
    if (error !== null && child.exitCode === null && child.signalCode === null) {
      stderr ||= `the request could not be sent: ${error.message}`;
      child.kill('SIGKILL');
    }
  });
}

/** The module's bytes move to the asking thread without a copy (a buffer of their own, transferred). */
function post(outcome: LauncherOutcome): void {
  if (outcome.kind === 'reply' && outcome.reply.ok) {
    const wasm = outcome.reply.result.wasm.slice();
    parentPort!.postMessage({ kind: 'reply', reply: { ok: true, result: { ...outcome.reply.result, wasm } } }, [
      wasm.buffer,
    ]);
    return;
  }
  parentPort!.postMessage(outcome);
}

launch();
