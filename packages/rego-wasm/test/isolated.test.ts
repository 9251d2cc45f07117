// compileIsolated's child yields the CPU to the process that asked: every thread of the child (V8's compiler and
// GC helpers included, not only the main thread) runs at the lowest priority (niceness 19), and V8 only uses
// its baseline WebAssembly compiler there. The child is started by one small long-lived shell, so the asking
// process forks once (the shell) and never again per compile; where there is no shell, a worker thread forks it.
// Read from /proc while real compiles run (Linux).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compileIsolated, CompilerUnavailableError } from '@portcullis/rego-wasm/isolated';
// The worker thread and the child run built JavaScript, so the fallback is tested from the build.
import { CompilerShell } from '../dist/isolated-shell.js';
import { throughLauncherThread } from '../dist/isolated-thread.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;
const SOURCES = [{ path: 'authz.rego', source: POLICY }];
const OPTIONS = { entrypoints: ['envoy/authz/allow'] };
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface Proc {
  pid: number;
  /** the thread of its parent that forked it */
  thread: number;
}

/** The children of a process, each with the thread that forked it (a thread that ended meanwhile has none). */
function childrenOf(pid: number): Proc[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => {
      try {
        return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
          .split(' ')
          .filter(Boolean)
          .map((child) => ({ pid: Number(child), thread: Number(task) }));
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((child) => [child.pid, ...descendantsOf(child.pid)]);
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Fields of /proc/PID/stat after the command name: [0] state, [1] parent pid, [11] and [12] user and system CPU
 * in clock ticks, [16] niceness, [38] policy.
 */
function statFields(path: string): string[] | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

interface ChildSnapshot {
  pid: number;
  parent: number;
  cmdline: string[];
  /** niceness of each thread, by thread id */
  niceness: Map<string, number>;
  /** scheduling policy of each thread (sched_setscheduler's number: 0 SCHED_OTHER, 5 SCHED_IDLE), by thread id */
  policy: Map<string, number>;
  /** CPU time each thread has used so far, in clock ticks, by thread id */
  cpuTicks: Map<string, number>;
}

/** SCHED_IDLE's number in /proc/PID/stat. */
const SCHED_IDLE = 5;
/** Where util-linux's chrt is, the shell moves itself (and so every child) to SCHED_IDLE. */
const HAS_CHRT = ['/usr/bin/chrt', '/bin/chrt'].some((path) => existsSync(path));

/** A compiler child's command line, parent and threads' niceness, or undefined once gone. */
function snapshot(pid: number): ChildSnapshot | undefined {
  const args = cmdline(pid);
  const parent = statFields(`/proc/${pid}/stat`)?.[1];
  // (the shell's own command line names the child script too, as an argument)
  const isChild = args[0] !== '/bin/sh' && args.some((arg) => arg.endsWith('isolated-child.js'));
  if (!isChild || parent === undefined) return undefined;
  const niceness = new Map<string, number>();
  const policy = new Map<string, number>();
  const cpuTicks = new Map<string, number>();
  try {
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const fields = statFields(`/proc/${pid}/task/${thread}/stat`);
      if (fields === undefined) continue;
      niceness.set(thread, Number(fields[16]));
      policy.set(thread, Number(fields[38]));
      cpuTicks.set(thread, Number(fields[11]) + Number(fields[12]));
    }
  } catch {
    return undefined;
  }
  return { pid, parent: Number(parent), cmdline: args, niceness, policy, cpuTicks };
}

/** Runs `work` while sampling this process's compiler children (at any depth) every few ms. */
async function sampling<T>(work: () => Promise<T>): Promise<{ result: T; children: Map<number, ChildSnapshot> }> {
  const children = new Map<number, ChildSnapshot>();
  const sampler = setInterval(() => {
    for (const pid of descendantsOf(process.pid)) {
      const seen = snapshot(pid);
      if (seen !== undefined) children.set(pid, seen);
    }
  }, 3);
  try {
    return { result: await work(), children };
  } finally {
    clearInterval(sampler);
  }
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]);
}

/** Runs a module script in a new Node process beside this package; resolves to its stdout. */
async function runScript(script: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: PACKAGE_DIR,
    timeout: 60_000,
  });
  return stdout;
}

describe.runIf(existsSync('/proc/self/task') && existsSync('/bin/sh'))('compileIsolated child process', () => {
  it('runs every thread of the compiler child at the lowest priority, with the baseline Wasm compiler only', async () => {
    const { result, children } = await sampling(() => compileIsolated(SOURCES, OPTIONS));
    expect(result.entrypoints).toEqual(['envoy/authz/allow']);
    expect(children.size).toBe(1);
    const [child] = [...children.values()];
    expect(child!.cmdline).toContain('--liftoff-only');
    expect(child!.niceness.size).toBeGreaterThan(1);
    expect([...child!.niceness.values()].every((nice) => nice === 19)).toBe(true);
    // SCHED_IDLE where chrt is (the image: util-linux is part of Debian's base), the niceness alone elsewhere
    const policies = new Set(child!.policy.values());
    expect(policies).toEqual(new Set([HAS_CHRT ? SCHED_IDLE : 0]));
  });

  it('runs the compile on the main thread of the child alone, so that a compile takes one core at a time', async () => {
    const { children } = await sampling(() => compileIsolated(SOURCES, OPTIONS));
    const [child] = [...children.values()];
    expect(child!.cmdline).toContain('--single-threaded');
    // The last sample before the child exited: by then its main thread has imported binaryen (~0.3 s of CPU).
    // Without --single-threaded V8's worker threads compile binaryen's WebAssembly beside it (4-5 ticks of CPU);
    // one tick is left for what V8 or libuv still runs there.
    const main = child!.cpuTicks.get(String(child!.pid)) ?? 0;
    const others = [...child!.cpuTicks].filter(([thread]) => thread !== String(child!.pid));
    expect(main).toBeGreaterThan(10);
    expect(others.reduce((sum, [, ticks]) => sum + ticks, 0)).toBeLessThanOrEqual(1);
  });

  it('starts every compiler child from one small shell that it keeps, never forking this process again', async () => {
    await compileIsolated(SOURCES, OPTIONS); // the shell exists from the first compile on
    const before = childrenOf(process.pid);
    const earlier = new Set(descendantsOf(process.pid)); // the first compile's child may still be exiting
    const { children: sampled } = await sampling(async () => {
      await compileIsolated(SOURCES, OPTIONS);
      await compileIsolated(SOURCES, OPTIONS);
    });
    const children = [...sampled.values()].filter((child) => !earlier.has(child.pid));
    expect(children).toHaveLength(2);
    const parents = new Set(children.map((child) => child.parent));
    expect(parents.size).toBe(1);
    const [shell] = [...parents];
    expect(shell).not.toBe(process.pid);
    expect(cmdline(shell!)[0]).toBe('/bin/sh');
    // the shell is this process's child, was there before these compiles, and stays small
    expect(before.map((child) => child.pid)).toContain(shell);
    expect(childrenOf(process.pid)).toEqual(before);
    expect(rssKiB(shell!)).toBeLessThan(16 * 1024);
  });

  it('lets a process that compiled exit by itself, and its shell ends with it', async () => {
    const stdout = await runScript(`
      import { readdirSync, readFileSync } from 'node:fs';
      import { compileIsolated } from '@portcullis/rego-wasm/isolated';
      await compileIsolated(${JSON.stringify(SOURCES)}, ${JSON.stringify(OPTIONS)});
      const children = readdirSync('/proc/self/task').flatMap((t) =>
        readFileSync('/proc/self/task/' + t + '/children', 'utf8').split(' ').filter(Boolean));
      console.log(JSON.stringify(children));
    `);
    const shells = JSON.parse(stdout) as string[];
    expect(shells).toHaveLength(1);
    // the script exited without being told to; its shell reads the end of its input and exits too
    for (let i = 0; i < 200 && existsSync(`/proc/${shells[0]}`); i++) await new Promise((r) => setTimeout(r, 10));
    const state = statFields(`/proc/${shells[0]}/stat`)?.[0];
    expect(state === undefined || state === 'Z').toBe(true);
  });

  it('rejects with child-failed when the child dies before answering, with its exit and what it printed', async () => {
    // A fresh process: the shell passes on the environment it started with. Several times: each failure ends
    // the shell, and the next compile starts a new one.
    const stdout = await runScript(`
      import { compileIsolated } from '@portcullis/rego-wasm/isolated';
      process.env.NODE_OPTIONS = '--no-such-node-option-for-this-test';
      const seen = [];
      for (let attempt = 0; attempt < 4; attempt++) {
        const error = await compileIsolated(${JSON.stringify(SOURCES)}, ${JSON.stringify(OPTIONS)}).catch((e) => e);
        seen.push({ name: error.name, reason: error.reason, message: error.message });
      }
      console.log(JSON.stringify(seen));
    `);
    const seen = JSON.parse(stdout) as Array<{ name: string; reason: string; message: string }>;
    expect(seen).toHaveLength(4);
    for (const error of seen) {
      expect(error.name).toBe('CompilerUnavailableError');
      expect(error.reason).toBe('child-failed');
      expect(error.message).toMatch(/exited \(code \d+\) before answering: .*no-such-node-option/);
    }
  });

  it('fails the compile whose child is killed, and the next compile runs in a new shell', async () => {
    const compiling = compileIsolated(SOURCES, OPTIONS);
    let child: number | undefined;
    for (let i = 0; i < 2000 && child === undefined; i++) {
      child = descendantsOf(process.pid).find((pid) => snapshot(pid) !== undefined);
      if (child === undefined) await new Promise((r) => setTimeout(r, 1));
    }
    expect(child).toBeDefined();
    process.kill(child!, 'SIGKILL');
    const error = await compiling.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompilerUnavailableError);
    expect((error as CompilerUnavailableError).reason).toBe('child-failed');
    expect((error as Error).message).toMatch(/exited \(SIGKILL\) before answering/);
    const again = await compileIsolated(SOURCES, OPTIONS);
    expect(again.entrypoints).toEqual(['envoy/authz/allow']);
  });

  it('queues compiles asked for at once, each answered with its own module', async () => {
    const [first, second] = await Promise.all([
      compileIsolated(SOURCES, OPTIONS),
      compileIsolated([{ path: 'other.rego', source: 'package other\n\nimport rego.v1\n\nok := true\n' }], {
        entrypoints: ['other/ok'],
      }),
    ]);
    expect(first.entrypoints).toEqual(['envoy/authz/allow']);
    expect(second.entrypoints).toEqual(['other/ok']);
    expect(second.rules).toEqual([['other', 'ok']]);
  });
});

describe('a shell that cannot be started', () => {
  it('answers no-shell (so that the caller forks otherwise), not a failed compile', async () => {
    const shell = new CompilerShell(19, '/nonexistent/portcullis-test/sh');
    expect(await shell.run({ sources: SOURCES, options: OPTIONS })).toEqual({ kind: 'no-shell' });
    // and again: nothing was left half-started
    expect(await shell.run({ sources: SOURCES, options: OPTIONS })).toEqual({ kind: 'no-shell' });
  });
});

describe.runIf(existsSync('/proc/self/task'))('the launcher thread (where there is no shell)', () => {
  it('forks the child from a thread of its own, not from the event loop that called it, and relays its reply', async () => {
    const forkers = new Set<number>();
    const sampler = setInterval(() => {
      for (const child of childrenOf(process.pid)) if (snapshot(child.pid) !== undefined) forkers.add(child.thread);
    }, 2);
    let outcome;
    try {
      outcome = await throughLauncherThread({ sources: SOURCES, options: OPTIONS }, 19);
    } finally {
      clearInterval(sampler);
    }
    expect(forkers.size).toBeGreaterThan(0);
    expect(forkers.has(process.pid)).toBe(false);
    expect(outcome.kind).toBe('reply');
    expect(outcome.kind === 'reply' && outcome.reply.ok && outcome.reply.result.entrypoints).toEqual([
      'envoy/authz/allow',
    ]);
  });
});
