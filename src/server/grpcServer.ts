// The gRPC shell: the listener (connection cap, TLS) feeds the HTTP/2 transport, which serves ext_authz Check,
// grpc.health.v1 and any further service (the rate limit service) from Envoy's protos; Check goes to the
// check pipeline.
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { DecodedCheckRequest } from '../input/checkRequest.js';
import { decodeCheckRequest } from '../input/decodeCheckRequest.js';
import {
  buildDenyResponse,
  isCallError,
  type CheckAnswer,
  type CheckResponseMessage,
} from '../response/buildCheckResponse.js';
import { encodeCheckResponse, encodeCheckResponseFrame } from '../response/encodeCheckResponse.js';
import type { CheckPipeline } from './pipeline.js';
import type { HealthState } from './health.js';
import { DESCRIPTOR_HEADROOM, connectionCap, listenForGrpc, openFileLimit } from './grpcListener.js';
import { loadProtos } from './protos.js';
import {
  mappedUnary,
  routeTable,
  type CallContext,
  type ServiceBinding,
  type ServiceDefinition,
} from './grpcService.js';
import type { ConnectionSettings } from './grpcSessionLimits.js';
import { createGrpcTransport } from './grpcTransport.js';
import { peerIdentity } from './peerIdentity.js';

export type { ConnectionSettings } from './grpcSessionLimits.js';
export { peerIdentity, uriSans, type PeerIdentity } from './peerIdentity.js';

export interface GrpcShell {
  port: number;
  /** open gRPC connections */
  connections(): number;
  /** Stops accepting, lets in-flight checks finish (up to graceMs), then closes. */
  shutdown(graceMs: number): Promise<void>;
  /** grpc.tls only: new connections use this certificate (a rotation), open ones keep theirs */
  setSecureContext(options: SecureContextOptions): void;
}

export async function startGrpcServer(options: {
  address: string;
  maxReceiveMessageBytes: number;
  connections: ConnectionSettings;
  check: CheckPipeline;
  health: HealthState;
  logger: Logger;
  /** a connection refused because grpc.maxConnections were open */
  onConnectionRefused?: () => void;
  /** the number of open connections, after each change */
  onConnections?: (open: number) => void;
  /** further services on the same port (the rate limit service) */
  services?: readonly ServiceBinding[];
  /** grpc.tls: certificate, key and client-certificate options; the listener terminates TLS */
  tls?: TlsOptions;
}): Promise<GrpcShell> {
  const protos = loadProtos();
  const check = mappedUnary<DecodedCheckRequest, CheckAnswer>(
    (request, call) => options.check(request, call.peer === undefined ? undefined : { peer: call.peer }),
    (answer) =>
      isCallError(answer)
        ? { error: { code: answer.grpcError.code, details: answer.grpcError.message } }
        : { message: answer },
    (error: unknown) => {
      // The pipeline answers every failure itself; this is the last guard that keeps a check an answer.
      options.logger.error({ err: error }, 'check pipeline threw');
      return {
        message: buildDenyResponse({ decisionId: '', reason: 'internal_error', headers: [], dynamicMetadata: {} }),
      };
    },
  );
  const transport = createGrpcTransport({
    routes: routeTable([
      { definition: withCheckCodec(protos.authorization), handlers: { Check: check } },
      { definition: protos.health, handlers: options.health.handlers },
      ...(options.services ?? []),
    ]),
    maxReceiveMessageBytes: options.maxReceiveMessageBytes,
    connections: options.connections,
    // mTLS: the client certificate verified at the handshake, read once per connection from its socket.
    ...(options.tls?.requestCert === true
      ? { describeConnection: (socket: Socket) => describePeer(options.logger, socket as TLSSocket) }
      : {}),
    onHandlerError: (error, path) => options.logger.error({ err: error, path }, 'gRPC handler failed'),
  });
  const maxConnections = connectionCap(options.connections.maxConnections, await openFileLimit());
  if (maxConnections < options.connections.maxConnections) {
    options.logger.warn(
      { configured: options.connections.maxConnections, maxConnections, headroom: DESCRIPTOR_HEADROOM },
      'grpc.maxConnections lowered to leave descriptors for the admin port under the open-file limit (ulimit -n)',
    );
  }
  const refusals = refusalReporter(options.logger, maxConnections);
  const listener = await listenForGrpc({
    address: options.address,
    maxConnections,
    accept: (socket) => transport.accept(socket),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    onTlsError: (error) => options.logger.debug({ err: error }, 'gRPC TLS handshake failed'),
    onConnections: (open) => options.onConnections?.(open),
    onRefused: () => {
      options.onConnectionRefused?.();
      refusals.refused();
    },
  });
  return {
    port: listener.port,
    connections: () => listener.connections(),
    setSecureContext: (context) => listener.setSecureContext(context),
    async shutdown(graceMs) {
      listener.close();
      refusals.stop();
      options.health.setServing(false);
      options.health.endWatches();
      if (!(await transport.shutdown(graceMs))) {
        options.logger.warn({ graceMs }, 'in-flight checks did not finish in time; closing anyway');
      }
    },
  };
}

/**
 * The Authorization service with Check's requests read by decodeCheckRequest (protobufjs decodes what it leaves)
 * and its answers written by encodeCheckResponse: the same objects and bytes as protobufjs's, without the
 * message object per field and the copies it makes on the way.
 */
export function withCheckCodec(service: ServiceDefinition): ServiceDefinition {
  const method = service['Check'];
  if (method === undefined) throw new Error('proto service envoy.service.auth.v3.Authorization has no Check method');
  const protobufjs = method.requestDeserialize;
  return {
    ...service,
    Check: {
      ...method,
      requestDeserialize: (bytes) => decodeCheckRequest(bytes) ?? protobufjs(bytes),
      responseSerialize: (value) => encodeCheckResponse(value as CheckResponseMessage),
      responseFrame: (value) => encodeCheckResponseFrame(value as CheckResponseMessage),
    },
  };
}

/** One warning at the first refused connection, then one count per 10 s: a flood must not flood the log. */
function refusalReporter(logger: Logger, maxConnections: number): { refused(): void; stop(): void } {
  let more = 0;
  let window: NodeJS.Timeout | undefined;
  return {
    refused() {
      if (window !== undefined) {
        more += 1;
        return;
      }
      logger.warn({ maxConnections }, 'gRPC connection refused: grpc.maxConnections connections are open');
      window = setTimeout(() => {
        window = undefined;
        if (more > 0) logger.warn({ refused: more, maxConnections }, 'more gRPC connections refused in the last 10 s');
        more = 0;
      }, 10_000);
      window.unref();
    },
    stop() {
      if (window !== undefined) clearTimeout(window);
    },
  };
}

/** Logs the client once per connection (Envoy keeps a few long-lived ones); its identity goes with each call. */
function describePeer(logger: Logger, socket: TLSSocket): CallContext {
  const peer = peerIdentity(socket);
  const remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
  if (peer === null) {
    logger.info({ remote }, 'gRPC client connected over TLS without a verified certificate');
    return { peer: undefined };
  }
  logger.info({ remote, peer }, 'gRPC client certificate verified');
  return { peer };
}
