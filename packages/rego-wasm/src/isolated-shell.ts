// The compiler children's parent: one small /bin/sh, started at the first compile and kept, that starts each
// compiler child. Whatever forks a child copies its own page tables and, until the child has exec'ed, every page
// it writes is copy-on-write; while the page tables are copied it holds its memory map's lock, which every page
// fault of its other threads waits for. Forked from a serving process (~100 MB), that is 3-9 ms during which
// the event loop that answers checks may stall, and ~1,000 page faults after; forked from a shell of ~1 MB it is
// nothing the server sees. The server forks once, for the shell, at its first compile (start-up, before it
// serves); after that a compile costs it a line written to a pipe and one IPC message.
//
// The children reach the server through the shell's own IPC channel: Node gives it to a process as an inherited
// file descriptor named by NODE_CHANNEL_FD, and the shell passes both (descriptor and environment) on to each
// child it starts, one child at a time. The shell reports each child's exit status on its stdout, one line per
// child, and the children's stderr is the shell's.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CHILD_NODE_FLAGS, CHILD_URL } from './isolated-child-command.js';
import type { ChildReply, ChildRequest, LauncherOutcome } from './isolated-protocol.js';

/** The shell that starts children. Not on every platform: where it is missing, the launcher thread forks. */
export const SHELL = '/bin/sh';

/**
 * For each line read (a request to start a child), run the compiler child with stdin and stdout on /dev/null
 * (only the IPC descriptor talks) and print its exit status. `$0` is Node, `$1` the child script, `$2` the
 * niceness the child applies to its threads, the rest Node's flags for the child (CHILD_NODE_FLAGS);
 * everything the shell starts inherits the shell's own niceness and scheduling policy.
 *
 * First the shell moves itself to SCHED_IDLE with util-linux's `chrt` (Node cannot set a policy; lowering one
 * needs no privilege), so that every child runs there too. A niceness of 19 still lets a compile that the kernel
 * has picked run out its time slice while the server's threads wait on the other core; a CPU running only
 * SCHED_IDLE work counts as idle when the kernel places a thread that wakes up, and that thread preempts the
 * compile at once. Without `chrt` (or where a seccomp profile refuses the call) the niceness alone applies.
 */
const SCRIPT =
  'chrt -i -p 0 $$ >/dev/null 2>&1; c="$1"; n="$2"; shift 2; ' +
  'while IFS= read -r _; do "$0" "$@" "$c" "$n" </dev/null >/dev/null; echo "$?"; done';

/**
 * How long a child that exited with status 0 has for its reply to arrive: the reply is written before the child
 * exits, but it and the exit status come through different pipes, and a large reply takes several reads.
 */
const REPLY_GRACE_MS = 5000;

/** Bytes of a child's stderr kept for the message of a failure. */
const STDERR_LIMIT = 4096;

/**
 * What a compile through the shell comes to: the child's reply or why there is none, or `no-shell` when the shell
 * itself could not be started (a filesystem mounted noexec, a seccomp profile): the caller then forks otherwise.
 */
export type ShellOutcome = LauncherOutcome | { kind: 'no-shell' };

interface Pending {
  settle(outcome: LauncherOutcome): void;
  stderr: string;
  graceTimer?: NodeJS.Timeout;
}

/**
 * One shell and the compile it runs. Compiles run one at a time (a later one waits for the earlier one); a
 * shell whose child failed is ended and the next compile starts a new one, since a child that died while writing
 * its reply leaves the channel in the middle of a message.
 */
export class CompilerShell {
  private shell: ChildProcess | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly niceness: number,
    private readonly shellPath: string = SHELL,
  ) {}

  /** Compiles in a new child of the shell; resolves to its reply, or to why there is none (never rejects). */
  run(request: ChildRequest): Promise<ShellOutcome> {
    const outcome = this.queue.then(() => this.runNow(request));
    this.queue = outcome;
    return outcome;
  }

  private runNow(request: ChildRequest): Promise<ShellOutcome> {
    return new Promise((resolve) => {
      const shell = this.shell ?? this.start();
      if (shell === undefined) {
        resolve({ kind: 'no-shell' });
        return;
      }
      const pending: Pending = {
        stderr: '',
        settle: (outcome) => {
          if (this.pending !== pending) return;
          this.pending = undefined;
          clearTimeout(pending.graceTimer);
          shell.channel?.unref();
          resolve(outcome);
        },
      };
      this.pending = pending;
      // Until the reply is in, the compile keeps its caller alive, as the caller's own child would.
      shell.channel?.ref();
      shell.stdin?.write('\n');
      shell.send(request, (error) => {
        if (error !== null) this.fail(`the request could not be sent: ${error.message}`);
      });
    });
  }

  private start(): ChildProcess | undefined {
    let shell: ChildProcess;
    try {
      const args = [process.execPath, fileURLToPath(CHILD_URL), String(this.niceness), ...CHILD_NODE_FLAGS];
      shell = spawn(this.shellPath, ['-c', SCRIPT, ...args], {
        stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
    } catch {
      return undefined;
    }
    if (shell.pid === undefined) {
      // The spawn failed (its 'error' follows, with nothing left to report it to).
      shell.on('error', () => undefined);
      return undefined;
    }
    try {
      // Every child inherits it, Node's start-up threads included; raising it needs no privilege.
      setPriority(shell.pid, this.niceness);
    } catch {
      // a platform without priorities: the compile competes as an equal
    }
    this.shell = shell;
    shell.on('message', (reply) => this.pending?.settle({ kind: 'reply', reply: reply as ChildReply }));
    if (shell.stdout !== null) createInterface({ input: shell.stdout }).on('line', (line) => this.onChildExit(line));
    // A write to a shell that has just died fails here; its 'exit' below is what reports it.
    shell.stdin?.on('error', () => undefined);
    shell.stderr?.setEncoding('utf8');
    shell.stderr?.on('data', (chunk: string) => {
      if (this.pending !== undefined && this.pending.stderr.length < STDERR_LIMIT) this.pending.stderr += chunk;
    });
    shell.on('error', () => this.end(shell, `${this.shellPath} failed`));
    shell.on('exit', (code, signal) => this.end(shell, `${this.shellPath} exited (${signal ?? `code ${code}`})`));
    // Between compiles the shell waits on its stdin and keeps nobody alive: when this process exits, the shell
    // reads the end of its input and exits too.
    shell.unref();
    shell.channel?.unref();
    for (const stream of [shell.stdin, shell.stdout, shell.stderr])
      (stream as { unref?: () => void } | null)?.unref?.();
    return shell;
  }

  /** One line of the shell's stdout: the exit status of the child it ran. */
  private onChildExit(line: string): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const status = Number(line);
    if (status === 0) {
      // The reply was written before the exit; give it time to be read.
      pending.graceTimer = setTimeout(() => this.fail('exited (code 0) before answering'), REPLY_GRACE_MS);
      return;
    }
    this.fail(`exited (${describeStatus(status)}) before answering`);
  }

  /** The running compile has no reply: answer why, and end the shell (its channel may hold half a message). */
  private fail(why: string): void {
    if (this.pending === undefined) return;
    this.settleFailed(`the compiler process ${why}`);
    this.shell?.kill('SIGKILL');
    this.shell = undefined;
  }

  private end(shell: ChildProcess, why: string): void {
    if (this.shell !== shell) return;
    this.shell = undefined;
    this.settleFailed(`the compiler process could not run: ${why}`);
  }

  /** Settles the running compile, if any, as failed: `message`, then what the child printed on stderr. */
  private settleFailed(message: string): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const stderr = pending.stderr.trim();
    pending.settle({ kind: 'failed', message: stderr ? `${message}: ${stderr}` : message });
  }
}

/** A shell reports a child killed by signal N as status 128 + N. */
function describeStatus(status: number): string {
  if (status > 128) {
    const name = Object.entries(constants.signals).find(([, number]) => number === status - 128)?.[0];
    if (name !== undefined) return name;
  }
  return `code ${status}`;
}
