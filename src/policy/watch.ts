// Watches the policy source (a directory tree, or one file) and the data file, and calls `onChange` once per
// burst of changes (an editor's write-rename-chmod, a `tar` extracting) after `debounceMs` of quiet.
//
// Replacing a file gives it a new inode, and a watch on the old inode never fires again (Node 20's recursive
// `fs.watch` on Linux watches files that way, so one `mv` ended all reloads). So this watches directories,
// never files: every directory of the tree plus the parent of each watched path (a renamed, replaced or
// re-linked root, a Kubernetes ConfigMap's `..data` swap), and re-arms the whole set after each change so a
// new or replaced directory is watched too. A periodic stat of every file (inode, size, times) backs the
// events up: a change only the poll sees is reloaded anyway and reported, so a watch that went deaf shows
// in the log and in a metric instead of silently serving an old policy.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface PolicyWatch {
  close(): void;
}

export type WatchProblem =
  /** the poll found a change (in `paths`) that no file event reported by the next poll */
  | { kind: 'missed'; paths: string[] }
  /** a directory could not be watched or its watch failed; the poll still covers it */
  | { kind: 'error'; directory: string; error: unknown };

export interface WatchOptions {
  debounceMs: number;
  /** how often every watched file is stat'ed as a fallback; 0 turns the poll off */
  pollMs: number;
  onProblem?: (problem: WatchProblem) => void;
}

/** inode, size and times of every file under the watched paths, keyed by path */
type Fingerprint = Map<string, string>;

/** Resolves once every directory is watched, so a change made after it resolves is seen. */
export async function watchPaths(paths: string[], onChange: () => void, options: WatchOptions): Promise<PolicyWatch> {
  const report = options.onProblem ?? (() => undefined);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  let seen: Fingerprint = new Map();
  /** bumped by every file event, so the poll can tell whether an event followed a change it saw */
  let eventCount = 0;
  /** the event count when the poll first saw an unreported change */
  let suspect: number | undefined;

  const fire = async (): Promise<void> => {
    timer = undefined;
    seen = await fingerprint(paths);
    if (closed) return;
    await arm();
    if (closed) return;
    onChange();
  };
  const trigger = (): void => {
    eventCount += 1;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => void fire(), options.debounceMs);
  };

  const arm = async (): Promise<void> => {
    const directories = await directoriesToWatch(paths);
    if (closed) return;
    for (const w of watchers) w.close();
    watchers = [];
    for (const { directory, names } of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, (_event, filename) => {
          if (names === undefined || filename === null || names.has(filename) || filename.startsWith('..')) trigger();
        });
        watcher.on('error', (error) => {
          report({ kind: 'error', directory, error });
          trigger();
        });
        watchers.push(watcher);
      } catch (error) {
        report({ kind: 'error', directory, error });
      }
    }
  };

  const poll = async (): Promise<void> => {
    const now = await fingerprint(paths);
    if (closed || timer !== undefined || sameFingerprint(now, seen)) {
      suspect = undefined;
      return;
    }
    // A change seen by the poll may simply not have had its event delivered yet: only a change that is still
    // unreported at the next poll counts as missed.
    if (suspect !== eventCount) {
      suspect = eventCount;
      return;
    }
    suspect = undefined;
    report({ kind: 'missed', paths: changedPaths(seen, now) });
    seen = now;
    await arm();
    if (!closed) onChange();
  };

  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;
  if (options.pollMs > 0) {
    pollTimer = setInterval(() => {
      if (polling) return;
      polling = true;
      void poll().finally(() => {
        polling = false;
      });
    }, options.pollMs);
    pollTimer.unref();
  }
  seen = await fingerprint(paths);
  await arm();

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (pollTimer !== undefined) clearInterval(pollTimer);
      for (const w of watchers) w.close();
      watchers = [];
    },
  };
}

/**
 * The directories to watch: the parent of each path (only events naming the path, or a `..`-prefixed
 * ConfigMap internal, count there) and, for a directory path, every directory of its tree as the policy
 * loader walks it (symbolic links followed, hidden entries and node_modules skipped).
 */
async function directoriesToWatch(paths: string[]): Promise<Array<{ directory: string; names?: Set<string> }>> {
  const result: Array<{ directory: string; names?: Set<string> }> = [];
  const parents = new Map<string, Set<string>>();
  for (const path of paths) {
    const parent = dirname(path);
    const names = parents.get(parent) ?? new Set<string>();
    names.add(basename(path));
    parents.set(parent, names);
  }
  for (const [directory, names] of parents) result.push({ directory, names });
  const visited = new Set<string>();
  for (const path of paths) {
    for (const directory of await treeDirectories(path, visited)) result.push({ directory });
  }
  return result;
}

async function treeDirectories(directory: string, visited: Set<string>): Promise<string[]> {
  const info = await stat(directory).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) return [];
  const real = await realpath(directory).catch(() => directory);
  if (visited.has(real)) return [];
  visited.add(real);
  const found = [directory];
  const entries = await readdir(directory).catch(() => [] as string[]);
  for (const name of entries) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    found.push(...(await treeDirectories(join(directory, name), visited)));
  }
  return found;
}

/** Every file under the paths with what changes when it is written, replaced or re-linked. */
async function fingerprint(paths: string[]): Promise<Fingerprint> {
  const result: Fingerprint = new Map();
  const visited = new Set<string>();
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path, { bigint: true }).catch(() => undefined);
    if (info === undefined) {
      result.set(path, 'missing');
      return;
    }
    if (!info.isDirectory()) {
      result.set(path, `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`);
      return;
    }
    const real = await realpath(path).catch(() => path);
    if (visited.has(real)) return;
    visited.add(real);
    const entries = await readdir(path).catch(() => [] as string[]);
    const listed = entries.filter((name) => !name.startsWith('.') && name !== 'node_modules').sort();
    result.set(path, `dir:${listed.join('/')}`);
    for (const name of listed) await walk(join(path, name));
  };
  for (const path of paths) await walk(path);
  return result;
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  if (a.size !== b.size) return false;
  for (const [path, value] of a) if (b.get(path) !== value) return false;
  return true;
}

function changedPaths(before: Fingerprint, after: Fingerprint): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((path) => before.get(path) !== after.get(path)).sort();
}
