// Watches the policy source (a dir recursively, or one file) and the data file; bursts of events (an
// editor's write-rename-chmod, a `tar` extracting) collapse into one reload after `debounceMs` of quiet.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface PolicyWatch {
  close(): void;
}

export function watchPaths(paths: string[], onChange: () => void, debounceMs: number): PolicyWatch {
  let timer: NodeJS.Timeout | undefined;
  const trigger = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  const watchers: FSWatcher[] = paths.map((path) => watchOne(path, trigger));
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

function watchOne(path: string, trigger: () => void): FSWatcher {
  if (isDirectory(path)) return watch(path, { recursive: true, persistent: false }, trigger);
  // Editors and `mv` replace files, which ends a watch on the file itself; watch its directory instead.
  // A Kubernetes ConfigMap/Secret volume swaps a `..data` symlink rather than touching the file's own name.
  const name = basename(path);
  return watch(dirname(path), { persistent: false }, (_event, filename) => {
    if (filename === null || filename === name || filename.startsWith('..')) trigger();
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
