// The TCP listener in front of the gRPC server. It owns the socket: it accepts at most `maxConnections` at a
// time (Node refuses the rest at accept, before any HTTP/2 work) and hands each accepted socket to the HTTP/2
// transport (grpcTransport.ts), which applies idle, age and keepalive limits to the session.
// The cap is kept below the process's open-file limit so the admin port, Redis and policy reloads still get
// descriptors when gRPC is saturated: /healthz must answer exactly then.
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TlsOptions } from 'node:tls';

export interface GrpcListener {
  port: number;
  /** the cap in force (the configured one, lowered to leave descriptor headroom) */
  maxConnections: number;
  connections(): number;
  /** Stops accepting; open connections are left to the gRPC server's shutdown. */
  close(): void;
  /** TLS only: new connections use this certificate (open ones keep theirs). */
  setSecureContext(options: SecureContextOptions): void;
}

/** Descriptors kept free for everything that is not a gRPC connection (admin, Redis, files, DNS, JWKS). */
export const DESCRIPTOR_HEADROOM = 256;

/** The configured cap, lowered to leave `headroom` descriptors under the soft open-file limit when known. */
export function connectionCap(
  configured: number,
  openFileLimit: number | undefined,
  headroom = DESCRIPTOR_HEADROOM,
): number {
  if (openFileLimit === undefined) return configured;
  return Math.max(1, Math.min(configured, openFileLimit - headroom));
}

/** The soft `Max open files` limit from /proc/self/limits (Linux); undefined elsewhere or when unlimited. */
export async function openFileLimit(): Promise<number | undefined> {
  const text = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const match = /^Max open files\s+(\d+)/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** `host:port` or `[v6]:port` as the schema accepts it. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

export async function listenForGrpc(options: {
  address: string;
  maxConnections: number;
  accept(socket: Socket): void;
  onRefused(): void;
  onConnections?(open: number): void;
  /**
   * TLS terminates here: the transport gets the decrypted stream, so the connection cap still counts TCP sockets
   * (before any handshake work) and a rotated certificate can be swapped in for new connections.
   */
  tls?: TlsOptions;
  /** a client failed the handshake (no or a wrong client certificate, an old TLS version) */
  onTlsError?(error: Error): void;
}): Promise<GrpcListener> {
  let open = 0;
  const count = (socket: Socket): void => {
    open += 1;
    options.onConnections?.(open);
    socket.once('close', () => {
      open -= 1;
      options.onConnections?.(open);
    });
  };
  let server: Server;
  if (options.tls === undefined) {
    server = createServer({ noDelay: true }, (socket) => {
      count(socket);
      options.accept(socket);
    });
  } else {
    const tlsServer = createTlsServer({ noDelay: true, ...options.tls, ALPNProtocols: ['h2'] }, (socket) =>
      options.accept(socket),
    );
    tlsServer.on('connection', count);
    tlsServer.on('tlsClientError', (error) => options.onTlsError?.(error));
    server = tlsServer;
  }
  server.maxConnections = options.maxConnections;
  // Node closes a socket accepted past maxConnections and reports it here.
  server.on('drop', () => options.onRefused());
  const { host, port } = splitAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
    maxConnections: options.maxConnections,
    connections: () => open,
    setSecureContext: (context) => {
      if (!('setSecureContext' in server)) throw new Error('the gRPC listener has no TLS to reload');
      (server as import('node:tls').Server).setSecureContext(context);
    },
    close: () => {
      // server.close() calls back only when every connection has ended; the gRPC shutdown ends them.
      server.close();
    },
  };
}
