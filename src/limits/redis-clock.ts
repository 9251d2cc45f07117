// The offset between this process's clock and Redis's, so a deadline this process sets can be written in
// Redis's clock: the check script compares it with `TIME` and spends nothing past it (a command that waited
// in a stalled server's socket must not spend a budget the sidecar already answered 503 for). Hosts in sync
// give an offset near 0; a skewed host would otherwise see every check refused (clock behind) or late
// commands spend (clock ahead).
import type { RedisClient } from './redis-connect.js';

/** How often the offset is measured again while connected: clocks drift slowly. */
const REFRESH_INTERVAL_MS = 60_000;
/**
 * A sample counts only when its round trip was this short: its error is at most half of it. A longer one
 * usually means this process's event loop was busy (start-up compiling a policy, say), not that the network
 * is slow, and would skew the offset by up to half that time.
 */
const MAX_SAMPLE_ROUND_TRIP_MS = 10;
/** Samples per measurement; the one with the shortest round trip is kept. */
const SAMPLES = 3;
/** Until a good sample: measure again this soon, this many times; then the best of a measurement is taken. */
const RETRY_MS = 1_000;
const RETRIES = 5;

/**
 * Redis time minus local time, in ms, from one `TIME` round trip: the reply was taken, on average, halfway
 * between sending and receiving. The error is at most half the round trip.
 */
export function clockOffsetMs(sentAtMs: number, redisTime: readonly (string | number)[], receivedAtMs: number): number {
  const redisMs = Number(redisTime[0]) * 1000 + Number(redisTime[1]) / 1000;
  return redisMs - (sentAtMs + receivedAtMs) / 2;
}

export class RedisClockOffset {
  /** Redis time minus local time (ms); 0 until first measured. */
  offsetMs = 0;
  private closed = false;
  private slowMeasurements = 0;
  private inFlight: Promise<boolean> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly onReady = (): void => void this.measure();

  constructor(private readonly client: RedisClient) {
    client.on('ready', this.onReady);
    if (client.status === 'ready') void this.measure();
    this.timer = setInterval(() => void this.measure(), REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  /** A deadline `afterMs` from now, as Redis reads its own clock (ms). */
  deadlineInRedisClock(afterMs: number): number {
    return Math.ceil(Date.now() + afterMs + this.offsetMs);
  }

  /**
   * True when a good sample was taken (the offset is then known within MAX_SAMPLE_ROUND_TRIP_MS / 2). A call
   * while a measurement runs joins it.
   */
  measure(): Promise<boolean> {
    this.inFlight ??= this.takeSamples().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async takeSamples(): Promise<boolean> {
    if (this.closed || this.client.status !== 'ready') return false;
    let best: { roundTripMs: number; offsetMs: number } | null = null;
    try {
      for (let i = 0; i < SAMPLES; i++) {
        const sentAt = Date.now();
        // bulk strings on the wire, typed as numbers by ioredis: Number() reads either
        const time = await this.client.time();
        const receivedAt = Date.now();
        const roundTripMs = receivedAt - sentAt;
        if (best === null || roundTripMs < best.roundTripMs)
          best = { roundTripMs, offsetMs: clockOffsetMs(sentAt, time, receivedAt) };
      }
    } catch {
      // unreachable: the connection watcher logs it, and checks follow redis.onError
    }
    if (best === null) return false;
    // A Redis far away never answers within MAX_SAMPLE_ROUND_TRIP_MS: after some tries its best sample will do.
    if (best.roundTripMs <= MAX_SAMPLE_ROUND_TRIP_MS || this.slowMeasurements >= RETRIES) {
      this.offsetMs = best.offsetMs;
      this.slowMeasurements = 0;
      return true;
    }
    // Keep the previous estimate and try again soon.
    this.slowMeasurements++;
    if (!this.closed) setTimeout(() => void this.measure(), RETRY_MS).unref();
    return false;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.client.off('ready', this.onReady);
  }
}
