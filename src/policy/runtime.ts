// Holds the policy in force. Reloads build a complete new policy first and swap one reference, so a check
// sees either the old or the new policy, never a mix; a reload that fails keeps the last good one.
import type { Logger } from 'pino';
import type { LoadedPolicy, PolicySettings } from './engine.js';
import { watchPaths, type PolicyWatch } from './watch.js';

export interface PolicyRuntimeDeps {
  logger: Logger;
  countReload(result: 'success' | 'error'): void;
  setRevision(revision: string): void;
  /** loads one policy; defaults to the opa-wasm engine (tests may substitute) */
  load?: (settings: PolicySettings) => Promise<LoadedPolicy>;
}

export interface PolicyRuntime {
  current(): LoadedPolicy;
  /** Reloads now; resolves true when the new policy is in force. */
  reload(): Promise<boolean>;
  watch(debounceMs?: number): void;
  close(): void;
}

/** Loads the first policy (throws PolicyLoadError: the caller exits 2) and returns the holder. */
export async function createPolicyRuntime(settings: PolicySettings, deps: PolicyRuntimeDeps): Promise<PolicyRuntime> {
  // The opa-wasm engine (and the Rego compiler behind it) is loaded only when no other loader is given.
  const load = deps.load ?? (await import('./engine.js')).loadPolicyFromSettings;
  let active = await load(settings);
  deps.setRevision(active.revision);
  deps.logger.info({ revision: active.revision, kind: active.kind, path: settings.path }, 'policy loaded');

  let running: Promise<boolean> | undefined;
  let again = false;
  let watcher: PolicyWatch | undefined;

  const reloadOnce = async (): Promise<boolean> => {
    try {
      const next = await load(settings);
      active = next;
      deps.countReload('success');
      deps.setRevision(next.revision);
      deps.logger.info({ revision: next.revision, path: settings.path }, 'policy reloaded');
      return true;
    } catch (error) {
      deps.countReload('error');
      deps.logger.error(
        { err: error, path: settings.path, revision: active.revision },
        'policy reload failed; keeping the last good policy',
      );
      return false;
    }
  };

  // One reload at a time; a change during a reload schedules exactly one more.
  const reload = (): Promise<boolean> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      let ok = await reloadOnce();
      while (again) {
        again = false;
        ok = await reloadOnce();
      }
      running = undefined;
      return ok;
    })();
    return running;
  };

  return {
    current: () => active,
    reload,
    watch(debounceMs = 200) {
      const paths = [settings.path, ...(settings.data === undefined ? [] : [settings.data])];
      watcher = watchPaths(paths, () => void reload(), debounceMs);
    },
    close() {
      watcher?.close();
    },
  };
}
