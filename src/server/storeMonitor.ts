// Whether the decision store answers, learnt by pinging it in the background. The answer feeds the
// `portcullis_store_up` gauge and the body of /readyz, never readiness itself: the sidecar is a container of
// the application's pod, so a Redis outage that turned every sidecar unready would take every pod of every
// service out of its Services at once, while redis.onError already decides what checks get meanwhile.
import type { DecisionStore } from '../limits/types.js';

export interface StoreHealth {
  kind: DecisionStore['kind'];
  up: boolean;
  /** Unix ms of the last change between up and down (start-up counts as one). */
  sinceMs: number;
}

export interface StoreMonitor {
  health(): StoreHealth;
  /** Pings now (start-up, tests); concurrent calls share one ping. */
  refresh(): Promise<StoreHealth>;
  stop(): void;
}

export function createStoreMonitor(
  store: DecisionStore,
  options: { intervalMs: number; now?: () => number; onChange?: (health: StoreHealth) => void },
): StoreMonitor {
  const now = options.now ?? Date.now;
  let state: StoreHealth = { kind: store.kind, up: true, sinceMs: now() };
  let inflight: Promise<StoreHealth> | null = null;
  let stopped = false;

  const set = (up: boolean): StoreHealth => {
    if (up !== state.up) {
      state = { kind: store.kind, up, sinceMs: now() };
      options.onChange?.(state);
    }
    return state;
  };

  const refresh = (): Promise<StoreHealth> => {
    // The store bounds its own ping by redis.commandTimeoutMs and answers false rather than throwing.
    inflight ??= store
      .ping()
      .catch(() => false)
      .then((up) => set(up))
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };

  // The in-process store cannot be down: no timer for it.
  let timer: NodeJS.Timeout | null = null;
  if (store.kind !== 'memory') {
    timer = setInterval(() => {
      if (!stopped) void refresh();
    }, options.intervalMs);
    // Probing must never keep a stopping process alive.
    timer.unref();
  }
  options.onChange?.(state);

  return {
    health: () => state,
    refresh,
    stop() {
      stopped = true;
      if (timer !== null) clearInterval(timer);
    },
  };
}
