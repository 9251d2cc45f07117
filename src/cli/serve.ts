// `portcullis serve`: load config, start the sidecar, run until SIGTERM/SIGINT, then shut down as
// shutdown.* says (unready, keep answering for the delay, drain) and exit 0.
import { ConfigError } from '../config/errors.js';
import { loadConfigInChild } from '../config/loadInChild.js';
import type { Config } from '../config/schema.js';
import { PolicyLoadError } from '../policy/errors.js';
import { startSidecar, type Sidecar } from '../server/sidecar.js';
import { resolveWorkerCount } from '../server/workerCount.js';
import { isPoolWorker } from '../server/poolWorker.js';
import { applyServerV8Flags } from '../server/v8Flags.js';
import { createLogger } from '../telemetry/logger.js';

/** Start-up failures that are the user's input (config, policy, key files): exit 2, not 1. */
const USAGE_ERROR_CODES = new Set([
  'CONFIG_READ',
  'CONFIG_YAML',
  'CONFIG_INVALID',
  'POLICY_LOAD',
  'REGO_COMPILE',
  'PROVIDER_INVALID',
  'JWKS_INVALID',
  'REDIS_ADDRESS',
  'RATELIMIT_RULES',
  'OPENAPI_INVALID',
  'PROTO_DESCRIPTOR_INVALID',
  'BUNDLE_KEY',
]);

export async function serve(options: { config?: string | undefined }): Promise<number> {
  // Before anything allocates under load: V8's heap settings for a process that serves checks (v8Flags.ts).
  applyServerV8Flags();
  // Exactly one of the two: this process serves checks itself, or it is the primary of a worker pool.
  let sidecar: Sidecar | undefined;
  let pool: { count: number; config: Config } | undefined;
  // In a worker of the pool: its side of the IPC with the primary. The pool's module (node:cluster) is loaded
  // only by a primary and its workers.
  let workerSide: typeof import('../server/workerPool.js') | undefined;
  try {
    const { config, file } = await loadConfigInChild({ file: options.config });
    const workers = isPoolWorker() ? 1 : resolveWorkerCount(config.workers);
    if (workers > 1) {
      refuseUnsharedStore(config, workers, file);
      pool = { count: workers, config };
    } else {
      workerSide = isPoolWorker() ? await import('../server/workerPool.js') : undefined;
      sidecar = await startSidecar(config, workerSide ? { metricsSource: workerSide.metricsFromPrimary() } : {});
    }
  } catch (error) {
    return reportStartupFailure(error);
  }
  if (pool !== undefined) {
    const { runWorkerPool } = await import('../server/workerPool.js');
    return runWorkerPool({ count: pool.count, logger: createLogger(pool.config.logLevel) });
  }
  if (sidecar === undefined) return 1;
  const running = sidecar;
  if (workerSide !== undefined) {
    workerSide.shareRegistryWithPrimary(running.metrics.registry);
    workerSide.reportWorkerReady();
  }
  const stopped = await new Promise<Promise<void>>((resolve) => {
    let stopping: Promise<void> | undefined;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping !== undefined) {
        // A second signal (Ctrl-C twice, an impatient supervisor): skip what is left of the delay.
        running.logger.info({ signal }, 'second signal: ending the shutdown delay now');
        void running.close();
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        return;
      }
      running.logger.info({ signal }, 'draining: unready now, then no new connections and in-flight checks finished');
      stopping = running.shutdown();
      resolve(stopping);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  try {
    await stopped;
    return 0;
  } catch (error) {
    running.logger.error({ err: error }, 'shutdown failed');
    return 1;
  } finally {
    // A worker's IPC channel to the primary would keep its event loop alive after the drain.
    if (workerSide !== undefined) process.disconnect();
  }
}

/**
 * With the in-process store every worker would keep its own rate-limit budgets, denylist and auth-failure
 * counts: limits N times too loose, a revoked token still accepted by the other workers. Refused, not shared.
 */
function refuseUnsharedStore(config: Config, workers: number, file: string | null): void {
  if (config.redis !== undefined) return;
  throw new ConfigError(
    'CONFIG_INVALID',
    `workers: ${String(config.workers)} (${workers} worker processes) needs redis: with the in-process store each ` +
      'worker would keep its own rate-limit budgets and denylist, so limits would not hold and a revoked token would ' +
      'still pass on the other workers. Set redis.url (or redis.cluster / redis.sentinel), or workers: 1.',
    file,
  );
}

export function reportStartupFailure(error: unknown): number {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigError || error instanceof PolicyLoadError || USAGE_ERROR_CODES.has(code)) {
    process.stderr.write(`portcullis: ${message}\n`);
    return 2;
  }
  process.stderr.write(`portcullis: start-up failed: ${message}\n`);
  return 1;
}
