// The tracer behind `tracing`: OpenTelemetry-compatible spans (W3C Trace Context in, OTLP/HTTP JSON out),
// exported in batches. Imported only when tracing is configured (see tracing.ts). A check needs four fixed spans
// and nothing of the OpenTelemetry SDK's generality (context managers, span processors, metrics and logs
// signals), which cost 24 MB of node_modules: the parsing, sampling, encoding and batching live in
// traceContext.ts, otlpJson.ts and otlpExporter.ts, each to its specification. Nothing global is registered:
// the check span's parent comes from the request's `traceparent`, and stage spans name their parent explicitly.
import type { Logger } from 'pino';
import { createBatchExporter, otlpHeadersFromEnv, type BatchLimits } from './otlpExporter.js';
import { encodeTraceExport, SpanKind, type SpanRecord } from './otlpJson.js';
import { newSpanId, newTraceId, parseTraceParent, sampledByRatio } from './traceContext.js';
import type { CheckTrace, CheckTracer, TracingSettings } from './tracing.js';

/** OTLP's rule: a base endpoint gets the signal path appended; one that already names it is used as given. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

// Span times: a monotonic clock anchored once to the wall clock, so a span's duration is exact even when the
// system clock steps, at nanosecond resolution.
const anchorUnixNs = BigInt(Date.now()) * 1_000_000n;
const anchorHrNs = process.hrtime.bigint();
const nowNs = (): bigint => anchorUnixNs + (process.hrtime.bigint() - anchorHrNs);

const UNSAMPLED: CheckTrace = { startStage: () => () => undefined, end: () => undefined };

export function createOtelTracer(settings: TracingSettings, logger: Logger, limits?: BatchLimits): CheckTracer {
  const resource = [['service.name', settings.serviceName]] as const;
  const exporter = createBatchExporter({
    url: tracesUrl(settings.otlpEndpoint),
    headers: otlpHeadersFromEnv(process.env),
    encode: (spans) => encodeTraceExport(resource, 'portcullis', spans),
    logger,
    ...(limits === undefined ? {} : { limits }),
  });

  return {
    startCheck(headers): CheckTrace {
      const parent = parseTraceParent(headers['traceparent'], headers['tracestate']);
      const traceId = parent?.traceId ?? newTraceId();
      // Parent-based: a caller's sampled flag decides; a trace that starts here is kept with sampleRatio.
      if (!(parent === null ? sampledByRatio(traceId, settings.sampleRatio) : parent.sampled)) return UNSAMPLED;
      const traceState = parent?.traceState;
      const check: SpanRecord = {
        traceId,
        spanId: newSpanId(),
        parent: parent === null ? undefined : { spanId: parent.spanId, remote: true },
        traceState,
        name: 'portcullis.check',
        kind: SpanKind.server,
        startNs: nowNs(),
        endNs: 0n,
        attributes: [],
      };
      return {
        startStage(stage) {
          const startNs = nowNs();
          let ended = false; // a span ends once, as OpenTelemetry's do
          return () => {
            if (ended) return;
            ended = true;
            exporter.add({
              traceId,
              spanId: newSpanId(),
              parent: { spanId: check.spanId, remote: false },
              traceState,
              name: `portcullis.${stage}`,
              kind: SpanKind.internal,
              startNs,
              endNs: nowNs(),
              attributes: [],
            });
          };
        },
        end(outcome) {
          if (check.endNs !== 0n) return;
          check.endNs = nowNs();
          exporter.add({
            ...check,
            attributes: [
              ['portcullis.decision', outcome.decision],
              ['portcullis.reason', outcome.reason],
              ['portcullis.policy_revision', outcome.policyRevision],
            ],
          });
        },
      };
    },
    async shutdown() {
      await exporter.shutdown();
      logger.debug('tracing stopped');
    },
  };
}
