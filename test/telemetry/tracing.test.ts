// Tracing through a real sidecar: a gRPC client sends CheckRequests carrying a W3C traceparent, the sidecar
// exports over OTLP/HTTP to a real HTTP server in this process, and the test reads the spans it received.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../helpers/checkClient.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
}

interface OtlpRequest {
  resourceSpans: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

/** An OTLP/HTTP JSON receiver: POST /v1/traces, every request body kept. */
async function startReceiver(): Promise<{ server: Server; url: string; requests: OtlpRequest[]; paths: string[] }> {
  const requests: OtlpRequest[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, paths };
}

const spansOf = (requests: OtlpRequest[]): OtlpSpan[] =>
  requests.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));

const attribute = (span: OtlpSpan, key: string): string | undefined =>
  span.attributes?.find((a) => a.key === key)?.value.stringValue;

// The OTLP JSON encoding writes ids as hex (as the spec says); accept base64 too so the check is about ids.
const hex = (id: string): string =>
  /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('tracing over OTLP/HTTP', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let sidecar: TestSidecar;
  let spans: OtlpSpan[];

  beforeAll(async () => {
    receiver = await startReceiver();
    sidecar = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: { tracing: { otlpEndpoint: receiver.url, serviceName: 'portcullis-test' } },
    });
    const traceparent = `00-${TRACE_ID}-${PARENT_ID}-01`;
    const allowed = await sidecar.client.check(checkRequest({ path: '/open', headers: { traceparent } }));
    expect(allowed.status?.code ?? 0).toBe(0);
    const denied = await sidecar.client.check(checkRequest({ path: '/closed' }));
    expect(denied.deniedResponse?.status?.code).toBe(403);
    // Closing flushes the batch: every span of the checks above is exported by then.
    const revision = sidecar.sidecar.policy.current().revision;
    await sidecar.close();
    spans = spansOf(receiver.requests);
    expect(revision).toBeTruthy();
    expect(
      spans.filter((s) => s.name === 'portcullis.check').map((s) => attribute(s, 'portcullis.policy_revision')),
    ).toEqual([revision, revision]);
  }, 60_000);

  afterAll(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));

  it('exports JSON to POST /v1/traces under the configured service name', () => {
    expect(receiver.paths.length).toBeGreaterThan(0);
    expect(receiver.paths.every((p) => p.startsWith('POST /v1/traces application/json'))).toBe(true);
    const names = receiver.requests.flatMap((r) =>
      r.resourceSpans.map((rs) => rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue),
    );
    expect(names).toContain('portcullis-test');
  });

  it("makes the check span a child of the request's traceparent, with a span per stage", () => {
    const check = spans.find((s) => s.name === 'portcullis.check' && hex(s.traceId) === TRACE_ID);
    expect(check).toBeDefined();
    expect(hex(check!.parentSpanId ?? '')).toBe(PARENT_ID);
    expect(attribute(check!, 'portcullis.decision')).toBe('allowed');
    expect(attribute(check!, 'portcullis.reason')).toBe('allowed');
    const children = spans.filter((s) => s.parentSpanId !== undefined && hex(s.parentSpanId) === hex(check!.spanId));
    expect(children.map((s) => s.name).sort()).toEqual([
      'portcullis.identity',
      'portcullis.limits',
      'portcullis.policy',
    ]);
    expect(children.every((s) => hex(s.traceId) === TRACE_ID)).toBe(true);
  });

  it('starts a new trace for a check without traceparent and records the denial', () => {
    const check = spans.find((s) => s.name === 'portcullis.check' && hex(s.traceId) !== TRACE_ID);
    expect(check).toBeDefined();
    expect(check!.parentSpanId ?? '').toBe('');
    expect(attribute(check!, 'portcullis.decision')).toBe('denied');
    expect(attribute(check!, 'portcullis.reason')).toBe('policy_denied');
  });
});
