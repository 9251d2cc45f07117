// An IdP's JWKS over HTTP(S), kept warm for the hot path:
// - fetched at start-up and refreshed in the background before its max-age runs out;
// - refetched when a token names a key the set lacks (a rotation), at most once per cooldown, so tokens
//   with invented `kid`s cannot turn the sidecar into a load generator against the IdP;
// - concurrent fetches share one request;
// - when a refresh fails the last good set keeps being served (jose's createRemoteJWKSet drops it), and the
//   failures are counted and logged. Only with no set at all does verification report the IdP unavailable.
// The URL comes from configuration only: `jku`/`x5u` in a token are never followed.
// Credentials in the URL (`https://user:password@idp/jwks`) are sent as HTTP Basic authentication (fetch
// refuses a URL that holds them) and never printed: logs and errors show the URL with `***` for them.
import type { Logger } from 'pino';
import { redactUrl, splitUserinfo } from '../telemetry/redact.js';
import { JwksInvalidError, JwksUnavailableError } from './errors.js';
import type { RemoteJwksOptions } from './jwks-options.js';
import { isNoMatchingKey, parseJwks } from './key-set.js';
import type { JwksStatus, KeyLookup, KeySet, LoadedJwks } from './key-set.js';

export { defaultRemoteJwksOptions, type RemoteJwksOptions } from './jwks-options.js';

/** The longest delay setTimeout honours (2^31-1 ms, ~24.8 days). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Freshness of a JWKS response from its Cache-Control header, bounded so a bad header cannot pin or spin. */
export function maxAgeFromCacheControl(header: string | null, options: RemoteJwksOptions): number {
  const match = header === null ? null : /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/i.exec(header);
  const requested = match ? Number(match[1]) * 1000 : options.defaultMaxAgeMs;
  return Math.min(Math.max(requested, options.minMaxAgeMs), options.maxMaxAgeMs);
}

/**
 * Delay before retrying after `consecutiveFailures` failed fetches: doubling from emptyRetryMs (at least
 * 250 ms) up to the refetch cooldown, so a down IdP is polled gently but a recovered one is noticed soon.
 */
export function retryDelayMs(consecutiveFailures: number, options: RemoteJwksOptions): number {
  const base = Math.max(options.emptyRetryMs, 250);
  const doubled = base * 2 ** Math.min(consecutiveFailures - 1, 16);
  return Math.min(doubled, Math.max(options.refetchCooldownMs, base), options.maxMaxAgeMs);
}

export class RemoteKeySet implements KeySet {
  private current: LoadedJwks | null = null;
  private loadedAt: number | null = null;
  private inflight: Promise<void> | null = null;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private fetches = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  /** the URL fetched: the configured one without userinfo */
  private readonly fetchUri: string;
  /** the URL as logs and errors show it */
  private readonly uri: string;
  private readonly headers: Record<string, string> = { accept: 'application/jwk-set+json, application/json' };

  constructor(
    private readonly providerName: string,
    configuredUri: string,
    private readonly options: RemoteJwksOptions,
    private readonly logger: Logger,
    /** Called when a fetch brings different keys (so verified-token caches can forget retired keys). */
    private readonly onKeysChanged: () => void,
  ) {
    const credentials = splitUserinfo(configuredUri);
    this.fetchUri = credentials?.url ?? configuredUri;
    this.uri = redactUrl(configuredUri);
    if (credentials !== null) {
      const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
      this.headers['authorization'] = `Basic ${basic}`;
    }
  }

  /** The first fetch. A failure is logged, not thrown: checks answer 503 until the IdP answers. */
  start(): Promise<void> {
    return this.refresh('start');
  }

  readonly getKey: KeyLookup = async (header, token) => {
    if (this.current === null) {
      if (this.inflight) await this.inflight;
      else if (this.options.now() - this.lastAttemptAt >= this.options.emptyRetryMs) await this.refresh('no keys yet');
      if (this.current === null) {
        throw new JwksUnavailableError(
          `the JWKS of provider ${this.providerName} (${this.uri}) could not be fetched and no earlier copy exists`,
        );
      }
    }
    const set: LoadedJwks = this.current;
    try {
      return await set.lookup(header, token);
    } catch (error) {
      if (!isNoMatchingKey(error)) throw error;
      // The IdP may have rotated keys since the last fetch.
      if (this.inflight) await this.inflight;
      else if (this.options.now() - this.lastAttemptAt >= this.options.refetchCooldownMs)
        await this.refresh('unknown key');
      else throw error;
      if (this.current === set || this.current === null) throw error;
      return this.current.lookup(header, token);
    }
  };

  status(): JwksStatus {
    return {
      origin: 'remote',
      keys: this.current?.keyCount ?? 0,
      fetches: this.fetches,
      failures: this.failures,
      consecutiveFailures: this.consecutiveFailures,
      loadedAt: this.loadedAt,
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Fetches now unless a fetch is already under way, in which case it waits for that one. Never throws. */
  private refresh(reason: string): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.fetchAndStore(reason).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async fetchAndStore(reason: string): Promise<void> {
    this.lastAttemptAt = this.options.now();
    this.fetches++;
    try {
      const { loaded, maxAgeMs } = await this.fetchJwks();
      const changed = this.current !== null && this.current.fingerprint !== loaded.fingerprint;
      if (this.current === null || changed) this.current = loaded;
      this.loadedAt = this.options.now();
      this.consecutiveFailures = 0;
      this.logger.debug({ provider: this.providerName, reason, keys: loaded.keyCount, changed }, 'jwks fetched');
      if (changed) this.onKeysChanged();
      this.schedule(maxAgeMs * this.options.refreshAtFraction);
    } catch (error) {
      this.failures++;
      this.consecutiveFailures++;
      this.logger.warn(
        {
          provider: this.providerName,
          jwksUri: this.uri,
          reason,
          consecutiveFailures: this.consecutiveFailures,
          servingStale: this.current !== null,
          err: error,
        },
        this.current === null
          ? 'jwks fetch failed; no keys to verify with'
          : 'jwks fetch failed; serving the last good keys',
      );
      this.schedule(retryDelayMs(this.consecutiveFailures, this.options));
    }
  }

  private async fetchJwks(): Promise<{ loaded: LoadedJwks; maxAgeMs: number }> {
    const response = await fetch(this.fetchUri, {
      headers: this.headers,
      signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new JwksInvalidError(`${this.uri} answered HTTP ${response.status}`);
    }
    const declaredLength = Number(response.headers.get('content-length') ?? '0');
    if (declaredLength > this.options.maxBodyBytes) {
      await response.body?.cancel();
      throw new JwksInvalidError(`${this.uri} sent ${declaredLength} bytes, more than ${this.options.maxBodyBytes}`);
    }
    const body = await response.text();
    if (Buffer.byteLength(body) > this.options.maxBodyBytes) {
      throw new JwksInvalidError(`${this.uri} sent more than ${this.options.maxBodyBytes} bytes`);
    }
    return {
      loaded: parseJwks(body, this.uri),
      maxAgeMs: maxAgeFromCacheControl(response.headers.get('cache-control'), this.options),
    };
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    // Node clamps a delay above 2^31-1 ms to 1 ms (a refresh loop); maxMaxAgeMs is an option, so bound it here too.
    this.timer = setTimeout(() => void this.refresh('scheduled'), Math.min(Math.max(delayMs, 0), MAX_TIMER_DELAY_MS));
    // Background refresh must not keep the process alive on shutdown.
    this.timer.unref();
  }
}
