// compileIsolated's child yields the CPU to the process that forked it: every thread of the child (V8's
// compiler and GC helpers included, not only the main thread) runs at the lowest priority (niceness 19),
// and V8 only uses its baseline WebAssembly compiler there. The fork itself happens on a thread of its own, not
// on the caller's event loop. Read from /proc while a real compile runs (Linux).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileIsolated, CompilerUnavailableError } from '@portcullis/rego-wasm/isolated';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;

interface ChildSnapshot {
  cmdline: string[];
  /** niceness of each thread, by thread id */
  niceness: Map<string, number>;
}

/** The children of this process, each with the thread that forked it (a thread that ended meanwhile has none). */
function forked(): Array<{ pid: number; thread: number }> {
  return readdirSync(`/proc/${process.pid}/task`).flatMap((task) => {
    try {
      return readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map((pid) => ({ pid: Number(pid), thread: Number(task) }));
    } catch {
      return [];
    }
  });
}

function children(): number[] {
  return forked().map((child) => child.pid);
}

/** The child's command line and its threads' niceness (field 19 of /proc/PID/task/TID/stat), or undefined once gone. */
function snapshot(pid: number): ChildSnapshot | undefined {
  try {
    const niceness = new Map<string, number>();
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      niceness.set(thread, Number(fields[16]));
    }
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { cmdline, niceness };
  } catch {
    return undefined;
  }
}

describe.runIf(existsSync('/proc/self/task'))('compileIsolated child process', () => {
  it('runs every thread of the compiler child at a lower priority, with the baseline Wasm compiler only', async () => {
    const latest = new Map<number, ChildSnapshot>();
    const sampler = setInterval(() => {
      for (const pid of children()) {
        const seen = snapshot(pid);
        if (seen !== undefined && seen.cmdline.some((arg) => arg.endsWith('isolated-child.js'))) latest.set(pid, seen);
      }
    }, 5);
    try {
      const result = await compileIsolated([{ path: 'authz.rego', source: POLICY }], {
        entrypoints: ['envoy/authz/allow'],
      });
      expect(result.entrypoints).toEqual(['envoy/authz/allow']);
    } finally {
      clearInterval(sampler);
    }
    expect(latest.size).toBe(1);
    const [child] = [...latest.values()];
    expect(child!.cmdline).toContain('--liftoff-only');
    expect(child!.niceness.size).toBeGreaterThan(1);
    expect([...child!.niceness.values()].every((nice) => nice === 19)).toBe(true);
  });

  it('forks the child from a thread of its own, not from the event loop that called it', async () => {
    const forkers = new Set<number>();
    const sampler = setInterval(() => {
      for (const child of forked()) forkers.add(child.thread);
    }, 2);
    let result;
    try {
      result = await compileIsolated([{ path: 'authz.rego', source: POLICY }], { entrypoints: ['envoy/authz/allow'] });
    } finally {
      clearInterval(sampler);
    }
    expect(forkers.size).toBeGreaterThan(0);
    expect(forkers.has(process.pid)).toBe(false);
    // what starting the compile held the caller's thread, reported with the result
    expect(result.spawnMs).toBeGreaterThanOrEqual(0);
  });

  it('rejects with child-failed when the child dies before answering', async () => {
    const saved = process.env['NODE_OPTIONS'];
    process.env['NODE_OPTIONS'] = '--no-such-node-option-for-this-test';
    try {
      // Several times: the child may die before or after the request is written to it, and either way the
      // message is its exit and what it printed (not the broken pipe of the request).
      for (let attempt = 0; attempt < 8; attempt++) {
        const error = await compileIsolated([{ path: 'authz.rego', source: POLICY }], {
          entrypoints: ['envoy/authz/allow'],
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CompilerUnavailableError);
        expect((error as CompilerUnavailableError).reason).toBe('child-failed');
        expect((error as Error).message).toMatch(/exited \(code \d+\) before answering: .*no-such-node-option/);
      }
    } finally {
      if (saved === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = saved;
    }
  });
});
