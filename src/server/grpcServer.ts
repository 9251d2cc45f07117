// The gRPC shell: decodes with Envoy's protos, hands the request to the check pipeline, encodes the answer.
import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { DecodedCheckRequest } from '../input/checkRequest.js';
import { buildDenyResponse, isCallError } from '../response/buildCheckResponse.js';
import type { CheckPipeline } from './pipeline.js';
import type { HealthState } from './health.js';
import { DESCRIPTOR_HEADROOM, connectionCap, listenForGrpc, openFileLimit } from './grpcListener.js';
import { loadProtos } from './protos.js';

export interface GrpcShell {
  port: number;
  /** open gRPC connections */
  connections(): number;
  /** Stops accepting, lets in-flight checks finish (up to graceMs), then closes. */
  shutdown(graceMs: number): Promise<void>;
  /** grpc.tls only: new connections use this certificate (a rotation), open ones keep theirs */
  setSecureContext(options: SecureContextOptions): void;
}

/** How long connections may live and how many may be open (`grpc.*` of the config); 0 turns a limit off. */
export interface ConnectionSettings {
  maxConnections: number;
  maxConnectionIdleSeconds: number;
  maxConnectionAgeSeconds: number;
  maxConnectionAgeGraceSeconds: number;
  keepaliveSeconds: number;
  keepaliveTimeoutSeconds: number;
}

/** grpc-js channel options for the connection lifetimes: idle and aged connections get a GOAWAY. */
export function connectionOptions(settings: ConnectionSettings): grpc.ServerOptions {
  const ms = (seconds: number): number | undefined => (seconds > 0 ? Math.round(seconds * 1000) : undefined);
  const options: grpc.ServerOptions = {};
  const set = (key: string, value: number | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('grpc.max_connection_idle_ms', ms(settings.maxConnectionIdleSeconds));
  set('grpc.max_connection_age_ms', ms(settings.maxConnectionAgeSeconds));
  set('grpc.max_connection_age_grace_ms', ms(settings.maxConnectionAgeGraceSeconds));
  // Pings find peers that vanished without closing (a half-open connection holds a descriptor forever).
  set('grpc.keepalive_time_ms', ms(settings.keepaliveSeconds));
  set('grpc.keepalive_timeout_ms', ms(settings.keepaliveTimeoutSeconds));
  return options;
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
  services?: ReadonlyArray<{ definition: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation }>;
  /** grpc.tls: certificate, key and client-certificate options; the listener terminates TLS */
  tls?: TlsOptions;
}): Promise<GrpcShell> {
  const protos = loadProtos();
  /** verified client certificates by `address:port` of their open connection (grpc.tls with a client CA) */
  const peers = new Map<string, PeerIdentity>();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    ...connectionOptions(options.connections),
  });
  server.addService(protos.authorization, {
    Check(call: grpc.ServerUnaryCall<DecodedCheckRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      // mTLS: the client certificate verified when its connection was accepted, found by the peer address.
      const peer = peers.size === 0 ? undefined : peers.get(call.getPeer());
      options.check(call.request, peer === undefined ? undefined : { peer }).then(
        (answer) =>
          isCallError(answer)
            ? callback({ code: answer.grpcError.code, details: answer.grpcError.message })
            : callback(null, answer),
        (error: unknown) => {
          // The pipeline answers every failure itself; this is the last guard that keeps a check an answer.
          options.logger.error({ err: error }, 'check pipeline threw');
          callback(
            null,
            buildDenyResponse({ decisionId: '', reason: 'internal_error', headers: [], dynamicMetadata: {} }),
          );
        },
      );
    },
  });
  server.addService(protos.health, options.health.handlers);
  for (const service of options.services ?? []) server.addService(service.definition, service.handlers);
  // grpc-js cannot cap connections: the listener accepts (up to the cap) and injects sockets into it.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
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
    accept: (socket) => {
      // mTLS: the verified client (Envoy) is logged once per connection; Envoy keeps a few long-lived ones.
      if (options.tls?.requestCert === true) rememberPeer(options.logger, socket as TLSSocket, peers);
      injector.injectConnection(socket);
    },
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
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          options.logger.warn({ graceMs }, 'in-flight checks did not finish in time; closing anyway');
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
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

/** A verified client certificate: its subject, its SANs as Node prints them, and its URI SANs (a SPIFFE id). */
export interface PeerIdentity {
  subject: string;
  san: string | undefined;
  uris: string[];
}

/** The verified client certificate's identity (null for an unverified one, which is never logged). */
export function peerIdentity(socket: TLSSocket): PeerIdentity | null {
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  const subject = Object.entries(cert.subject ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(',');
  return { subject, san: cert.subjectaltname, uris: uriSans(cert.subjectaltname) };
}

/**
 * The URI entries of Node's `subjectaltname` (`DNS:a, URI:spiffe://td/ns/x/sa/y, IP Address:…`); Node quotes
 * an entry holding a comma or quote as a JSON string.
 */
export function uriSans(san: string | undefined): string[] {
  if (san === undefined) return [];
  const uris: string[] = [];
  for (const match of san.matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1] as string;
    try {
      uris.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
    } catch {
      uris.push(value);
    }
  }
  return uris;
}

/** Logs the client once per connection and keeps its identity for the decision log until the connection closes. */
function rememberPeer(logger: Logger, socket: TLSSocket, peers: Map<string, PeerIdentity>): void {
  const peer = peerIdentity(socket);
  const remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
  if (peer === null) {
    logger.info({ remote }, 'gRPC client connected over TLS without a verified certificate');
    return;
  }
  logger.info({ remote, peer }, 'gRPC client certificate verified');
  // The key grpc-js's call.getPeer() gives for the same socket.
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return;
  const key = `${socket.remoteAddress}:${socket.remotePort}`;
  peers.set(key, peer);
  socket.once('close', () => peers.delete(key));
}
