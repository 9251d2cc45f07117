// What /readyz answers. Ready means exactly: a policy is loaded and the process is not draining. The
// dependencies (the store, each IdP's JWKS) are reported in the body, and listed under `degraded` in words
// an operator reads at once, but never make the sidecar unready: their outages are answered per check
// (redis.onError, 503 for a token whose keys are missing), and an unready sidecar takes its whole pod out.
import type { JwksStatus } from '../identity/key-set.js';
import type { StoreHealth } from './storeMonitor.js';

export interface ReadinessInputs {
  policy: { revision: string; loadedAt: Date } | null;
  draining: boolean;
  store: StoreHealth;
  /** redis.onError when the store is Redis */
  storeOnError: 'deny' | 'allow' | null;
  jwks: Record<string, JwksStatus>;
  nowMs: number;
  /** policy.bundle: the bundle client's state */
  bundle?: { consecutiveFailures: number; lastError: { message: string } | null; revision: string | null };
}

export interface JwksReadiness {
  origin: JwksStatus['origin'];
  keys: number;
  /** seconds since the last successful load; null when none succeeded */
  ageSeconds: number | null;
  consecutiveFailures: number;
  up: boolean;
}

export interface ReadinessBody {
  ready: boolean;
  draining: boolean;
  policy: { loaded: boolean; revision: string | null; loadedAt: string | null };
  store: { kind: StoreHealth['kind']; up: boolean; since: string; onError: 'deny' | 'allow' | null };
  jwks: Record<string, JwksReadiness>;
  /** one sentence per degraded part; empty when everything answers */
  degraded: string[];
}

const seconds = (ms: number): number => Math.max(0, Math.round(ms / 100) / 10);

export function jwksReadiness(status: JwksStatus, nowMs: number): JwksReadiness {
  return {
    origin: status.origin,
    keys: status.keys,
    ageSeconds: status.loadedAt === null ? null : seconds(nowMs - status.loadedAt),
    consecutiveFailures: status.consecutiveFailures,
    up: status.keys > 0 && status.consecutiveFailures === 0,
  };
}

export function readiness(inputs: ReadinessInputs): { status: 200 | 503; body: ReadinessBody } {
  const { policy, draining, store, storeOnError, nowMs } = inputs;
  const jwks = Object.fromEntries(Object.entries(inputs.jwks).map(([name, s]) => [name, jwksReadiness(s, nowMs)]));
  const degraded: string[] = [];
  const bundle = inputs.bundle;
  if (policy === null) {
    const why = bundle?.lastError === null || bundle === undefined ? '' : ` (bundle: ${bundle.lastError.message})`;
    degraded.push(`policy: none loaded yet${why}`);
  } else if (bundle !== undefined && bundle.consecutiveFailures > 0) {
    degraded.push(
      `bundle: ${bundle.consecutiveFailures} failed requests (${bundle.lastError?.message ?? 'unknown'}); serving revision ${bundle.revision ?? policy.revision}`,
    );
  }
  if (draining) degraded.push('draining: shutting down, still answering checks until shutdown.delaySeconds ends');
  if (!store.up) {
    degraded.push(
      `store: ${store.kind} unreachable for ${seconds(nowMs - store.sinceMs)} s; checks follow redis.onError (${storeOnError ?? 'deny'})`,
    );
  }
  for (const [name, state] of Object.entries(jwks)) {
    if (state.keys === 0) {
      degraded.push(
        `jwks ${name}: no keys loaded (${state.consecutiveFailures} failed fetches); its tokens answer 503`,
      );
    } else if (state.consecutiveFailures > 0) {
      degraded.push(
        `jwks ${name}: ${state.consecutiveFailures} failed refreshes; serving keys loaded ${state.ageSeconds ?? '?'} s ago`,
      );
    }
  }
  const ready = policy !== null && !draining;
  return {
    status: ready ? 200 : 503,
    body: {
      ready,
      draining,
      policy: {
        loaded: policy !== null,
        revision: policy?.revision ?? null,
        loadedAt: policy?.loadedAt.toISOString() ?? null,
      },
      store: { kind: store.kind, up: store.up, since: new Date(store.sinceMs).toISOString(), onError: storeOnError },
      jwks,
      degraded,
    },
  };
}
