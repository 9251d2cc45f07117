// grpc.health.v1.Health: "" (the whole server) and the Authorization service report SERVING while the
// sidecar accepts checks, NOT_SERVING once it drains, so load balancers stop sending before it exits.
import * as grpc from '@grpc/grpc-js';

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthState {
  setServing(serving: boolean): void;
  statusOf(service: string): ServingStatus;
  /** Stops every Watch stream (at shutdown, so the server can drain). */
  endWatches(): void;
  handlers: grpc.UntypedServiceImplementation;
}

export function createHealthState(): HealthState {
  const known = new Set(['', AUTHORIZATION_SERVICE]);
  let serving = true;
  const watchers = new Set<{ service: string; call: grpc.ServerWritableStream<{ service?: string }, unknown> }>();

  const statusOf = (service: string): ServingStatus =>
    known.has(service) ? (serving ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN';

  const handlers: grpc.UntypedServiceImplementation = {
    Check(call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const service = call.request.service ?? '';
      if (!known.has(service)) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
        return;
      }
      callback(null, { status: statusOf(service) });
    },
    List(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const statuses = Object.fromEntries([...known].map((s) => [s, { status: statusOf(s) }]));
      callback(null, { statuses });
    },
    Watch(call: grpc.ServerWritableStream<{ service?: string }, unknown>) {
      const watcher = { service: call.request.service ?? '', call };
      watchers.add(watcher);
      call.write({ status: statusOf(watcher.service) });
      call.on('cancelled', () => watchers.delete(watcher));
    },
  };

  return {
    handlers,
    statusOf,
    setServing(next) {
      if (next === serving) return;
      serving = next;
      for (const w of watchers) w.call.write({ status: statusOf(w.service) });
    },
    endWatches() {
      for (const w of watchers) w.call.end();
      watchers.clear();
    },
  };
}
