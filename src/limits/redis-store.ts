// The Redis store: denylist and rate limits shared by every sidecar on the same Redis, in any shape.
import { Redis, type Result } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { deleteDenylistEntry, scanDenylist, type DenylistEntries } from './denylist.js';
import { assertSubjectRevocation, assertTokenRevocation } from './errors.js';
import { authFailureKeys, denySubjectKey, denyTokenIdKey, joinKeyParts, overrideIndexKey, ruleKeys } from './keys.js';
import {
  buildCheckCalls,
  CheckDeadlineError,
  combineCheckReplies,
  refundCalls,
  type CheckCall,
} from './redis-check.js';
import { RedisClockOffset } from './redis-clock.js';
import { scriptSender } from './script-command.js';
import { createWriteBatch, type WriteBatch } from './write-batch.js';
import { connectRedis, waitUntilReady, type RedisClient, type RedisConnection } from './redis-connect.js';
import { authFailureScript, checkScript, refundScript, revokeSubjectScript } from './scripts/check.js';
import {
  StoreUnavailableError,
  type AuthFailureLimit,
  type DecisionStore,
  type LimitOverride,
  type LimitRequest,
  type StoreCheckResult,
  type TokenFacts,
} from './types.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** scripts/check.ts refundScript: numKeys, keys..., args... */
    portcullisRefund(numKeys: number, ...keysAndArgs: string[]): Result<unknown, Context>;
    /** scripts/check.ts revokeSubjectScript */
    portcullisRevokeSubject(key: string, before: string): Result<unknown, Context>;
    /** scripts/check.ts authFailureScript: failures key, block key, limit, periodSeconds, blockMs */
    portcullisAuthFailure(
      failures: string,
      block: string,
      limit: string,
      period: string,
      blockMs: string,
    ): Result<number, Context>;
  }
}

/** The check script (scripts/check.ts): KEYS and ARGV as buildCheckCalls makes them. */
const checkCommand = scriptSender(checkScript);

export class RedisStore implements DecisionStore {
  readonly kind = 'redis' as const;
  private readonly client: RedisClient;
  private readonly splitBySlot: boolean;
  private readonly clock: RedisClockOffset;
  /** redis.batchWrites, standalone and Sentinel (one socket); null: each call written when made */
  private readonly writeBatch: WriteBatch | null;

  constructor(
    connection: RedisConnection,
    private readonly config: RedisConfig,
  ) {
    this.client = connection.client;
    this.splitBySlot = connection.shape === 'cluster';
    this.clock = new RedisClockOffset(this.client);
    const client = this.client;
    this.writeBatch =
      config.batchWrites !== false && client instanceof Redis
        ? createWriteBatch(() => client.stream ?? undefined)
        : null;
    // EVALSHA, with ioredis loading the script on a connection that has not seen it (after a restart, too); the
    // check script goes through checkCommand (script-command.ts), the same protocol with less work per call.
    this.client.defineCommand('portcullisRefund', { lua: refundScript });
    this.client.defineCommand('portcullisRevokeSubject', { lua: revokeSubjectScript, numberOfKeys: 1 });
    this.client.defineCommand('portcullisAuthFailure', { lua: authFailureScript, numberOfKeys: 2 });
  }

  check(token: TokenFacts | null, limits: LimitRequest[]): Promise<StoreCheckResult> {
    if (this.writeBatch === null) return this.checkNow(token, limits);
    return this.writeBatch.defer(() => this.checkNow(token, limits));
  }

  /** The check's script calls, sent now: the deadline and the timeout start here. */
  private checkNow(token: TokenFacts | null, limits: LimitRequest[]): Promise<StoreCheckResult> {
    const deadlineMs = this.clock.deadlineInRedisClock(this.config.commandTimeoutMs);
    const calls = buildCheckCalls(this.config.keyPrefix, token, limits, this.splitBySlot, deadlineMs);
    if (calls.length === 0) return Promise.resolve({ revoked: null, limits: [] });
    if (calls.length > 1) return this.checkSlots(calls, limits);
    // One call (standalone and Sentinel always): no Promise.all, no refunds, one hop fewer per reply.
    const call = calls[0]!;
    return this.withinTimeout('check', checkCommand.send(this.client, call.keys, call.args)).then((reply) =>
      this.checkResult(calls, [reply], limits),
    );
  }

  /** Cluster: one call per slot, sent together so they travel to their nodes in parallel. */
  private async checkSlots(calls: CheckCall[], limits: LimitRequest[]): Promise<StoreCheckResult> {
    const sent = calls.map((call) => checkCommand.send(this.client, call.keys, call.args));
    let replies: unknown[];
    try {
      replies = await this.withinTimeout('check', Promise.all(sent));
    } catch (error) {
      // A group that ran before the deadline spent for a check answered without it; give that back whenever
      // its reply comes.
      void Promise.allSettled(sent).then((outcomes) =>
        this.refund(
          calls,
          outcomes.map((o) => (o.status === 'fulfilled' ? o.value : null)),
          null,
          limits,
        ),
      );
      throw error;
    }
    return this.checkResult(calls, replies, limits);
  }

  private checkResult(calls: CheckCall[], replies: unknown[], limits: LimitRequest[]): StoreCheckResult {
    let result: StoreCheckResult;
    try {
      result = combineCheckReplies(calls, replies, limits);
    } catch (error) {
      this.refund(calls, replies, null, limits);
      if (error instanceof CheckDeadlineError) {
        throw new StoreUnavailableError(
          `redis ran the check after redis.commandTimeoutMs (${this.config.commandTimeoutMs} ms); nothing was spent`,
          { cause: error },
        );
      }
      throw new StoreUnavailableError('redis answered the check script unexpectedly', { cause: error });
    }
    this.refund(calls, replies, result, limits);
    return result;
  }

  /** Off the answer's path: a lost refund costs one token until the bucket refills, nothing more. */
  private refund(
    calls: readonly CheckCall[],
    replies: readonly unknown[],
    result: StoreCheckResult | null,
    limits: readonly LimitRequest[],
  ): void {
    for (const refund of refundCalls(calls, replies, result, limits)) {
      this.client.portcullisRefund(refund.keys.length, ...refund.keys, ...refund.args).catch(() => undefined);
    }
  }

  async revokeTokenId(jti: string, exp: number): Promise<void> {
    assertTokenRevocation(jti, exp);
    // EXAT: Redis drops the entry when the token expires anyway (at once when exp is already past).
    await this.withinTimeout(
      'revoke jti',
      this.client.set(denyTokenIdKey(this.config.keyPrefix, jti), '1', 'EXAT', exp),
    );
  }

  async revokeSubject(subject: string, before: number): Promise<void> {
    assertSubjectRevocation(subject, before);
    await this.withinTimeout(
      'revoke subject',
      this.client.portcullisRevokeSubject(denySubjectKey(this.config.keyPrefix, subject), String(before)),
    );
  }

  listDenylist(): Promise<DenylistEntries> {
    return this.withinAdminTimeout('list denylist', scanDenylist(this.client, this.config.keyPrefix));
  }

  deleteDenylistEntry(entry: { jti: string } | { sub: string }): Promise<boolean> {
    return this.withinTimeout('delete denylist entry', deleteDenylistEntry(this.client, this.config.keyPrefix, entry));
  }

  /** A SCAN of a large denylist takes many round trips: bounded, but not by one command's timeout. */
  private withinAdminTimeout<T>(operation: string, pending: Promise<T>): Promise<T> {
    return this.withinTimeout(operation, pending, Math.max(5000, this.config.commandTimeoutMs * 50));
  }

  async setOverride(override: LimitOverride): Promise<void> {
    const keys = ruleKeys(this.config.keyPrefix, override.rule, joinKeyParts(override.key));
    const write =
      override.until === undefined
        ? this.client.set(keys.override, String(override.limit))
        : this.client.set(keys.override, String(override.limit), 'EXAT', override.until);
    // The override key is what checks read; the index only serves listing, so it is written second.
    await this.withinTimeout('set override', write);
    await this.withinTimeout(
      'index override',
      this.client.hset(
        overrideIndexKey(this.config.keyPrefix),
        overrideField(override.rule, override.key),
        JSON.stringify(override),
      ),
    );
  }

  async deleteOverride(rule: string, key: readonly string[]): Promise<boolean> {
    const keys = ruleKeys(this.config.keyPrefix, rule, joinKeyParts(key));
    const deleted = await this.withinTimeout('delete override', this.client.del(keys.override));
    const unindexed = await this.withinTimeout(
      'unindex override',
      this.client.hdel(overrideIndexKey(this.config.keyPrefix), overrideField(rule, key)),
    );
    return deleted + unindexed > 0;
  }

  async listOverrides(): Promise<LimitOverride[]> {
    const index = overrideIndexKey(this.config.keyPrefix);
    const entries = await this.withinTimeout('list overrides', this.client.hgetall(index));
    const now = Date.now() / 1000;
    const live: LimitOverride[] = [];
    const expired: string[] = [];
    for (const [field, value] of Object.entries(entries)) {
      const override = parseOverride(value);
      if (override === null || (override.until !== undefined && override.until <= now)) expired.push(field);
      else live.push(override);
    }
    if (expired.length > 0) await this.withinTimeout('prune overrides', this.client.hdel(index, ...expired));
    return live;
  }

  async authBlockSeconds(keyValue: string): Promise<number> {
    const ms = await this.withinTimeout(
      'auth block',
      this.client.pttl(authFailureKeys(this.config.keyPrefix, keyValue).block),
    );
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  async recordAuthFailure(keyValue: string, limit: AuthFailureLimit): Promise<boolean> {
    const keys = authFailureKeys(this.config.keyPrefix, keyValue);
    const started = await this.withinTimeout(
      'auth failure',
      this.client.portcullisAuthFailure(
        keys.failures,
        keys.block,
        String(limit.limit),
        String(limit.periodSeconds),
        String(limit.blockSeconds * 1000),
      ),
    );
    return started === 1;
  }

  async ping(): Promise<boolean> {
    try {
      await this.withinTimeout('ping', this.client.ping());
      return true;
    } catch {
      return false;
    }
  }

  /** Measure the clock offset to Redis now (start-up waits for it, so the first checks carry a good deadline). */
  measureClock(): Promise<boolean> {
    return this.clock.measure();
  }

  async close(): Promise<void> {
    this.clock.close();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /**
   * Bounds the whole call (Cluster redirections and slot refreshes included), so a check answers within
   * redis.commandTimeoutMs; every failure becomes a StoreUnavailableError and the stage follows redis.onError.
   *
   * The timeout must measure the store, not this process: when the event loop was busy past the deadline, the
   * reply may already sit in the socket unread, and the timer would fire before the poll phase reads it. So an
   * expired timer yields once (setImmediate runs after the poll phase) and fails only if no reply came.
   */
  private withinTimeout<T>(
    operation: string,
    pending: Promise<T>,
    timeoutMs = this.config.commandTimeoutMs,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(
            new StoreUnavailableError(
              `redis did not answer ${operation} within ${timeoutMs} ms (redis.commandTimeoutMs)`,
            ),
          );
        });
      }, timeoutMs);
      pending.then(
        (value) => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          const reason = error instanceof Error ? error.message : String(error);
          reject(new StoreUnavailableError(`redis failed ${operation}: ${reason}`, { cause: error }));
        },
      );
    });
  }
}

function overrideField(rule: string, key: readonly string[]): string {
  return JSON.stringify([rule, key]);
}

function parseOverride(text: string): LimitOverride | null {
  try {
    const value = JSON.parse(text) as Partial<LimitOverride>;
    if (typeof value.rule !== 'string' || !Array.isArray(value.key) || typeof value.limit !== 'number') return null;
    return {
      rule: value.rule,
      key: value.key.map(String),
      limit: value.limit,
      ...(typeof value.until === 'number' ? { until: value.until } : {}),
    };
  } catch {
    return null;
  }
}

export async function createRedisStore(config: RedisConfig, logger: Logger): Promise<RedisStore> {
  const connection = connectRedis(config, logger);
  if (connection.shape === 'cluster' && config.keyPrefix.includes('{')) {
    logger.warn(
      { keyPrefix: config.keyPrefix },
      'redis.keyPrefix contains "{": its hash tag puts every key in one Cluster slot; remove the braces to spread keys',
    );
  }
  const store = new RedisStore(connection, config);
  // Start-up waits a little for a first connection but never hangs: checks follow redis.onError until ready.
  const ready = await waitUntilReady(connection.client, Math.max(2000, config.commandTimeoutMs * 20));
  if (!ready) {
    logger.warn({ shape: connection.shape }, 'redis not reachable at start-up; retrying in the background');
    return store;
  }
  await store.measureClock();
  logger.info({ shape: connection.shape }, 'rate limits and denylist shared through redis');
  return store;
}
