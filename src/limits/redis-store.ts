// The Redis store: denylist and rate limits shared by every sidecar on the same Redis, in any shape.
import { Cluster, type Result } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { assertSubjectRevocation, assertTokenRevocation, InvalidRevocationError } from './errors.js';
import { denySubjectKey, denyTokenIdKey } from './keys.js';
import { buildCheckCalls, combineCheckReplies, refundCalls, type CheckCall } from './redis-check.js';
import { connectRedis, waitUntilReady, type RedisClient, type RedisConnection } from './redis-connect.js';
import { checkScript, refundScript, revokeSubjectScript } from './scripts/check.js';
import {
  StoreUnavailableError,
  type DecisionStore,
  type LimitRequest,
  type StoreCheckResult,
  type TokenFacts,
} from './types.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** scripts/check.ts: numKeys, keys..., args... */
    portcullisCheck(numKeys: number, ...keysAndArgs: string[]): Result<unknown[], Context>;
    /** scripts/check.ts with a fixed key count N: keys..., args... (routable by ioredis, see fixedArityName) */
    [fixedArity: `portcullisCheck${number}`]: (...keysAndArgs: string[]) => Result<unknown[], Context>;
    /** scripts/check.ts refundScript: numKeys, keys..., args... */
    portcullisRefund(numKeys: number, ...keysAndArgs: string[]): Result<unknown, Context>;
    /** scripts/check.ts revokeSubjectScript */
    portcullisRevokeSubject(key: string, before: string): Result<unknown, Context>;
  }
}

// ioredis routes an auto-pipelined command by its first argument. For a script whose key count is passed as
// an argument, that is the count, not a key, so in Cluster it would be sent to the wrong node. Variants with
// the key count fixed (same script, same SHA) start with a key and pipeline correctly; the variadic command is
// the fallback for checks with more keys, and the (rare) refund is variadic too: both are sent unpipelined.
const VARIADIC_CHECK = 'portcullisCheck';
const REFUND = 'portcullisRefund';
const MAX_FIXED_ARITY = 16;

function fixedArityName(keyCount: number): `portcullisCheck${number}` {
  return `portcullisCheck${keyCount}`;
}

export class RedisStore implements DecisionStore {
  readonly kind = 'redis' as const;
  private readonly client: RedisClient;
  private readonly splitBySlot: boolean;

  constructor(
    connection: RedisConnection,
    private readonly config: RedisConfig,
  ) {
    this.client = connection.client;
    this.splitBySlot = connection.shape === 'cluster';
    // EVALSHA, with ioredis loading the script on a connection that has not seen it (after a restart, too).
    this.client.defineCommand(VARIADIC_CHECK, { lua: checkScript });
    for (let keys = 1; keys <= MAX_FIXED_ARITY; keys++) {
      this.client.defineCommand(fixedArityName(keys), { lua: checkScript, numberOfKeys: keys });
    }
    this.client.defineCommand(REFUND, { lua: refundScript });
    this.client.defineCommand('portcullisRevokeSubject', { lua: revokeSubjectScript, numberOfKeys: 1 });
  }

  async check(token: TokenFacts | null, limits: LimitRequest[]): Promise<StoreCheckResult> {
    const calls = buildCheckCalls(this.config.keyPrefix, token, limits, this.splitBySlot);
    if (calls.length === 0) return { revoked: null, limits: [] };
    // Sent together: in Cluster, the calls of different slots travel to their nodes in parallel.
    const replies = await this.withinTimeout('check', this.refreshSlotsOnMoved(Promise.all(calls.map((call) => this.send(call)))));
    let result: StoreCheckResult;
    try {
      result = combineCheckReplies(calls, replies, limits);
    } catch (error) {
      throw new StoreUnavailableError('redis answered the check script unexpectedly', { cause: error });
    }
    // Off the answer's path: a lost refund costs one token until the bucket refills, nothing more.
    for (const refund of refundCalls(calls, replies, result)) {
      this.client.portcullisRefund(refund.keys.length, ...refund.keys, ...refund.args).catch(() => undefined);
    }
    return result;
  }

  private send(call: CheckCall): Promise<unknown[]> {
    return call.keys.length <= MAX_FIXED_ARITY
      ? this.client[fixedArityName(call.keys.length)](...call.keys, ...call.args)
      : this.client.portcullisCheck(call.keys.length, ...call.keys, ...call.args);
  }

  /**
   * A MOVED reply means our Cluster slot map is stale (a node came back, slots moved). This check fails per
   * redis.onError; refreshing the map now lets the next ones go to the right node.
   */
  private refreshSlotsOnMoved<T>(pending: Promise<T>): Promise<T> {
    const client = this.client;
    if (!(client instanceof Cluster)) return pending;
    return pending.catch((error: unknown) => {
      if (error instanceof Error && /^(MOVED|CLUSTERDOWN)\b/.test(error.message)) client.refreshSlotsCache();
      throw error;
    });
  }

  async revokeTokenId(jti: string, exp: number): Promise<void> {
    assertTokenRevocation(jti, exp);
    // EXAT: Redis drops the entry when the token expires anyway (at once when exp is already past).
    await this.withinTimeout('revoke jti', this.client.set(denyTokenIdKey(this.config.keyPrefix, jti), '1', 'EXAT', exp));
  }

  async revokeSubject(subject: string, before: number): Promise<void> {
    assertSubjectRevocation(subject, before);
    await this.withinTimeout(
      'revoke subject',
      this.client.portcullisRevokeSubject(denySubjectKey(this.config.keyPrefix, subject), String(before)),
    );
  }

  async ping(): Promise<boolean> {
    try {
      await this.withinTimeout('ping', this.client.ping());
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /**
   * ioredis's commandTimeout bounds a command once it is written; this bounds the whole call (cluster
   * redirections and slot refreshes included), so a check always answers within redis.commandTimeoutMs.
   */
  private withinTimeout<T>(operation: string, pending: Promise<T>): Promise<T> {
    const timeoutMs = this.config.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StoreUnavailableError(`redis did not answer ${operation} within ${timeoutMs} ms (redis.commandTimeoutMs)`));
      }, timeoutMs);
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(
            error instanceof InvalidRevocationError
              ? error
              : new StoreUnavailableError(`redis failed ${operation}: ${error instanceof Error ? error.message : String(error)}`, {
                  cause: error,
                }),
          );
        },
      );
    });
  }
}

export async function createRedisStore(config: RedisConfig, logger: Logger): Promise<RedisStore> {
  const connection = connectRedis(config, logger, { unroutableCommands: [VARIADIC_CHECK, REFUND] });
  if (connection.shape === 'cluster' && config.keyPrefix.includes('{')) {
    logger.warn(
      { keyPrefix: config.keyPrefix },
      'redis.keyPrefix contains "{": its hash tag puts every key in one Cluster slot; remove the braces to spread keys',
    );
  }
  const store = new RedisStore(connection, config);
  // Start-up waits a little for a first connection but never hangs: checks follow redis.onError until ready.
  const ready = await waitUntilReady(connection.client, Math.max(2000, config.commandTimeoutMs * 20));
  if (!ready) logger.warn({ shape: connection.shape }, 'redis not reachable at start-up; retrying in the background');
  else logger.info({ shape: connection.shape }, 'rate limits and denylist shared through redis');
  return store;
}
