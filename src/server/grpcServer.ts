// The gRPC shell: decodes with Envoy's protos, hands the request to the check pipeline, encodes the answer.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { DecodedCheckRequest } from '../input/checkRequest.js';
import { buildDenyResponse } from '../response/buildCheckResponse.js';
import type { CheckPipeline } from './pipeline.js';
import type { HealthState } from './health.js';
import { loadProtos } from './protos.js';

export interface GrpcShell {
  port: number;
  /** Stops accepting, lets in-flight checks finish (up to graceMs), then closes. */
  shutdown(graceMs: number): Promise<void>;
}

export async function startGrpcServer(options: {
  address: string;
  maxReceiveMessageBytes: number;
  check: CheckPipeline;
  health: HealthState;
  logger: Logger;
}): Promise<GrpcShell> {
  const protos = loadProtos();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxReceiveMessageBytes });
  server.addService(protos.authorization, {
    Check(call: grpc.ServerUnaryCall<DecodedCheckRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      options.check(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => {
          // The pipeline answers every failure itself; this is the last guard that keeps a check an answer.
          options.logger.error({ err: error }, 'check pipeline threw');
          callback(null, buildDenyResponse({ decisionId: '', reason: 'internal_error', headers: [], dynamicMetadata: {} }));
        },
      );
    },
  });
  server.addService(protos.health, options.health.handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
      error === null ? resolve(boundPort) : reject(error),
    );
  });
  return {
    port,
    async shutdown(graceMs) {
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
