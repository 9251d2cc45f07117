// `portcullis serve`: load config, start the sidecar, run until SIGTERM/SIGINT, then shut down as
// shutdown.* says (unready, keep answering for the delay, drain) and exit 0.
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import { PolicyLoadError } from '../policy/errors.js';
import { startSidecar, type Sidecar } from '../server/sidecar.js';

/** Start-up failures that are the user's input (config, policy, key files): exit 2, not 1. */
const USAGE_ERROR_CODES = new Set([
  'CONFIG_READ', 'CONFIG_YAML', 'CONFIG_INVALID', 'POLICY_LOAD', 'REGO_COMPILE', 'PROVIDER_INVALID', 'JWKS_INVALID',
  'REDIS_ADDRESS', 'RATELIMIT_RULES',
]);

export async function serve(options: { config?: string | undefined }): Promise<number> {
  let sidecar: Sidecar;
  try {
    const { config } = await loadConfig({ file: options.config });
    sidecar = await startSidecar(config);
  } catch (error) {
    return reportStartupFailure(error);
  }
  const running = sidecar;
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
    sidecar.logger.error({ err: error }, 'shutdown failed');
    return 1;
  }
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
