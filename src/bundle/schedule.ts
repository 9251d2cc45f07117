// When the next bundle request goes out, as OPA's downloader decides it: after an answer, a random delay
// in [minSeconds, maxSeconds] (so a fleet started together does not poll in step); after a failure, an
// exponential backoff from 100 ms by a factor of 1.6 per consecutive failure, capped at maxSeconds, with
// ±20 % jitter, and no wait at all before the first retry.

const RETRY_BASE_MS = 100;
const RETRY_FACTOR = 1.6;
const RETRY_JITTER = 0.2;

export function pollDelayMs(minSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  return (minSeconds + (maxSeconds - minSeconds) * random()) * 1000;
}

/** `retries`: failures since the last answer, minus one (0 for the first retry). */
export function retryDelayMs(retries: number, maxSeconds: number, random: () => number = Math.random): number {
  if (retries <= 0) return 0;
  const capMs = maxSeconds * 1000;
  let delay = RETRY_BASE_MS;
  for (let left = retries; delay < capMs && left > 0; left--) delay *= RETRY_FACTOR;
  delay = Math.min(delay, capMs);
  return Math.max(0, delay * (1 + RETRY_JITTER * (random() * 2 - 1)));
}
