// grpc.health.v1.Health: "" (the whole server) and the Authorization service report SERVING while the
// sidecar accepts checks, NOT_SERVING once it drains, so load balancers stop sending before it exits.
import { GrpcStatus } from './grpcFraming.js';
import { serverStream, unary, type MethodHandler, type ServerStream } from './grpcService.js';

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthCheckRequest {
  service?: string;
}

export interface HealthState {
  setServing(serving: boolean): void;
  statusOf(service: string): ServingStatus;
  /** Stops every Watch stream (at shutdown, so the server can drain). */
  endWatches(): void;
  handlers: Readonly<Record<string, MethodHandler>>;
}

export function createHealthState(): HealthState {
  const known = new Set(['', AUTHORIZATION_SERVICE]);
  let serving = true;
  const watchers = new Set<{ service: string; stream: ServerStream }>();

  const statusOf = (service: string): ServingStatus =>
    known.has(service) ? (serving ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN';

  const handlers = {
    Check: unary<HealthCheckRequest>((request) => {
      const service = request.service ?? '';
      return Promise.resolve(
        known.has(service)
          ? { message: { status: statusOf(service) } }
          : { error: { code: GrpcStatus.NOT_FOUND, details: `unknown service ${service}` } },
      );
    }),
    List: unary(() => {
      const statuses = Object.fromEntries([...known].map((s) => [s, { status: statusOf(s) }]));
      return Promise.resolve({ message: { statuses } });
    }),
    Watch: serverStream<HealthCheckRequest>((request, stream) => {
      const watcher = { service: request.service ?? '', stream };
      watchers.add(watcher);
      stream.write({ status: statusOf(watcher.service) });
      stream.onCancel(() => watchers.delete(watcher));
    }),
  };

  return {
    handlers,
    statusOf,
    setServing(next) {
      if (next === serving) return;
      serving = next;
      for (const w of watchers) w.stream.write({ status: statusOf(w.service) });
    },
    endWatches() {
      for (const w of watchers) w.stream.end();
      watchers.clear();
    },
  };
}
