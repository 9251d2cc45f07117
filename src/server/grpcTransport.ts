// gRPC on node:http2: the sockets grpcListener.ts accepted (TLS already terminated) become HTTP/2 sessions;
// each request stream is routed by `:path` to a registered method, its one message read (grpcFraming.ts),
// decompressed if need be (grpcCompression.ts), decoded, handed to the handler, and the answer written as
// HEADERS + DATA + trailers (`grpc-status`), or trailers only for an error. Connection lifetimes are
// grpcSessionLimits.ts's. No gRPC library: for unary calls on a trusted loopback this is all of gRPC the
// sidecar needs, and it costs a third less CPU per check than grpc-js (README, "Benchmarks").
import {
  constants,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { decompressMessage } from './grpcCompression.js';
import {
  ACCEPTED_ENCODINGS,
  GrpcStatus,
  SingleMessageReader,
  encodeGrpcMessage,
  frameMessage,
  framingError,
  isGrpcProtoContentType,
  messageEncoding,
  parseGrpcTimeout,
  type GrpcError,
  type MessageEncoding,
} from './grpcFraming.js';
import { unimplemented, type CallContext, type Route, type ServerStream, type UnaryReply } from './grpcService.js';
import { limitSessionLifetime, type ConnectionSettings, type SessionActivity } from './grpcSessionLimits.js';

export interface GrpcTransport {
  /** Takes an accepted socket (a TLSSocket once its handshake is done) as a new HTTP/2 connection. */
  accept(socket: Socket): void;
  /** open HTTP/2 sessions */
  sessions(): number;
  /**
   * GOAWAY to every session (no new calls; the ones in flight go on), then waits for them to finish up to
   * graceMs and destroys what is left. Resolves true when everything finished in time.
   */
  shutdown(graceMs: number): Promise<boolean>;
}

export interface TransportOptions {
  routes: ReadonlyMap<string, Route>;
  maxReceiveMessageBytes: number;
  connections: ConnectionSettings;
  /** What the calls of a new connection know of it, read once from its socket (a TLS peer certificate). */
  describeConnection?(socket: Socket): CallContext;
  /** A handler failed in a way that is a bug (it must answer every call itself). */
  onHandlerError(error: unknown, path: string): void;
}

/**
 * Concurrent calls per connection. grpc-js leaves it unlimited; Envoy opens more connections when a server
 * caps them, so a cap bounds what one connection can hold in memory (streams × grpc.maxReceiveMessageBytes)
 * without limiting throughput: at 250 ms per check (Envoy's ext_authz timeout) 1,000 streams are 4,000
 * checks/s on ONE connection, and Envoy keeps one or more per worker thread.
 */
export const MAX_CONCURRENT_STREAMS = 1000;

/**
 * nghttp2's memory per session, in MiB, before it refuses new streams with ENHANCE_YOUR_CALM (Node's default
 * is 10). It counts frames queued in both directions, so a burst of full streams, each with up to a flow-
 * control window (64 KiB) in and a response out, must fit: 1,000 × 80 KiB ≈ 80 MiB. Memory is bounded by the
 * stream and connection caps; this limit only has to stay out of their way.
 */
export const MAX_SESSION_MEMORY_MIB = Math.ceil((MAX_CONCURRENT_STREAMS * 80 * 1024) / (1024 * 1024));

const NO_CONTEXT: CallContext = { peer: undefined };
const RESPONSE_HEADERS: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS: OutgoingHttpHeaders = { 'grpc-status': '0' };
/**
 * Node's respond() option that skips the `date` header: nothing in gRPC reads it (typed options lack it).
 * `endStream: false` spelled out: respond() copies its options with an object spread and sets `endStream` on the
 * copy, and V8 (Node 20) gives a spread's copy a hidden class outside the transition tree, so adding a property
 * to it makes a new hidden class (a Map and its descriptors, in the old generation) on every call; setting a
 * property the copy already has makes none (README, "Garbage collection under load").
 */
const WITH_TRAILERS = { endStream: false, waitForTrailers: true, sendDate: false } as const;
const ENDS_STREAM = { endStream: true, sendDate: false } as const;

const ignore = (): void => undefined;

function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

export function createGrpcTransport(options: TransportOptions): GrpcTransport {
  const server = createServer({
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    maxSessionMemory: MAX_SESSION_MEMORY_MIB,
  });
  const sessions = new Set<ServerHttp2Session>();
  let closing = false;

  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // A peer that speaks no HTTP/2 or breaks the protocol ends its session; nothing to do beyond that.
    session.on('error', ignore);
    const activity = limitSessionLifetime(session, options.connections);
    const context = options.describeConnection?.(session.socket as unknown as Socket) ?? NO_CONTEXT;
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      startCall(stream, headers, context, activity, options),
    );
  });
  // Node's server would otherwise answer sessionError and timeouts on its own; the session handlers above do.
  server.on('sessionError', ignore);

  return {
    accept(socket) {
      if (closing) {
        socket.destroy();
        return;
      }
      server.emit('connection', socket);
    },
    sessions: () => sessions.size,
    async shutdown(graceMs) {
      closing = true;
      const open = [...sessions];
      const closed = Promise.all(open.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve()))));
      for (const session of open) session.close();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const finished = await Promise.race([closed.then(() => true), late]);
      clearTimeout(timer);
      // destroy(undefined, code): a GOAWAY with CANCEL, every open stream reset.
      if (!finished) for (const session of sessions) session.destroy(undefined, constants.NGHTTP2_CANCEL);
      return finished;
    },
  };
}

/** A request stream: checked, routed, then read and answered by a UnaryCall or StreamingCall. */
function startCall(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  context: CallContext,
  activity: SessionActivity,
  options: TransportOptions,
): void {
  // Stream errors (a reset, a broken connection) end in 'close', where the call learns it was cancelled.
  stream.on('error', ignore);
  activity.callStarted();
  const accepted = acceptCall(stream, headers, options);
  // `on`, not `once`, for the events a stream emits once ('close', 'end', 'wantTrailers'): `once` wraps each
  // listener in a bound function and removes it again when it runs, per call. A Call ends the session's
  // count of it in its own 'close' listener.
  if (accepted === undefined) stream.on('close', activity.callEnded);
  else new Call(stream, accepted.route, headers['grpc-encoding'], accepted.timeoutMs, context, activity, options);
}

/** The call's route and deadline; undefined when the stream was refused (answered already). */
function acceptCall(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: TransportOptions,
): { route: Route; timeoutMs: number | undefined } | undefined {
  if (headers[':method'] !== 'POST') {
    // gRPC is POST only; grpc-go answers other methods 405 with an INTERNAL status, and so does this.
    refuse(stream, 405, `gRPC requires POST, not ${String(headers[':method'])}`);
    return undefined;
  }
  if (!isGrpcProtoContentType(headers['content-type'])) {
    // PROTOCOL-HTTP2: a content-type that is not application/grpc is answered 415.
    refuse(stream, 415, `unsupported content-type ${JSON.stringify(headers['content-type'] ?? '')}`);
    return undefined;
  }
  const path = headers[':path'] ?? '';
  const route = options.routes.get(path);
  if (route === undefined) {
    answerError(stream, unimplemented(path));
    return undefined;
  }
  const timeoutMs = parseGrpcTimeout(headers['grpc-timeout']);
  if (timeoutMs === null) {
    answerError(stream, {
      code: GrpcStatus.INTERNAL,
      details: `Invalid grpc-timeout value "${headers['grpc-timeout']}"`,
    });
    return undefined;
  }
  return { route, timeoutMs };
}

const CALL = Symbol('portcullis.grpcCall');
type CallStream = ServerHttp2Stream & { [CALL]: Call };

function onCallData(this: CallStream, chunk: Buffer): void {
  this[CALL].onData(chunk);
}

function onCallEnd(this: CallStream): void {
  this[CALL].onEnd();
}

function onCallClose(this: CallStream): void {
  this[CALL].onClose();
}

/** One call from its request's first DATA to its trailers; a response is written at most once. */
class Call {
  /** until the request ends; then dropped, with the request's bytes, while the call waits for its answer */
  private reader: SingleMessageReader | undefined;
  private deadline: NodeJS.Timeout | undefined;
  /** the answer (or a failure) has been sent or the client went away: nothing more is written */
  private finished = false;
  private cancelListeners: Array<() => void> | undefined;
  private readonly encoding: MessageEncoding | null;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly route: Route,
    /** `grpc-encoding`: how compressed messages are compressed */
    private readonly encodingHeader: string | string[] | undefined,
    timeoutMs: number | undefined,
    private readonly context: CallContext,
    private readonly activity: SessionActivity,
    private readonly options: TransportOptions,
  ) {
    this.encoding = messageEncoding(encodingHeader);
    this.reader = new SingleMessageReader(options.maxReceiveMessageBytes);
    // Shared listeners that find the call on its stream: no closures per call (held while the call is open).
    (stream as CallStream)[CALL] = this;
    stream.on('data', onCallData);
    stream.on('end', onCallEnd);
    stream.on('close', onCallClose);
    // Timers longer than Node's (24.8 days) fire at once: such a deadline is no deadline.
    if (timeoutMs !== undefined && timeoutMs < 2 ** 31 - 1) {
      this.deadline = setTimeout(
        () => this.fail({ code: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }),
        timeoutMs,
      );
    }
  }

  onData(chunk: Buffer): void {
    if (this.finished) return;
    const problem = this.reader!.push(chunk);
    if (problem !== undefined) this.fail(framingError(problem, this.route.method.path));
  }

  onEnd(): void {
    if (this.finished) return;
    const read = this.reader!.end();
    this.reader = undefined;
    if ('kind' in read) {
      this.fail(framingError(read, this.route.method.path));
      return;
    }
    if (!read.compressed) {
      this.decoded(read.bytes);
      return;
    }
    if (this.encoding === 'identity') {
      this.fail({ code: GrpcStatus.INTERNAL, details: 'Compressed message without grpc-encoding' });
    } else if (this.encoding === null) {
      this.fail(
        {
          code: GrpcStatus.UNIMPLEMENTED,
          details: `Received message compressed with unsupported encoding "${String(this.encodingHeader)}"`,
        },
        { 'grpc-accept-encoding': ACCEPTED_ENCODINGS },
      );
    } else {
      void decompressMessage(read.bytes, this.encoding, this.options.maxReceiveMessageBytes).then((result) =>
        'code' in result ? this.fail(result) : this.decoded(result),
      );
    }
  }

  private decoded(bytes: Buffer): void {
    if (this.finished) return;
    let request: object;
    try {
      request = this.route.method.requestDeserialize(bytes);
    } catch {
      // What grpc-js answers (without GRPC_NODE_VERBOSITY's detail): the client sent bytes that are no message.
      this.fail({ code: GrpcStatus.INTERNAL, details: 'Error deserializing request' });
      return;
    }
    const handler = this.route.handler;
    if (handler.kind === 'serverStream') {
      handler.handle(request, this.serverStream(), this.context);
      return;
    }
    handler.handle(request, this.context).then(
      (value) => {
        // A reply mapping that throws is a bug like a rejecting handler: INTERNAL, not an unhandled rejection.
        let reply: UnaryReply;
        try {
          reply = handler.reply(value);
        } catch (error) {
          this.handlerFailed(error);
          return;
        }
        this.replied(reply);
      },
      (error: unknown) => {
        if (handler.recover !== undefined) this.replied(handler.recover(error));
        else this.handlerFailed(error);
      },
    );
  }

  private handlerFailed(error: unknown): void {
    this.options.onHandlerError(error, this.route.method.path);
    this.fail({ code: GrpcStatus.INTERNAL, details: 'Internal server error' });
  }

  private replied(reply: UnaryReply): void {
    if ('error' in reply) this.fail(reply.error);
    else this.answer(reply.message);
  }

  /** A unary answer: HEADERS, one DATA with the message, trailers with OK. */
  private answer(message: object): void {
    if (!this.finish()) return;
    let framed: Buffer;
    try {
      const method = this.route.method;
      framed =
        method.responseFrame === undefined
          ? frameMessage(method.responseSerialize(message))
          : method.responseFrame(message);
    } catch (error) {
      this.options.onHandlerError(error, this.route.method.path);
      answerError(this.stream, { code: GrpcStatus.INTERNAL, details: 'Error serializing response' });
      return;
    }
    const stream = this.stream;
    stream.respond(RESPONSE_HEADERS, WITH_TRAILERS);
    stream.on('wantTrailers', sendOkTrailers);
    stream.end(framed);
  }

  private fail(error: GrpcError, extraHeaders?: OutgoingHttpHeaders): void {
    if (this.stream.headersSent) {
      // A streaming call already answered HEADERS: the status goes in its trailers.
      if (!this.finish()) return;
      this.stream.once('wantTrailers', () => this.stream.sendTrailers(statusTrailers(error)));
      this.stream.end();
      return;
    }
    if (!this.finish()) return;
    answerError(this.stream, error, extraHeaders);
  }

  /** Marks the call answered; false when it already was or the client is gone. */
  private finish(): boolean {
    if (this.finished || this.stream.closed || this.stream.destroyed) {
      this.finished = true;
      return false;
    }
    this.finished = true;
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    return true;
  }

  onClose(): void {
    this.activity.callEnded();
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.finished = true;
    const listeners = this.cancelListeners;
    this.cancelListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }

  private serverStream(): ServerStream {
    const stream = this.stream;
    const open = (): boolean => {
      if (this.finished || stream.closed || stream.destroyed) return false;
      if (!stream.headersSent) stream.respond(RESPONSE_HEADERS, WITH_TRAILERS);
      return true;
    };
    return {
      write: (message) => {
        if (open()) stream.write(frameMessage(this.route.method.responseSerialize(message)));
      },
      end: () => {
        if (!open() || !this.finish()) return;
        this.cancelListeners = undefined;
        stream.once('wantTrailers', sendOkTrailers);
        stream.end();
      },
      onCancel: (listener) => {
        if (this.finished) return;
        (this.cancelListeners ??= []).push(listener);
      },
    };
  }
}

function statusTrailers(error: GrpcError): OutgoingHttpHeaders {
  return { 'grpc-status': String(error.code), 'grpc-message': encodeGrpcMessage(error.details) };
}

/**
 * Trailers-only: the status in the one HEADERS frame, which ends the response. A request still sending
 * (an oversized message) is then reset with NO_ERROR, as HTTP/2 has a server do when it answered early, so
 * the rest of its body is neither read nor buffered.
 */
function answerError(stream: ServerHttp2Stream, error: GrpcError, extraHeaders?: OutgoingHttpHeaders): void {
  if (stream.closed || stream.destroyed) return;
  stream.respond({ ...RESPONSE_HEADERS, ...statusTrailers(error), ...extraHeaders }, ENDS_STREAM);
  if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
}

/** An HTTP-level refusal (not a gRPC request): the HTTP status, with a gRPC status for gRPC clients. */
function refuse(stream: ServerHttp2Stream, httpStatus: number, details: string): void {
  if (stream.closed || stream.destroyed) return;
  stream.respond(
    {
      ':status': httpStatus,
      'content-type': 'application/grpc',
      ...statusTrailers({ code: GrpcStatus.INTERNAL, details }),
    },
    ENDS_STREAM,
  );
  if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
}
