// The node:http2 gRPC transport (src/server/grpcTransport.ts), driven by the real grpc-js client where a
// gRPC client can express the case, and by raw HTTP/2 requests (node:http2's client) where only a broken or
// hostile client would send it: wrong method or content type, an oversized or undecodable message, two
// messages on a unary call, a zip bomb, a reset mid-call. And the answer bytes: the same handler result is
// the same DATA frame on this transport as on grpc-js.
import { connect as connectHttp2, constants, type ClientHttp2Session } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { listenForGrpc } from '../../src/server/grpcListener.js';
import { mappedUnary, routeTable, unary, type ServiceBinding, type UnaryReply } from '../../src/server/grpcService.js';
import type { ConnectionSettings } from '../../src/server/grpcSessionLimits.js';
import { createGrpcTransport, MAX_CONCURRENT_STREAMS } from '../../src/server/grpcTransport.js';
import { loadProtos, loadRateLimitProtos } from '../../src/server/protos.js';
import { createHealthState } from '../../src/server/health.js';
import { checkRequest } from '../helpers/checkClient.js';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const RLS_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const ALLOW: UnaryReply = { message: { status: { code: 0 } } };
const NO_LIMITS: ConnectionSettings = {
  maxConnections: 100,
  maxConnectionIdleSeconds: 0,
  maxConnectionAgeSeconds: 0,
  maxConnectionAgeGraceSeconds: 0,
  keepaliveSeconds: 0,
  keepaliveTimeoutSeconds: 20,
};

interface Served {
  port: number;
  handlerErrors: unknown[];
  shutdown(graceMs: number): Promise<boolean>;
}

const running: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

async function serve(options: {
  check?: (request: object) => Promise<UnaryReply>;
  services?: ServiceBinding[];
  maxReceiveMessageBytes?: number;
  connections?: Partial<ConnectionSettings>;
}): Promise<Served> {
  const handlerErrors: unknown[] = [];
  const health = createHealthState();
  const transport = createGrpcTransport({
    routes: routeTable([
      {
        definition: loadProtos().authorization,
        handlers: { Check: unary(options.check ?? (() => Promise.resolve(ALLOW))) },
      },
      { definition: loadProtos().health, handlers: health.handlers },
      ...(options.services ?? []),
    ]),
    maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    connections: { ...NO_LIMITS, ...options.connections },
    onHandlerError: (error) => handlerErrors.push(error),
  });
  const listener = await listenForGrpc({
    address: '127.0.0.1:0',
    maxConnections: 100,
    accept: (socket) => transport.accept(socket),
    onRefused: () => undefined,
  });
  let stopped: Promise<boolean> | undefined;
  const shutdown = (graceMs: number): Promise<boolean> => {
    listener.close();
    health.endWatches();
    stopped ??= transport.shutdown(graceMs);
    return stopped;
  };
  running.push(() => shutdown(100));
  return { port: listener.port, handlerErrors, shutdown };
}

function session(port: number): ClientHttp2Session {
  const s = connectHttp2(`http://127.0.0.1:${port}`);
  s.on('error', () => undefined);
  running.push(async () => s.destroy());
  return s;
}

/** A gRPC message with its 5-byte prefix. */
function frame(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

interface RawAnswer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  data: Buffer;
  rstCode: number | undefined;
}

/** One raw HTTP/2 request; `body` is written and the request ended unless `keepOpen`. */
function rawRequest(
  s: ClientHttp2Session,
  headers: Record<string, string>,
  body: Buffer | undefined,
  keepOpen = false,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const stream = s.request({
      ':method': 'POST',
      ':path': CHECK_PATH,
      'content-type': 'application/grpc',
      ...headers,
    });
    const answer: RawAnswer = { headers: {}, trailers: {}, data: Buffer.alloc(0), rstCode: undefined };
    stream.on('response', (h) => (answer.headers = { ...h }));
    stream.on('trailers', (t) => (answer.trailers = { ...t }));
    stream.on('data', (chunk: Buffer) => (answer.data = Buffer.concat([answer.data, chunk])));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      answer.rstCode = stream.rstCode;
      resolve(answer);
    });
    if (body !== undefined) stream.write(body);
    if (!keepOpen) stream.end();
  });
}

/** The gRPC status of a raw answer: from the trailers, or from the headers of a trailers-only answer. */
const statusOf = (answer: RawAnswer): number => Number(answer.trailers['grpc-status'] ?? answer.headers['grpc-status']);
const messageOf = (answer: RawAnswer): string =>
  decodeURIComponent(String(answer.trailers['grpc-message'] ?? answer.headers['grpc-message'] ?? ''));

const checkBytes = (request: unknown): Buffer =>
  loadProtos().authorization['Check']!.requestSerialize(request as object);

/** A call through grpc-js's generic client with our own (de)serializers, for requests the typed client refuses. */
function genericCall(
  port: number,
  path: string,
  bytes: Buffer,
  options: grpc.ChannelOptions = {},
): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
  running.push(async () => client.close());
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      (error) => resolve(error === null ? { code: 0, details: '' } : { code: error.code, details: error.details }),
    ),
  );
}

describe('routing and protocol checks', () => {
  it('answers UNIMPLEMENTED for a method no service serves, as grpc-js does', async () => {
    const { port } = await serve({});
    expect(await genericCall(port, '/no.such.Service/Method', Buffer.alloc(0))).toEqual({
      code: grpc.status.UNIMPLEMENTED,
      details: 'The server does not implement the method /no.such.Service/Method',
    });
  });

  it('answers a non-POST request 405 with an INTERNAL gRPC status', async () => {
    const { port } = await serve({});
    const answer = await rawRequest(session(port), { ':method': 'PUT' }, frame(checkBytes(checkRequest())));
    expect(answer.headers[':status']).toBe(405);
    expect(statusOf(answer)).toBe(grpc.status.INTERNAL);
  });

  it('answers 415 to a content type other than application/grpc(+proto), and serves both of those', async () => {
    const { port } = await serve({});
    const s = session(port);
    const body = frame(checkBytes(checkRequest()));
    for (const type of ['application/json', 'application/grpc+json', 'application/grpcx']) {
      const answer = await rawRequest(s, { 'content-type': type }, body);
      expect(answer.headers[':status'], type).toBe(415);
    }
    for (const type of ['application/grpc', 'application/grpc+proto', 'application/grpc;charset=utf-8']) {
      const answer = await rawRequest(s, { 'content-type': type }, body);
      expect([answer.headers[':status'], statusOf(answer)], type).toEqual([200, 0]);
    }
  });

  it('advertises a bounded number of concurrent streams per connection', async () => {
    const { port } = await serve({});
    const s = session(port);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      s.once('remoteSettings', resolve),
    );
    expect(settings.maxConcurrentStreams).toBe(MAX_CONCURRENT_STREAMS);
  });
});

describe('reading the request message', () => {
  it('refuses a message over grpc.maxReceiveMessageBytes from its prefix, before the body is sent', async () => {
    const { port } = await serve({ maxReceiveMessageBytes: 1024 });
    const prefix = Buffer.from([0, 0, 0x10, 0, 0]); // a 1 MiB message announced
    // The request stays open after 100 bytes: the answer cannot have waited for (or buffered) the rest.
    const answer = await rawRequest(session(port), {}, Buffer.concat([prefix, Buffer.alloc(100)]), true);
    expect(statusOf(answer)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(messageOf(answer)).toBe('Received message larger than max (1048576 vs 1024)');
    expect(answer.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('reads a message split across DATA frames at any byte', async () => {
    let seen: object | undefined;
    const { port } = await serve({
      check: (request) => {
        seen = request;
        return Promise.resolve(ALLOW);
      },
    });
    const s = session(port);
    const body = frame(checkBytes(checkRequest({ path: '/split' })));
    const answer = await new Promise<RawAnswer>((resolve) => {
      const stream = s.request({ ':method': 'POST', ':path': CHECK_PATH, 'content-type': 'application/grpc' });
      const result: RawAnswer = { headers: {}, trailers: {}, data: Buffer.alloc(0), rstCode: undefined };
      stream.on('trailers', (t) => (result.trailers = { ...t }));
      stream.on('data', () => undefined);
      stream.on('close', () => resolve(result));
      // 1, 2, 3, ... bytes per write, each its own DATA frame
      let offset = 0;
      for (let size = 1; offset < body.length; size++) {
        stream.write(body.subarray(offset, offset + size));
        offset += size;
      }
      stream.end();
    });
    expect(statusOf(answer)).toBe(0);
    expect(JSON.stringify(seen)).toContain('/split');
  });

  it('answers INTERNAL to bytes that are not a CheckRequest, as grpc-js does', async () => {
    const { port } = await serve({});
    // field 1 (attributes), length-delimited, claiming 127 bytes that are not there
    expect(await genericCall(port, CHECK_PATH, Buffer.from([0x0a, 0x7f, 0x01]))).toEqual({
      code: grpc.status.INTERNAL,
      details: 'Error deserializing request',
    });
  });

  it('refuses a second message on a unary call, and a call without any', async () => {
    const { port } = await serve({});
    const s = session(port);
    const one = frame(checkBytes(checkRequest()));
    const two = await rawRequest(s, {}, Buffer.concat([one, one]));
    expect(statusOf(two)).toBe(grpc.status.UNIMPLEMENTED);
    expect(messageOf(two)).toContain('second request message');
    const none = await rawRequest(s, {}, undefined);
    expect(statusOf(none)).toBe(grpc.status.UNIMPLEMENTED);
    const cut = await rawRequest(s, {}, one.subarray(0, 20));
    expect(statusOf(cut)).toBe(grpc.status.INTERNAL);
  });

  it('decompresses gzip and deflate messages from the grpc-js client (grpc.default_compression_algorithm)', async () => {
    const seen: string[] = [];
    const { port } = await serve({
      check: (request) => {
        seen.push(JSON.stringify(request));
        return Promise.resolve(ALLOW);
      },
    });
    const request = checkRequest({ path: `/compressed/${'x'.repeat(2000)}` });
    for (const algorithm of [1, 2]) {
      // 1 deflate, 2 gzip (grpc-js's compression-algorithms.ts)
      const client = createTestClientWith(port, { 'grpc.default_compression_algorithm': algorithm });
      expect((await client.check(request)).status?.code).toBe(0);
    }
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).toContain('/compressed/xxx');
  });

  it('refuses a compressed message that inflates past the limit (a zip bomb) without inflating it all', async () => {
    const { port } = await serve({ maxReceiveMessageBytes: 64 * 1024 });
    const s = session(port);
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024)); // 32 MiB of zeros in about 32 KB
    expect(bomb.length).toBeLessThan(64 * 1024);
    const answer = await rawRequest(s, { 'grpc-encoding': 'gzip' }, frame(bomb, true));
    expect(statusOf(answer)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(messageOf(answer)).toBe('Received message that decompresses to a size larger than 65536');
    const small = await rawRequest(
      s,
      { 'grpc-encoding': 'deflate' },
      frame(deflateSync(checkBytes(checkRequest())), true),
    );
    expect(statusOf(small)).toBe(0);
    const corrupt = await rawRequest(s, { 'grpc-encoding': 'gzip' }, frame(Buffer.from('not gzip'), true));
    expect(statusOf(corrupt)).toBe(grpc.status.INTERNAL);
  });

  it('answers UNIMPLEMENTED with grpc-accept-encoding to a message compressed in another encoding', async () => {
    const { port } = await serve({});
    const s = session(port);
    const answer = await rawRequest(s, { 'grpc-encoding': 'snappy' }, frame(Buffer.from('whatever'), true));
    expect(statusOf(answer)).toBe(grpc.status.UNIMPLEMENTED);
    expect(answer.headers['grpc-accept-encoding']).toBe('identity,deflate,gzip');
    // An uncompressed message is read whatever grpc-encoding says.
    expect(statusOf(await rawRequest(s, { 'grpc-encoding': 'snappy' }, frame(checkBytes(checkRequest()))))).toBe(0);
    // The compressed flag without an encoding is a protocol error.
    expect(statusOf(await rawRequest(s, {}, frame(checkBytes(checkRequest()), true)))).toBe(grpc.status.INTERNAL);
  });
});

describe('the life of a call', () => {
  it('answers DEADLINE_EXCEEDED when grpc-timeout passes first, and INTERNAL to a malformed one', async () => {
    const { port } = await serve({ check: () => new Promise((r) => setTimeout(() => r(ALLOW), 1000)) });
    const s = session(port);
    const body = frame(checkBytes(checkRequest()));
    const started = Date.now();
    const late = await rawRequest(s, { 'grpc-timeout': '50m' }, body);
    expect(statusOf(late)).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(900);
    expect(statusOf(await rawRequest(s, { 'grpc-timeout': 'soon' }, body))).toBe(grpc.status.INTERNAL);
  });

  it('writes nothing for a call the client reset, and goes on serving the connection', async () => {
    let finish: (() => void) | undefined;
    let calls = 0;
    const { port, handlerErrors } = await serve({
      check: () => {
        calls += 1;
        return calls === 1 ? new Promise((r) => (finish = () => r(ALLOW))) : Promise.resolve(ALLOW);
      },
    });
    const s = session(port);
    const frames: string[] = [];
    const stream = s.request({ ':method': 'POST', ':path': CHECK_PATH, 'content-type': 'application/grpc' });
    stream.on('response', () => frames.push('headers'));
    stream.on('data', () => frames.push('data'));
    stream.on('error', () => undefined);
    stream.end(frame(checkBytes(checkRequest())));
    while (finish === undefined) await new Promise((r) => setTimeout(r, 5));
    const closed = new Promise((r) => stream.once('close', r));
    stream.close(constants.NGHTTP2_CANCEL);
    await closed;
    finish();
    await new Promise((r) => setTimeout(r, 50));
    expect(frames).toEqual([]);
    expect(handlerErrors).toEqual([]);
    expect(statusOf(await rawRequest(s, {}, frame(checkBytes(checkRequest()))))).toBe(0);
  });

  it('answers a handler that rejects with INTERNAL and reports it', async () => {
    const { port, handlerErrors } = await serve({ check: () => Promise.reject(new Error('bug')) });
    expect((await genericCall(port, CHECK_PATH, checkBytes(checkRequest()))).code).toBe(grpc.status.INTERNAL);
    expect(handlerErrors).toHaveLength(1);
  });

  it('answers a mapped handler as its reply and recover functions say, without reporting a bug', async () => {
    const rls = loadRateLimitProtos();
    const mapped = (handle: () => Promise<string>): ServiceBinding => ({
      definition: rls,
      handlers: {
        ShouldRateLimit: mappedUnary(
          handle,
          (value) => (value === 'ok' ? { message: { overallCode: 'OK' } } : { error: { code: 7, details: value } }),
          (error) => ({ error: { code: 9, details: `recovered: ${(error as Error).message}` } }),
        ),
      },
    });
    for (const [handle, expected] of [
      [() => Promise.resolve('ok'), { code: 0, details: '' }],
      [() => Promise.resolve('no'), { code: 7, details: 'no' }],
      [() => Promise.reject(new Error('bug')), { code: 9, details: 'recovered: bug' }],
    ] as const) {
      const { port, handlerErrors } = await serve({ services: [mapped(handle)] });
      expect(await genericCall(port, RLS_PATH, Buffer.alloc(0))).toEqual(expected);
      expect(handlerErrors).toEqual([]);
    }
  });

  it("answers INTERNAL and reports a bug when a mapped handler's reply function throws", async () => {
    const rls = loadRateLimitProtos();
    const throwing: ServiceBinding = {
      definition: rls,
      handlers: {
        ShouldRateLimit: mappedUnary(
          () => Promise.resolve('ok'),
          () => {
            throw new Error('mapping bug');
          },
          () => ({ error: { code: 9, details: 'not a rejection' } }),
        ),
      },
    };
    const { port, handlerErrors } = await serve({ services: [throwing] });
    expect(await genericCall(port, RLS_PATH, Buffer.alloc(0))).toEqual({ code: 13, details: 'Internal server error' });
    expect(handlerErrors).toHaveLength(1);
  });

  it('carries a handler error status and its message, percent-encoded, to the client', async () => {
    const details = 'denied: 100% "ünïcode" \n next line';
    const { port } = await serve({ check: () => Promise.resolve({ error: { code: 2, details } }) });
    expect(await genericCall(port, CHECK_PATH, checkBytes(checkRequest()))).toEqual({ code: 2, details });
  });

  it('lets an in-flight call finish at shutdown, refusing new ones on that connection (GOAWAY)', async () => {
    let finish: (() => void) | undefined;
    const served = await serve({ check: () => new Promise((r) => (finish = () => r(ALLOW))) });
    const s = session(served.port);
    const goaway = new Promise((r) => s.once('goaway', r));
    const inFlight = rawRequest(s, {}, frame(checkBytes(checkRequest())));
    while (finish === undefined) await new Promise((r) => setTimeout(r, 5));
    const stopped = served.shutdown(5000);
    await goaway;
    finish();
    expect(statusOf(await inFlight)).toBe(0);
    expect(await stopped).toBe(true);
  });

  it('destroys the connections still busy when the shutdown grace is over', async () => {
    const served = await serve({ check: () => new Promise(() => undefined) });
    const s = session(served.port);
    const inFlight = rawRequest(s, {}, frame(checkBytes(checkRequest())));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    expect(await served.shutdown(200)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(statusOf(await inFlight)).not.toBe(0);
  });
});

describe('connection lifetimes', () => {
  it('never counts a connection with a call in flight as idle, and closes it once idle for the limit', async () => {
    const { port } = await serve({
      check: () => new Promise((r) => setTimeout(() => r(ALLOW), 600)),
      connections: { maxConnectionIdleSeconds: 0.2 },
    });
    const s = session(port);
    let goawayAt: number | undefined;
    s.once('goaway', () => (goawayAt = Date.now()));
    const started = Date.now();
    // 600 ms in flight, three idle periods long: the connection stays, and the call is answered.
    expect(statusOf(await rawRequest(s, {}, frame(checkBytes(checkRequest()))))).toBe(0);
    const answeredAt = Date.now();
    expect(goawayAt).toBeUndefined();
    await new Promise((r) => s.once('close', r));
    expect(goawayAt).toBeDefined();
    expect(goawayAt! - answeredAt).toBeGreaterThanOrEqual(150);
    expect(answeredAt - started).toBeGreaterThanOrEqual(550);
  });

  it('sends GOAWAY at grpc.maxConnectionAgeSeconds and closes a busy connection after the grace', async () => {
    const { port } = await serve({
      check: () => new Promise(() => undefined),
      connections: { maxConnectionAgeSeconds: 0.3, maxConnectionAgeGraceSeconds: 0.3 },
    });
    const s = session(port);
    const events: string[] = [];
    s.once('goaway', () => events.push('goaway'));
    const inFlight = rawRequest(s, {}, frame(checkBytes(checkRequest())));
    await new Promise((r) => s.once('close', r));
    events.push('close');
    expect(events).toEqual(['goaway', 'close']);
    expect(statusOf(await inFlight)).not.toBe(0);
  });
});

describe('keepalive', () => {
  it('pings a connection every grpc.keepaliveSeconds and keeps it while the client answers', async () => {
    const { port } = await serve({ connections: { keepaliveSeconds: 0.1, keepaliveTimeoutSeconds: 0.5 } });
    const s = session(port);
    let pings = 0;
    s.on('ping', () => (pings += 1));
    await new Promise((r) => setTimeout(r, 700));
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(s.closed || s.destroyed).toBe(false);
  });

  it('closes a connection whose peer does not answer the ping within grpc.keepaliveTimeoutSeconds', async () => {
    const { port } = await serve({ connections: { keepaliveSeconds: 0.1, keepaliveTimeoutSeconds: 0.2 } });
    // An HTTP/2 client preface and an empty SETTINGS, then silence: no SETTINGS ack, no PING ack.
    const socket = connectTcp(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.write(
      Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]),
    );
    const started = Date.now();
    await new Promise((r) => socket.once('close', r));
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('the answer bytes', () => {
  // The DATA of an answer (prefix included) from a server that answers every call with `reply`.
  async function answerBytes(
    server: 'grpc-js' | 'http2',
    path: string,
    reply: object,
    services: () => ServiceBinding,
  ): Promise<Buffer> {
    let port: number;
    if (server === 'http2') {
      port = (await serve({ services: [services()] })).port;
    } else {
      const grpcServer = new grpc.Server();
      const binding = services();
      grpcServer.addService(binding.definition as unknown as grpc.ServiceDefinition, {
        [Object.keys(binding.definition)[0]!]: (_call: unknown, callback: grpc.sendUnaryData<object>) =>
          callback(null, reply),
      });
      port = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error === null ? resolve(bound) : reject(error),
        ),
      );
      running.push(async () => grpcServer.forceShutdown());
    }
    const answer = await rawRequest(session(port), { ':path': path }, frame(Buffer.alloc(0)));
    expect(statusOf(answer)).toBe(0);
    return answer.data;
  }

  const CHECK_REPLIES = [
    {
      status: { code: 0, message: '' },
      okResponse: {
        headers: [{ header: { key: 'x-user', value: 'alice' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        headersToRemove: ['authorization'],
        responseHeadersToAdd: [{ header: { key: 'x-ratelimit-remaining', value: '9' }, append: { value: false } }],
        queryParametersToSet: [{ key: 'k', value: 'v' }],
        queryParametersToRemove: ['token'],
      },
      dynamicMetadata: { fields: { decision: { stringValue: 'allow' }, score: { numberValue: -0.25 } } },
    },
    {
      status: { code: 7, message: 'denied by policy' },
      deniedResponse: {
        status: { code: 'Forbidden' },
        headers: [{ header: { key: 'content-type', value: 'application/problem+json' } }],
        body: '{"title":"Forbidden"}',
      },
      dynamicMetadata: { fields: {} },
    },
    {},
  ];

  it('are the same CheckResponse frames as grpc-js writes for the same handler result', async () => {
    for (const reply of CHECK_REPLIES) {
      const services = (): ServiceBinding => ({
        definition: { Check: loadProtos().authorization['Check']! },
        handlers: {},
      });
      const fromGrpcJs = await answerBytes('grpc-js', CHECK_PATH, reply, services);
      const ours = await serve({ check: () => Promise.resolve({ message: reply }) });
      const fromHttp2 = (await rawRequest(session(ours.port), {}, frame(Buffer.alloc(0)))).data;
      expect(fromHttp2.toString('hex'), JSON.stringify(reply)).toBe(fromGrpcJs.toString('hex'));
      expect(fromHttp2.length).toBeGreaterThan(4);
    }
  });

  it('are the same RateLimitResponse frames as grpc-js writes for the same handler result', async () => {
    const reply = {
      overallCode: 'OVER_LIMIT',
      statuses: [
        {
          code: 'OVER_LIMIT',
          currentLimit: { name: 'per-ip', requestsPerUnit: 10, unit: 'MINUTE' },
          limitRemaining: 0,
          durationUntilReset: { seconds: '42', nanos: 5 },
        },
        { code: 'OK', limitRemaining: 7 },
      ],
      responseHeadersToAdd: [{ key: 'ratelimit-limit', value: '10' }],
    };
    const rls = loadRateLimitProtos();
    const http2Services = (): ServiceBinding => ({
      definition: rls,
      handlers: { ShouldRateLimit: unary(() => Promise.resolve({ message: reply })) },
    });
    const fromGrpcJs = await answerBytes('grpc-js', RLS_PATH, reply, () => ({
      definition: { ShouldRateLimit: rls['ShouldRateLimit']! },
      handlers: { ShouldRateLimit: unary(() => Promise.resolve(ALLOW)) },
    }));
    const fromHttp2 = await answerBytes('http2', RLS_PATH, reply, http2Services);
    expect(fromHttp2.toString('hex')).toBe(fromGrpcJs.toString('hex'));
    expect(fromHttp2.length).toBeGreaterThan(20);
  });
});

function createTestClientWith(port: number, options: grpc.ChannelOptions) {
  // checkClient.ts builds its clients without channel options; a generic client carries them.
  const channel = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
  running.push(async () => channel.close());
  const method = loadProtos().authorization['Check']!;
  return {
    check: (request: unknown) =>
      new Promise<{ status?: { code?: number } }>((resolve, reject) =>
        channel.makeUnaryRequest(
          CHECK_PATH,
          (value: object) => method.requestSerialize(value),
          (bytes: Buffer) => method.responseDeserialize(bytes) as { status?: { code?: number } },
          request as object,
          (error, response) => (error ? reject(error) : resolve(response!)),
        ),
      ),
  };
}
