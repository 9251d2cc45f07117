// Whether the Check port is reachable from outside the host (or pod) without TLS. Check answers "is this
// token valid, may this request pass" and spends rate-limit budgets, so a plaintext Check on a routable
// address is an oracle for stolen tokens: start-up warns about it (it stays allowed, e.g. inside a compose
// network, where the warning names what to change).
import { isIP } from 'node:net';
import { splitHostPort } from './adminServer.js';

/** localhost, 127.0.0.0/8, ::1 and IPv4-mapped loopback; `0.0.0.0`, `::` and every other address are not. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare) || /^(0+:){7}0*1$/.test(bare);
  return false;
}

/** `grpc.tls` (or `admin.tls`) is set: the listener terminates TLS (src/server/tlsFiles.ts). */
export function grpcTlsConfigured(listener: { tls?: unknown }): boolean {
  return listener.tls !== undefined && listener.tls !== null;
}

/** The warning to log at start-up, or null when the Check port is loopback-only or uses TLS. */
export function plaintextExposureWarning(grpc: { address: string; tls?: unknown }): string | null {
  const { host } = splitHostPort(grpc.address);
  if (isLoopbackHost(host) || grpcTlsConfigured(grpc)) return null;
  return (
    `grpc.address ${grpc.address} is reachable beyond this host without TLS: anyone who reaches it can ask Check ` +
    'whether a token is valid and spend rate-limit budgets. Bind 127.0.0.1 (a sidecar shares its pod with Envoy) ' +
    'or configure grpc.tls'
  );
}

/**
 * The admin port listens on every interface by default so the kubelet's probes and Prometheus reach the pod IP;
 * but in plaintext it also shows the loaded policy, the metrics and (with admin.token set) carries the token
 * in every denylist or override call. Start-up says so, naming the fix. Null on loopback or with admin.tls.
 */
export function adminExposureWarning(admin: {
  address: string;
  token?: string | undefined;
  tls?: unknown;
}): string | null {
  const { host } = splitHostPort(admin.address);
  if (isLoopbackHost(host) || grpcTlsConfigured(admin)) return null;
  const token =
    admin.token === undefined
      ? ''
      : ' and admin.token is set: the token travels in plaintext with every /v1/denylist and /v1/overrides call';
  return (
    `admin.address ${admin.address} is reachable beyond this host without TLS${token}. ` +
    'Probes and metrics work either way; to encrypt the API configure admin.tls, or keep the network path private'
  );
}
