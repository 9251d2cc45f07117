// What a gRPC service is to the transport: its methods as protos.ts makes them from proto/ (path, streaming
// shape, protobufjs (de)serializers), and the handlers the sidecar registers for them. The transport
// (grpcTransport.ts) routes a request's `:path` through the table built here.
import { GrpcStatus, type GrpcError } from './grpcFraming.js';
import type { PeerIdentity } from './peerIdentity.js';

/** One method of a proto service (the shape @grpc/proto-loader gives it, so the tests compare the two). */
export interface MethodDefinition {
  /** `/package.Service/Method` */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: object): Buffer;
  requestDeserialize(bytes: Buffer): object;
  responseSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): object;
  /** The response as one gRPC frame (prefix and message in one buffer), where a method has a writer for it. */
  responseFrame?(value: object): Buffer;
  /** proto-loader's lowerCamelCase method name */
  originalName: string;
}

export type ServiceDefinition = Readonly<Record<string, MethodDefinition>>;

/** What a call knows of its connection: the verified client certificate (grpc.tls with a client CA). */
export interface CallContext {
  readonly peer: PeerIdentity | undefined;
}

/** A unary method's answer: a response message, or a status other than OK. */
export type UnaryReply = { message: object } | { error: GrpcError };

export interface UnaryHandler {
  kind: 'unary';
  /** Must not reject unless `recover` is given; a rejection is answered INTERNAL and reported as a bug. */
  handle(request: object, call: CallContext): Promise<unknown>;
  /**
   * The answer for what `handle` resolved with (for unary(), the answer itself). A mapping here rather than a
   * `then` of the handler's own: one promise, and its closures, fewer per call while the call waits.
   */
  reply(value: unknown): UnaryReply;
  /** The answer when `handle` rejects, instead of INTERNAL. */
  recover?(error: unknown): UnaryReply;
}

/** The response side of a server-streaming call (grpc.health.v1 Health/Watch). */
export interface ServerStream {
  write(message: object): void;
  /** Ends the call with OK. */
  end(): void;
  /** Runs once when the client cancels or the connection goes; nothing is written afterwards. */
  onCancel(listener: () => void): void;
}

export interface ServerStreamHandler {
  kind: 'serverStream';
  handle(request: object, stream: ServerStream, call: CallContext): void;
}

export type MethodHandler = UnaryHandler | ServerStreamHandler;

/** A service with handlers by method name; a method without one answers UNIMPLEMENTED, as in grpc-js. */
export interface ServiceBinding {
  definition: ServiceDefinition;
  handlers: Readonly<Record<string, MethodHandler>>;
}

const sameReply = (reply: unknown): UnaryReply => reply as UnaryReply;

/** A unary handler over requests of type T (the type the method's proto decodes to). */
export function unary<T extends object>(handle: (request: T, call: CallContext) => Promise<UnaryReply>): UnaryHandler {
  return { kind: 'unary', handle: handle as UnaryHandler['handle'], reply: sameReply };
}

/**
 * A unary handler whose `handle` resolves with a value of its own, answered as `reply` maps it; a rejection is
 * answered as `recover` says.
 */
export function mappedUnary<T extends object, V>(
  handle: (request: T, call: CallContext) => Promise<V>,
  reply: (value: V) => UnaryReply,
  recover: (error: unknown) => UnaryReply,
): UnaryHandler {
  return {
    kind: 'unary',
    handle: handle as UnaryHandler['handle'],
    reply: reply as UnaryHandler['reply'],
    recover,
  };
}

export function serverStream<T extends object>(
  handle: (request: T, stream: ServerStream, call: CallContext) => void,
): ServerStreamHandler {
  return { kind: 'serverStream', handle: handle as ServerStreamHandler['handle'] };
}

export interface Route {
  method: MethodDefinition;
  handler: MethodHandler;
}

/**
 * `:path` → method and handler. A handler for a method the proto does not have, or of the wrong shape, is a
 * programming error and stops start-up; client-streaming methods are not served (no service here has one).
 */
export function routeTable(services: readonly ServiceBinding[]): ReadonlyMap<string, Route> {
  const routes = new Map<string, Route>();
  for (const { definition, handlers } of services) {
    for (const [name, handler] of Object.entries(handlers)) {
      const method = definition[name];
      if (method === undefined) throw new Error(`gRPC handler ${name} has no method in its service definition`);
      const kind = method.requestStream ? 'clientStream' : method.responseStream ? 'serverStream' : 'unary';
      if (kind !== handler.kind) throw new Error(`gRPC method ${method.path} is ${kind}, its handler ${handler.kind}`);
      if (routes.has(method.path)) throw new Error(`gRPC method ${method.path} is registered twice`);
      routes.set(method.path, { method, handler });
    }
  }
  return routes;
}

/** grpc-js's answer for a path no service serves. */
export function unimplemented(path: string): GrpcError {
  return { code: GrpcStatus.UNIMPLEMENTED, details: `The server does not implement the method ${path}` };
}
