// The batch exporter against a real HTTP collector in this process: batching by size and by time, retries on
// the statuses OTLP calls retryable, no retry on the others, a bounded queue, shutdown flushing, and the
// collector credentials from OTLP's environment variables. The JSON is checked span by span.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchExporter, otlpHeadersFromEnv, type BatchLimits } from '../../src/telemetry/otlpExporter.js';
import { encodeTraceExport, SpanKind, type SpanRecord } from '../../src/telemetry/otlpJson.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A collector answering each POST with the next status of `statuses` (200 once they run out). */
async function collector(statuses: number[] = []): Promise<{ url: string; received: Received[]; answered: number[] }> {
  const received: Received[] = [];
  const answered: number[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      answered.push(status);
      if (status === 200) {
        received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as Received['body'] });
      }
      res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end('{}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, received, answered };
}

const span = (name: string): SpanRecord => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  parent: undefined,
  traceState: undefined,
  name,
  kind: SpanKind.internal,
  startNs: 1_700_000_000_000_000_001n,
  endNs: 1_700_000_000_000_500_002n,
  attributes: [],
});

const spanNames = (received: Received[]): string[] =>
  received
    .flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))
    .map((s) => String(s['name']));

function exporter(url: string, limits: Partial<BatchLimits> = {}, headers: Record<string, string> = {}) {
  return createBatchExporter({
    url,
    headers,
    encode: (spans) => encodeTraceExport([['service.name', 'test']], 'portcullis', spans),
    logger: pino({ level: 'silent' }),
    limits: { maxQueue: 100, maxBatch: 3, delayMs: 60_000, timeoutMs: 10_000, ...limits },
  });
}

const waitFor = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('the OTLP batch exporter', () => {
  it('sends a full batch at once and the rest on shutdown', async () => {
    const { url, received } = await collector();
    const spans = exporter(url);
    for (const name of ['a', 'b', 'c', 'd']) spans.add(span(name));
    await waitFor(() => received.length === 1);
    expect(spanNames(received)).toEqual(['a', 'b', 'c']);
    await spans.shutdown();
    expect(spanNames(received)).toEqual(['a', 'b', 'c', 'd']);
    expect(received[0]!.headers['content-type']).toBe('application/json');
  });

  it('sends a partial batch after the delay', async () => {
    const { url, received } = await collector();
    const spans = exporter(url, { delayMs: 50 });
    spans.add(span('late'));
    await waitFor(() => received.length === 1);
    expect(spanNames(received)).toEqual(['late']);
    await spans.shutdown();
  });

  it('retries 503 and 429 (honouring Retry-After), not 400', async () => {
    const retried = await collector([503, 429]);
    const first = exporter(retried.url, { delayMs: 1 });
    first.add(span('kept'));
    await waitFor(() => retried.received.length === 1);
    expect(retried.answered).toEqual([503, 429, 200]);
    expect(spanNames(retried.received)).toEqual(['kept']);
    await first.shutdown();
    await new Promise<void>((resolve) => server!.close(() => resolve()));

    const refused = await collector([400]);
    const second = exporter(refused.url);
    second.add(span('dropped'));
    await second.shutdown();
    expect(refused.answered).toEqual([400]);
    expect(refused.received).toEqual([]);
  }, 20_000);

  it('drops spans beyond the queue bound instead of growing', async () => {
    const { url, received } = await collector();
    const spans = exporter(url, { maxQueue: 2, maxBatch: 10 });
    for (const name of ['a', 'b', 'c', 'd']) spans.add(span(name));
    await spans.shutdown();
    expect(spanNames(received)).toEqual(['a', 'b']);
  });

  it('gives up on an unreachable collector at shutdown without waiting for retries', async () => {
    const { url } = await collector();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const spans = exporter(url);
    spans.add(span('lost'));
    const started = Date.now();
    await spans.shutdown();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('sends the headers named by OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS', async () => {
    const headers = otlpHeadersFromEnv({
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20t0ken, x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b,broken,=novalue',
    });
    expect(headers).toEqual({ authorization: 'Bearer t0ken', 'x-tenant': 'b' });
    const { url, received } = await collector();
    const spans = exporter(url, {}, headers);
    spans.add(span('with-credentials'));
    await spans.shutdown();
    expect(received[0]!.headers['authorization']).toBe('Bearer t0ken');
    expect(received[0]!.headers['x-tenant']).toBe('b');
  });
});

describe('the OTLP JSON encoding', () => {
  it("writes ids in hex, times as nanosecond strings, kinds as numbers and the parent's remoteness in flags", () => {
    const body = JSON.parse(
      encodeTraceExport([['service.name', 'svc']], 'portcullis', [
        { ...span('root'), kind: SpanKind.server, attributes: [['portcullis.decision', 'allowed']] },
        { ...span('child'), parent: { spanId: '1111111111111111', remote: false }, traceState: 'a=b' },
        { ...span('remote-child'), parent: { spanId: '2222222222222222', remote: true } },
      ]),
    ) as Record<string, unknown>;
    expect(body).toEqual({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [
            {
              scope: { name: 'portcullis' },
              spans: [
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  flags: 0x1,
                  name: 'root',
                  kind: 2,
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000000500002',
                  attributes: [{ key: 'portcullis.decision', value: { stringValue: 'allowed' } }],
                },
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  traceState: 'a=b',
                  parentSpanId: '1111111111111111',
                  flags: 0x101,
                  name: 'child',
                  kind: 1,
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000000500002',
                },
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  parentSpanId: '2222222222222222',
                  flags: 0x301,
                  name: 'remote-child',
                  kind: 1,
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000000500002',
                },
              ],
            },
          ],
        },
      ],
    });
  });
});
