// Holds the policy in force. Reloads build a complete new policy first and swap one reference, so a check
// sees either the old or the new policy, never a mix; a reload that fails keeps the last good one.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LoadedPolicy, PolicySettings } from './engine.js';
import type { EvaluatorObserver } from './evaluator.js';
import { watchPaths, type PolicyWatch, type WatchProblem } from './watch.js';
import { serialReloads } from './serialReloads.js';

export interface PolicyRuntimeDeps {
  logger: Logger;
  countReload(result: 'success' | 'error'): void;
  setRevision(revision: string): void;
  /** a change only the fallback poll saw, or a directory that could not be watched */
  countWatchProblem?(kind: WatchProblem['kind']): void;
  /** loads one policy; defaults to the opa-wasm engine (tests may substitute) */
  load?: (settings: PolicySettings, observer?: EvaluatorObserver) => Promise<LoadedPolicy>;
  /** failed evaluations and instance resets of every policy loaded (metrics) */
  observeEvaluator?: EvaluatorObserver;
}

export interface PolicyRuntime {
  /** The policy checks evaluate (a bundle runtime without a bundle yet: one whose evaluation fails). */
  current(): LoadedPolicy;
  /** The policy in force, or null while none is (a bundle runtime before its first activation). */
  loaded(): LoadedPolicy | null;
  /** Reloads now; resolves true when the new policy is in force. */
  reload(): Promise<boolean>;
  /** Reloads on file changes, after `debounceMs` of quiet; `pollMs` (0: off) is the stat fallback's period. */
  watch(options?: { debounceMs?: number; pollMs?: number }): Promise<void>;
  close(): void;
}

/** Loads the first policy (throws PolicyLoadError: the caller exits 2) and returns the holder. */
export async function createPolicyRuntime(settings: PolicySettings, deps: PolicyRuntimeDeps): Promise<PolicyRuntime> {
  // The opa-wasm engine (and the Rego compiler behind it) is loaded only when no other loader is given.
  const load = deps.load ?? (await import('./engine.js')).loadPolicyFromSettings;
  const loadOne = (): Promise<LoadedPolicy> => load(settings, deps.observeEvaluator);
  let started = performance.now();
  let active = await loadOne();
  deps.setRevision(active.revision);
  deps.logger.info(
    { revision: active.revision, kind: active.kind, path: settings.path, ...loadFigures(active, started) },
    'policy loaded',
  );
  warnIfUnmetered(deps.logger, active);

  let watcher: PolicyWatch | undefined;

  const reloadOnce = async (): Promise<boolean> => {
    try {
      started = performance.now();
      const next = await loadOne();
      active = next;
      deps.countReload('success');
      deps.setRevision(next.revision);
      deps.logger.info(
        { revision: next.revision, path: settings.path, ...loadFigures(next, started) },
        'policy reloaded',
      );
      warnIfUnmetered(deps.logger, next);
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

  const reload = serialReloads(reloadOnce);

  return {
    current: () => active,
    loaded: () => active,
    reload,
    async watch({ debounceMs = 200, pollMs = 5000 } = {}) {
      const paths = [settings.path, ...(settings.data === undefined ? [] : [settings.data])];
      const onProblem = (problem: WatchProblem): void => {
        deps.countWatchProblem?.(problem.kind);
        if (problem.kind === 'missed') {
          deps.logger.warn(
            { paths: problem.paths, pollMs },
            'policy change found by the periodic check, not by the file watch; reloading (the file watch may be broken on this filesystem)',
          );
        } else {
          deps.logger.warn(
            { err: problem.error, directory: problem.directory, pollMs },
            'cannot watch a policy directory for changes; relying on the periodic check',
          );
        }
      };
      watcher?.close();
      watcher = await watchPaths(paths, () => void reload(), { debounceMs, pollMs, onProblem });
    },
    close() {
      watcher?.close();
    },
  };
}

/** How long the load took in all, and per step (LoadTimings), rounded to 0.1 ms for the log. */
function loadFigures(
  policy: LoadedPolicy,
  started: number,
): { durationMs: number; timingsMs?: Record<string, number> } {
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  const durationMs = round(performance.now() - started);
  if (policy.timings === undefined) return { durationMs };
  const timingsMs = Object.fromEntries(
    Object.entries(policy.timings).map(([step, ms]) => [step.replace(/Ms$/, ''), round(ms)]),
  );
  return { durationMs, timingsMs };
}

/** A module built by `opa build` has no fuel checks: say so once per load, since policy.limits.fuel does not apply. */
function warnIfUnmetered(logger: Logger, policy: LoadedPolicy): void {
  if (policy.fuelMetered !== false) return;
  logger.warn(
    { revision: policy.revision, path: policy.path },
    'policy module has no fuel checks (built by opa build?): policy.limits.fuel does not bound it, only policy.limits.memoryMiB; compile the Rego with Portcullis to have it counted',
  );
}
