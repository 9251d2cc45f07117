// Tracing as the pipeline sees it: a check trace with one span per stage. Off unless `tracing` is configured,
// and then the OpenTelemetry SDK is imported on demand, so a sidecar without tracing never loads it. Tracing
// must never change a check: every call into the tracer is guarded here, whatever implementation sits behind.
import type { Logger } from 'pino';

export type TraceStage = 'identity' | 'limits' | 'policy';

export interface CheckTraceOutcome {
  /** the decision log's `result` (`allowed`, `denied`, `unavailable`) */
  decision: string;
  reason: string;
  policyRevision: string;
}

export interface CheckTrace {
  /** Starts the stage's span; the returned function ends it. */
  startStage(stage: TraceStage): () => void;
  end(outcome: CheckTraceOutcome): void;
}

export interface CheckTracer {
  /** `headers`: the request's, lower-case names; `traceparent`/`tracestate` make the check span their child. */
  startCheck(headers: Readonly<Record<string, string>>): CheckTrace;
  /** Exports what is still buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingSettings {
  otlpEndpoint: string;
  serviceName: string;
  sampleRatio: number;
}

const NOOP_TRACE: CheckTrace = { startStage: () => () => undefined, end: () => undefined };

/** Null when tracing is not configured: then nothing of OpenTelemetry is imported. */
export async function loadTracer(settings: TracingSettings | undefined, logger: Logger): Promise<CheckTracer | null> {
  if (settings === undefined) return null;
  const { createOtelTracer } = await import('./otelTracer.js');
  const tracer = createOtelTracer(settings, logger);
  logger.info({ otlpEndpoint: settings.otlpEndpoint, sampleRatio: settings.sampleRatio }, 'tracing on');
  return guarded(tracer, logger);
}

/** Wraps a tracer so that a failure in it is logged once per kind and never reaches the check. */
export function guarded(tracer: CheckTracer, logger: Logger): CheckTracer {
  const reported = new Set<string>();
  const report = (where: string, error: unknown): void => {
    if (reported.has(where)) return;
    reported.add(where);
    logger.warn({ err: error, where }, 'tracing failed; checks go on untraced');
  };
  const attempt = <T>(where: string, run: () => T, fallback: T): T => {
    try {
      return run();
    } catch (error) {
      report(where, error);
      return fallback;
    }
  };
  const guardTrace = (trace: CheckTrace): CheckTrace => ({
    startStage: (stage) => {
      const end = attempt('startStage', () => trace.startStage(stage), NOOP_TRACE.startStage(stage));
      return () => attempt('endStage', end, undefined);
    },
    end: (outcome) => attempt('end', () => trace.end(outcome), undefined),
  });
  return {
    startCheck: (headers) => attempt('startCheck', () => guardTrace(tracer.startCheck(headers)), NOOP_TRACE),
    shutdown: async () => {
      try {
        await tracer.shutdown();
      } catch (error) {
        report('shutdown', error);
      }
    },
  };
}
