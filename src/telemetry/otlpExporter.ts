// Spans leave in batches, off the check's path: `add` only queues; a batch is POSTed to the collector when 512
// spans are waiting or 5 s after the first one, one request at a time. The queue is bounded (2,048 spans):
// beyond it spans are dropped and counted, so a slow collector costs traces, never memory or checks. A failed
// export is retried while the collector says so (429, 502, 503, 504) or the connection failed, with backoff,
// within the export's 10 s; then the batch is dropped. The limits are OpenTelemetry's batch-processor and OTLP
// exporter defaults.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import type { SpanRecord } from './otlpJson.js';

export interface BatchLimits {
  maxQueue: number;
  maxBatch: number;
  delayMs: number;
  timeoutMs: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxQueue: 2048, maxBatch: 512, delayMs: 5000, timeoutMs: 10_000 };

export interface SpanExporter {
  add(span: SpanRecord): void;
  /** Exports everything queued (one attempt per batch, no retries) and stops. */
  shutdown(): Promise<void>;
}

export interface ExporterOptions {
  url: string;
  /** extra request headers (a collector's credentials) */
  headers: Readonly<Record<string, string>>;
  encode: (spans: readonly SpanRecord[]) => string;
  logger: Logger;
  limits?: BatchLimits;
}

/** OTLP's `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`k=v,k2=v2`, URL-encoded values). */
export function otlpHeadersFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const list of [env['OTEL_EXPORTER_OTLP_HEADERS'], env['OTEL_EXPORTER_OTLP_TRACES_HEADERS']]) {
    for (const pair of (list ?? '').split(',')) {
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim().toLowerCase();
      try {
        if (name !== '') headers[name] = decodeURIComponent(pair.slice(at + 1).trim());
      } catch {
        // a malformed %-escape: the header is left out rather than sent garbled
      }
    }
  }
  return headers;
}

type Attempt =
  { kind: 'ok' } | { kind: 'retry'; afterMs: number | undefined; why: string } | { kind: 'fail'; why: string };

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const BACKOFF_MS = { initial: 1000, multiplier: 1.5, max: 5000 };

export function createBatchExporter(options: ExporterOptions): SpanExporter {
  const limits = options.limits ?? DEFAULT_BATCH_LIMITS;
  const url = new URL(options.url);
  const secure = url.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const queue: SpanRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let exporting: Promise<void> = Promise.resolve();
  let stopping = false;
  let dropped = 0;
  let failing = false;

  const post = (body: string, timeoutMs: number): Promise<Attempt> =>
    new Promise((resolve) => {
      const send = secure ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        agent,
        headers: {
          ...options.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
      req.on('response', (res: IncomingMessage) => {
        res.resume(); // the body (an ExportTraceServiceResponse) is not needed; reading it frees the socket
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve({ kind: 'ok' });
        else if (RETRYABLE_STATUS.has(status))
          resolve({ kind: 'retry', afterMs: retryAfterMs(res), why: `HTTP ${status}` });
        else resolve({ kind: 'fail', why: `HTTP ${status}` });
      });
      req.on('error', (error: Error) => resolve({ kind: 'retry', afterMs: undefined, why: error.message }));
      req.end(body);
    });

  const exportBatch = async (spans: SpanRecord[]): Promise<void> => {
    const body = options.encode(spans);
    const deadline = Date.now() + limits.timeoutMs;
    let backoff = BACKOFF_MS.initial;
    for (;;) {
      const attempt = await post(body, Math.max(1, deadline - Date.now()));
      if (attempt.kind === 'ok') {
        if (failing) options.logger.info('trace export works again');
        failing = false;
        return;
      }
      const waitMs = attempt.kind === 'retry' ? (attempt.afterMs ?? backoff * (0.5 + Math.random() / 2)) : Infinity;
      if (stopping || Date.now() + waitMs >= deadline) {
        // Said once per outage, not per batch: an unreachable collector must not flood the log.
        if (!failing)
          options.logger.warn({ why: attempt.why, spans: spans.length }, 'trace export failed; spans dropped');
        failing = true;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
      backoff = Math.min(backoff * BACKOFF_MS.multiplier, BACKOFF_MS.max);
    }
  };

  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    exporting = exporting
      .then(async () => {
        while (queue.length > 0) {
          await exportBatch(queue.splice(0, limits.maxBatch));
          if (!stopping && queue.length < limits.maxBatch) break;
        }
        if (dropped > 0) {
          options.logger.warn({ dropped }, 'trace queue full; spans dropped');
          dropped = 0;
        }
      })
      // Whatever went wrong, the chain stays usable for the next batch.
      .catch((error: unknown) => options.logger.warn({ err: error }, 'trace export failed'))
      .finally(() => {
        if (queue.length > 0 && !stopping) schedule();
      });
    return exporting;
  };

  const schedule = (): void => {
    timer ??= setTimeout(() => void flush(), limits.delayMs).unref();
  };

  return {
    add(span) {
      if (stopping) return;
      if (queue.length >= limits.maxQueue) {
        dropped++;
        return;
      }
      queue.push(span);
      if (queue.length === limits.maxBatch) void flush();
      else schedule();
    },
    async shutdown() {
      stopping = true;
      await flush();
      agent.destroy();
    },
  };
}

/** `Retry-After` in seconds (the HTTP-date form is rare from collectors and falls back to backoff). */
function retryAfterMs(res: IncomingMessage): number | undefined {
  const seconds = Number(res.headers['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
