// The limits stage's public surface: the store (in-process or Redis) and the stage that uses it.
import type { Config } from '../config/schema.js';
import { MemoryStore } from './memory-store.js';
import type { DecisionStore, LimitsDeps } from './types.js';

export { createLimitsStage } from './stage.js';
export { InvalidRevocationError, RedisAddressError } from './errors.js';
export { StoreUnavailableError } from './types.js';
export type { DecisionStore, LimitsDeps, LimitsOutcome, LimitsStage, TokenFacts } from './types.js';

/** The in-process store when there is no `redis` section, else Redis in the configured shape. */
export async function createStore(config: Config, deps: LimitsDeps): Promise<DecisionStore> {
  if (config.redis === undefined) {
    deps.logger.warn(
      { store: 'memory' },
      'no redis section: rate limits and the denylist are per-instance (in-process store); configure redis to share them between sidecars',
    );
    return new MemoryStore();
  }
  // Loaded only with a redis section: ioredis alone adds ~15 MB to a process that never talks to Redis.
  const { createRedisStore } = await import('./redis-store.js');
  return createRedisStore(config.redis, deps.logger);
}
