// One function for the three deployment shapes of redis.*: standalone (url), Cluster (cluster) and Sentinel
// (sentinel). Every shape fails fast: no offline queue (a command while disconnected fails at once instead of
// waiting), no resend of in-flight commands after a drop, and reconnection in the background so the store
// recovers by itself when Redis returns. The command timeout is the store's (redis-store.ts withinTimeout),
// not ioredis's: ioredis's timer fires on event-loop lag even when the reply is already in the socket.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { RedisAddressError } from './errors.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnection {
  client: RedisClient;
  shape: 'standalone' | 'cluster' | 'sentinel';
}

/**
 * Reconnect quickly at first, then every 500 ms: the sidecar keeps answering (per onError) meanwhile, and a
 * Redis that returns serves checks again within half a second. A refused connection costs next to nothing.
 */
function reconnectDelayMs(attempt: number): number {
  return Math.min(attempt * 100, 500);
}

function failFastOptions(config: RedisConfig): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: Math.max(1000, config.commandTimeoutMs * 10),
    // Off: ioredis's auto-pipelining defers the write to a later turn of the event loop with the command's
    // deadline already set, which under load spent part of the timeout before the command was even sent.
    // The store batches writes itself (write-batch.ts, redis.batchWrites), setting each deadline at the write.
    enableAutoPipelining: false,
    retryStrategy: reconnectDelayMs,
  };
}

interface UrlParts {
  node: { host: string; port: number };
  auth: Pick<RedisOptions, 'username' | 'password' | 'tls' | 'db'>;
}

function parseRedisUrl(raw: string, configKey: string): UrlParts {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RedisAddressError(configKey, raw);
  }
  if (url.hostname === '' || (url.port !== '' && !(Number(url.port) > 0))) throw new RedisAddressError(configKey, raw);
  const auth: UrlParts['auth'] = {};
  if (url.username !== '') auth.username = decodeURIComponent(url.username);
  if (url.password !== '') auth.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') auth.tls = {};
  const db = url.pathname.replace(/^\//, '');
  if (db !== '') {
    if (!/^\d+$/.test(db)) throw new RedisAddressError(configKey, raw);
    auth.db = Number(db);
  }
  return {
    node: { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 6379 : Number(url.port) },
    auth,
  };
}

function parseHostPort(hostPort: string): { host: string; port: number } {
  const colon = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
}

export function connectRedis(config: RedisConfig, logger: Logger): RedisConnection {
  const options = failFastOptions(config);
  let connection: RedisConnection;
  if (config.cluster !== undefined) {
    const parsed = config.cluster.map((url, i) => parseRedisUrl(url, `redis.cluster[${i}]`));
    const {
      retryStrategy: _nodeRetry,
      enableOfflineQueue: _queue,
      enableAutoPipelining: _auto,
      ...nodeOptions
    } = options;
    connection = {
      shape: 'cluster',
      client: new Cluster(
        parsed.map((p) => p.node),
        {
          enableOfflineQueue: false,
          // Not in Cluster: ioredis routes an auto-pipeline by its first argument (a script's key count, not a
          // key) and does not follow MOVED inside a pipeline that writes. Each call goes straight to its slot's
          // node instead, where MOVED is followed and the slot map refreshed; bench/limits.ts showed no loss.
          enableAutoPipelining: false,
          clusterRetryStrategy: reconnectDelayMs,
          // Redirections and failover retries are short; the store's own deadline bounds the whole check.
          maxRedirections: 6,
          retryDelayOnFailover: 10,
          retryDelayOnClusterDown: 10,
          retryDelayOnTryAgain: 10,
          slotsRefreshTimeout: Math.max(1000, config.commandTimeoutMs * 10),
          scaleReads: 'master',
          redisOptions: { ...nodeOptions, ...parsed[0]!.auth },
        },
      ),
    };
  } else if (config.sentinel !== undefined) {
    const sentinel = config.sentinel;
    connection = {
      shape: 'sentinel',
      client: new Redis({
        ...options,
        sentinels: sentinel.sentinels.map(parseHostPort),
        name: sentinel.name,
        ...(sentinel.password !== undefined ? { password: sentinel.password } : {}),
        ...(sentinel.sentinelPassword !== undefined ? { sentinelPassword: sentinel.sentinelPassword } : {}),
        sentinelRetryStrategy: reconnectDelayMs,
      }),
    };
  } else {
    const parsed = parseRedisUrl(config.url!, 'redis.url');
    connection = { shape: 'standalone', client: new Redis({ ...options, ...parsed.node, ...parsed.auth }) };
  }
  watchConnection(connection, logger);
  return connection;
}

/** Log connection changes once per change, not once per failed reconnect attempt. */
function watchConnection({ client, shape }: RedisConnection, logger: Logger): void {
  let healthy = true;
  client.on('error', (error: Error) => {
    if (!healthy) return;
    healthy = false;
    logger.warn({ err: error, shape }, 'redis unreachable; checks follow redis.onError until it returns');
  });
  client.on('ready', () => {
    if (!healthy) logger.info({ shape }, 'redis reachable again');
    healthy = true;
  });
}

/** Resolve when the client is ready, or after `timeoutMs` (start-up must not hang on a down Redis). */
export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    timer.unref();
    function onReady(): void {
      clearTimeout(timer);
      resolve(true);
    }
    client.once('ready', onReady);
  });
}
