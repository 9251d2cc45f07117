// A real gRPC client on Envoy's rls.proto (envoy.service.ratelimit.v3.RateLimitService), as Envoy's
// rate_limit filter calls it.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyIncludeDirs } from './upstreamProtos.js';

export interface RlsDescriptor {
  entries: Array<{ key: string; value: string }>;
  limit?: { requestsPerUnit: number; unit: string };
}

export interface RlsStatus {
  code: string;
  currentLimit?: { name?: string; requestsPerUnit: number; unit: string };
  limitRemaining?: number;
  durationUntilReset?: { seconds: string; nanos?: number };
}

export interface RlsResponse {
  overallCode: string;
  statuses: RlsStatus[];
  responseHeadersToAdd: Array<{ key: string; value: string }>;
}

type Unary<Req, Res> = (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => void;
interface RateLimitClient extends grpc.Client {
  ShouldRateLimit: Unary<unknown, RlsResponse>;
}

const definition = protoLoader.loadSync(['envoy/service/ratelimit/v3/rls.proto'], {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  // upstream's files, as Envoy would encode them, not the server's own copies
  includeDirs: envoyIncludeDirs(),
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  envoy: {
    service: {
      ratelimit: { v3: { RateLimitService: new (address: string, creds: grpc.ChannelCredentials) => RateLimitClient } };
    };
  };
};

export interface RlsClient {
  shouldRateLimit(domain: string, descriptors: RlsDescriptor[], hitsAddend?: number): Promise<RlsResponse>;
  close(): void;
}

export function createRlsClient(port: number): RlsClient {
  const client = new loaded.envoy.service.ratelimit.v3.RateLimitService(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  return {
    shouldRateLimit: (domain, descriptors, hitsAddend) =>
      new Promise((resolve, reject) =>
        client.ShouldRateLimit(
          { domain, descriptors, ...(hitsAddend === undefined ? {} : { hitsAddend }) },
          (error, response) => (error ? reject(error) : resolve(response)),
        ),
      ),
    close: () => client.close(),
  };
}

/** `[["key","value"], ...]` -> one descriptor */
export function descriptor(...pairs: Array<[string, string]>): RlsDescriptor {
  return { entries: pairs.map(([key, value]) => ({ key, value })) };
}
