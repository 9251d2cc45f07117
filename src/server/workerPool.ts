// `workers: N` (N > 1): this process becomes a node:cluster primary that forks N copies of `portcullis serve`.
// Each worker builds the whole sidecar and listens on the same gRPC and admin addresses; node:cluster hands
// the primary's one listening socket to the workers (round-robin), so Envoy still sees one port.
// The primary answers no checks. It replaces a worker that dies (and counts it), forwards SIGTERM/SIGINT to all
// workers and exits once every worker has drained, and aggregates /metrics across workers for whichever
// worker the scrape landed on (prom-client's AggregatorRegistry).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { POOL_WORKER_ENV } from './poolWorker.js';

/** worker → primary: the sidecar is up (a worker that exits before this failed at start-up) */
const READY = 'portcullis:worker-ready';
/** worker → primary: aggregate /metrics; primary → worker: the text, or the error */
const METRICS = 'portcullis:metrics';

interface MetricsRequest {
  type: typeof METRICS;
  id: number;
}
interface MetricsReply {
  type: typeof METRICS;
  id: number;
  text?: string;
  error?: string;
}

function isMessage<T extends { type: string }>(value: unknown, type: T['type']): value is T {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}

export function runWorkerPool(options: { count: number; logger: Logger }): Promise<number> {
  const { count, logger } = options;
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const restarts = new Counter({
    name: 'portcullis_worker_restarts_total',
    help: 'Workers that died while serving and were replaced',
    registers: [own],
  });
  const ready = new Set<number>();
  let stopping = false;
  let exitCode = 0;

  const answerMetrics = async (worker: Worker, id: number): Promise<void> => {
    let reply: MetricsReply;
    try {
      reply = { type: METRICS, id, text: `${await aggregator.clusterMetrics()}\n${await own.metrics()}` };
    } catch (error) {
      reply = { type: METRICS, id, error: error instanceof Error ? error.message : String(error) };
    }
    if (worker.isConnected()) worker.send(reply);
  };
  const fork = (): void => {
    const worker = cluster.fork({ [POOL_WORKER_ENV]: '1' });
    logger.info({ workerPid: worker.process.pid }, 'worker started');
    worker.on('message', (message: unknown) => {
      if (isMessage<{ type: typeof READY }>(message, READY)) ready.add(worker.id);
      else if (isMessage<MetricsRequest>(message, METRICS)) void answerMetrics(worker, message.id);
    });
  };
  const forward = (signal: NodeJS.Signals): void => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (!stopping)
        logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'draining all workers');
      stopping = true;
      forward(signal); // a second signal reaches the workers too and cuts their delay short
    };
    const finishIfDone = (): void => {
      if (Object.keys(cluster.workers ?? {}).length > 0) return;
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      cluster.removeAllListeners('exit');
      resolve(exitCode);
    };
    cluster.on('exit', (worker, code, signal) => {
      const wasReady = ready.delete(worker.id);
      if (stopping) {
        if (code !== 0) exitCode = exitCode || (code ?? 1);
        finishIfDone();
        return;
      }
      if (!wasReady) {
        // It failed before serving (a policy that does not compile, a port in use): a replacement would fail the
        // same way, forever. Stop the others and exit with the worker's code (2 for the user's input).
        logger.error({ pid: worker.process.pid, code, signal }, 'a worker failed at start-up; stopping');
        stopping = true;
        exitCode = code === null || code === 0 ? 1 : code;
        forward('SIGTERM');
        finishIfDone();
        return;
      }
      restarts.inc();
      logger.warn({ pid: worker.process.pid, code, signal }, 'a worker died; starting a replacement');
      fork();
    });
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    logger.info({ workers: count }, 'starting workers');
    for (let i = 0; i < count; i++) fork();
  });
}

/** In a worker: tell the primary the sidecar is serving. */
export function reportWorkerReady(): void {
  process.send?.({ type: READY });
}

/** In a worker: /metrics answers the primary's aggregate over all workers, not this worker's own registry. */
export function metricsFromPrimary(timeoutMs = 10_000): { metrics(): Promise<string>; contentType: string } {
  let next = 0;
  const pending = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  process.on('message', (message: unknown) => {
    if (!isMessage<MetricsReply>(message, METRICS)) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.text !== undefined) waiter?.resolve(message.text);
    else waiter?.reject(new Error(`metrics aggregation across workers failed: ${message.error ?? 'unknown'}`));
  });
  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    metrics() {
      const id = next++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('metrics aggregation across workers timed out'));
        }, timeoutMs);
        pending.set(id, {
          resolve: (text) => (clearTimeout(timer), resolve(text)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        process.send?.({ type: METRICS, id } satisfies MetricsRequest);
      });
    },
  };
}

/** In a worker: the primary's AggregatorRegistry collects from this registry (the sidecar's own, not the global). */
export function shareRegistryWithPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client answers the primary's requests only once an AggregatorRegistry exists in this process.
  new AggregatorRegistry();
}
