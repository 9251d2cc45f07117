// The OpenTelemetry behind `tracing`: spans exported over OTLP/HTTP (JSON) in batches. Imported only when
// tracing is configured (see tracing.ts). No global provider or context manager is registered: the check span's
// parent comes from the request's W3C `traceparent`, and stage spans name their parent explicitly, so nothing
// here touches the process beyond this tracer.
import { ROOT_CONTEXT, SpanKind, defaultTextMapGetter, trace, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { CheckTrace, CheckTracer, TracingSettings } from './tracing.js';

/** OTLP's rule: a base endpoint gets the signal path appended; one that already names it is used as given. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

export function createOtelTracer(settings: TracingSettings, logger: Logger): CheckTracer {
  const exporter = new OTLPTraceExporter({ url: tracesUrl(settings.otlpEndpoint) });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    // A sampled (or unsampled) caller decides; a trace that starts here is kept with sampleRatio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('portcullis');
  const propagator = new W3CTraceContextPropagator();

  return {
    startCheck(headers): CheckTrace {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan('portcullis.check', { kind: SpanKind.SERVER }, parent);
      const within: Context = trace.setSpan(parent, span);
      return {
        startStage(stage) {
          const child: Span = tracer.startSpan(`portcullis.${stage}`, {}, within);
          return () => child.end();
        },
        end(outcome) {
          span.setAttributes({
            'portcullis.decision': outcome.decision,
            'portcullis.reason': outcome.reason,
            'portcullis.policy_revision': outcome.policyRevision,
          });
          span.end();
        },
      };
    },
    async shutdown() {
      await provider.shutdown();
      logger.debug('tracing stopped');
    },
  };
}
