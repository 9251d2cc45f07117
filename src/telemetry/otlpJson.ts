// Finished spans -> the body of an OTLP/HTTP trace export (`ExportTraceServiceRequest`) in OTLP's JSON
// encoding: ids in lower-case hex, times as decimal strings of Unix nanoseconds, enums as integers, attributes
// as `{key, value: {stringValue}}`, fields at their default value left out. Pure.
// https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding

/** opentelemetry.proto.trace.v1.Span.SpanKind */
export const SpanKind = { internal: 1, server: 2 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** absent for a span that starts its trace */
  parent: { spanId: string; remote: boolean } | undefined;
  traceState: string | undefined;
  name: string;
  kind: SpanKind;
  startNs: bigint;
  endNs: bigint;
  attributes: ReadonlyArray<readonly [string, string]>;
}

interface KeyValue {
  key: string;
  value: { stringValue: string };
}

const keyValues = (pairs: ReadonlyArray<readonly [string, string]>): KeyValue[] =>
  pairs.map(([key, value]) => ({ key, value: { stringValue: value } }));

// Span.flags: the W3C trace flags in bits 0-7 (only sampled spans are recorded, so always 01); bit 8 says that
// bit 9 is meaningful, bit 9 that the parent is remote. A root span has no parent to qualify.
const SAMPLED = 0x1;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function encodeSpan(span: SpanRecord): Record<string, unknown> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.traceState === undefined ? {} : { traceState: span.traceState }),
    ...(span.parent === undefined ? {} : { parentSpanId: span.parent.spanId }),
    flags: span.parent === undefined ? SAMPLED : SAMPLED | HAS_IS_REMOTE | (span.parent.remote ? IS_REMOTE : 0),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: span.startNs.toString(),
    endTimeUnixNano: span.endNs.toString(),
    ...(span.attributes.length === 0 ? {} : { attributes: keyValues(span.attributes) }),
  };
}

/** One resource (this process, named by `service.name`) and one instrumentation scope holding every span. */
export function encodeTraceExport(
  resource: ReadonlyArray<readonly [string, string]>,
  scope: string,
  spans: readonly SpanRecord[],
): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [{ scope: { name: scope }, spans: spans.map(encodeSpan) }],
      },
    ],
  });
}
