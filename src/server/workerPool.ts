// `workers: N` (N > 1): this process becomes a node:cluster primary that forks N copies of `portcullis serve`.
// Each worker builds the whole sidecar and listens on the same gRPC and admin addresses; node:cluster hands
// the primary's one listening socket to the workers (round-robin), so Envoy still sees one port.
// The primary answers no checks. It replaces a worker that dies (and counts it), forwards SIGTERM/SIGINT to all
// workers and exits once every worker has drained, and aggregates /metrics across the ready workers for
// whichever worker the scrape landed on (prom-client's aggregation rules).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { POOL_WORKER_ENV } from './poolWorker.js';

/** worker → primary: the sidecar is up and answers COLLECT (a worker that exits before this failed at start-up) */
const READY = 'portcullis:worker-ready';
/** worker → primary: aggregate /metrics; primary → worker: the text, or the error */
const METRICS = 'portcullis:metrics';
/** primary → worker: your registry as JSON; worker → primary: the JSON, or the error */
const COLLECT = 'portcullis:collect';
/** How long the primary waits for a ready worker's registry before the scrape fails. */
const COLLECT_TIMEOUT_MS = 5_000;
/**
 * Workers killed by a signal before they were ready (the OOM killer during start-up, an operator's kill) are
 * replaced, but not forever: this many in a row with no worker becoming ready in between stops the pool.
 */
const MAX_STARTUP_KILLS_IN_A_ROW = 3;

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
interface CollectRequest {
  type: typeof COLLECT;
  id: number;
}
interface CollectReply {
  type: typeof COLLECT;
  id: number;
  metrics?: unknown[];
  error?: string;
}

function isMessage<T extends { type: string }>(value: unknown, type: T['type']): value is T {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}

/**
 * What the primary does with a worker that exited while the pool was not stopping: replace it, or stop the
 * pool with an exit code. Pure, so the rule is tested without forking.
 */
export function onWorkerExit(
  exit: { wasReady: boolean; code: number | null; signal: string | null },
  startupKillsInARow: number,
): { action: 'replace'; startupKill: boolean } | { action: 'stop'; exitCode: number } {
  if (exit.wasReady) return { action: 'replace', startupKill: false };
  // It exited on its own before serving (a policy that does not compile, a port in use): a replacement would
  // fail the same way, forever. Stop with the worker's code (2 for the user's input).
  if (exit.code !== null && exit.code !== 0) return { action: 'stop', exitCode: exit.code };
  if (exit.signal !== null && startupKillsInARow + 1 < MAX_STARTUP_KILLS_IN_A_ROW)
    return { action: 'replace', startupKill: true };
  return { action: 'stop', exitCode: 1 };
}

export function runWorkerPool(options: { count: number; logger: Logger }): Promise<number> {
  const { count, logger } = options;
  const own = new Registry();
  const restarts = new Counter({
    name: 'portcullis_worker_restarts_total',
    help: 'Workers that died (while serving, or killed during start-up) and were replaced',
    registers: [own],
  });
  // Workers that reported ready, by cluster id: only they are asked for their registries, so a scrape during a
  // replacement's start-up (which may take a while: it compiles the policy) answers for the workers serving.
  const ready = new Map<number, Worker>();
  let stopping = false;
  let exitCode = 0;
  let startupKillsInARow = 0;
  let nextCollect = 0;
  const collecting = new Map<number, { worker: Worker; settle(reply: CollectReply | Error): void }>();

  const collectFrom = (worker: Worker): Promise<unknown[]> =>
    new Promise((resolve, reject) => {
      const id = nextCollect++;
      const timer = setTimeout(
        () => settle(new Error(`worker ${worker.process.pid} did not answer in time`)),
        COLLECT_TIMEOUT_MS,
      );
      const settle = (reply: CollectReply | Error): void => {
        clearTimeout(timer);
        collecting.delete(id);
        if (reply instanceof Error) reject(reply);
        else if (reply.metrics !== undefined) resolve(reply.metrics);
        else reject(new Error(reply.error ?? 'no metrics'));
      };
      collecting.set(id, { worker, settle });
      // With a callback, a send on a channel closing under us fails this collection instead of emitting 'error'.
      worker.send({ type: COLLECT, id } satisfies CollectRequest, (error: Error | null) => {
        if (error !== null) settle(error);
      });
    });
  const answerMetrics = async (worker: Worker, id: number): Promise<void> => {
    let reply: MetricsReply;
    try {
      // A worker whose channel is already closed is on its way out (its 'exit' follows): it has nothing to add.
      const serving = [...ready.values()].filter((worker) => worker.isConnected());
      const registries = await Promise.all(serving.map(collectFrom));
      const text = await AggregatorRegistry.aggregate(registries).metrics();
      reply = { type: METRICS, id, text: `${text}\n${await own.metrics()}` };
    } catch (error) {
      reply = { type: METRICS, id, error: error instanceof Error ? error.message : String(error) };
    }
    if (worker.isConnected()) worker.send(reply);
  };
  const fork = (): void => {
    const worker = cluster.fork({ [POOL_WORKER_ENV]: '1' });
    logger.info({ workerPid: worker.process.pid }, 'worker started');
    worker.on('message', (message: unknown) => {
      if (isMessage<{ type: typeof READY }>(message, READY)) {
        ready.set(worker.id, worker);
        startupKillsInARow = 0;
      } else if (isMessage<MetricsRequest>(message, METRICS)) void answerMetrics(worker, message.id);
      else if (isMessage<CollectReply>(message, COLLECT)) collecting.get(message.id)?.settle(message);
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
      // A scrape waiting on this worker's registry fails now rather than at its timeout.
      for (const { worker: asked, settle } of collecting.values())
        if (asked === worker) settle(new Error(`worker ${worker.process.pid} exited during the scrape`));
      if (stopping) {
        if (code !== 0) exitCode = exitCode || (code ?? 1);
        finishIfDone();
        return;
      }
      const next = onWorkerExit({ wasReady, code, signal }, startupKillsInARow);
      if (next.action === 'stop') {
        logger.error({ pid: worker.process.pid, code, signal }, 'a worker failed at start-up; stopping');
        stopping = true;
        exitCode = next.exitCode;
        forward('SIGTERM');
        finishIfDone();
        return;
      }
      if (next.startupKill) startupKillsInARow++;
      restarts.inc();
      logger.warn(
        { pid: worker.process.pid, code, signal, wasReady },
        wasReady
          ? 'a worker died; starting a replacement'
          : 'a worker was killed during start-up; starting a replacement',
      );
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

/** In a worker: answer the primary's requests for this registry (the sidecar's own, not the global one). */
export function shareRegistryWithPrimary(registry: Registry): void {
  process.on('message', (message: unknown) => {
    if (!isMessage<CollectRequest>(message, COLLECT)) return;
    const { id } = message;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: COLLECT, id, metrics } satisfies CollectReply),
      (error: unknown) =>
        process.send?.({
          type: COLLECT,
          id,
          error: error instanceof Error ? error.message : String(error),
        } satisfies CollectReply),
    );
  });
}
