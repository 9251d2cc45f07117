// A real gRPC client on Envoy's ext_authz v3 protos (and grpc.health.v1), as Envoy would call the sidecar.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ownProtoDir } from '../../src/server/protos.js';
import { envoyIncludeDirs } from './upstreamProtos.js';

export interface HeaderValueOption {
  header: { key: string; value: string };
  append?: { value: boolean };
  /** HeaderAppendAction: 0 APPEND_IF_EXISTS_OR_ADD, 2 OVERWRITE_IF_EXISTS_OR_ADD */
  appendAction?: number;
}

export interface CheckResponse {
  status?: { code?: number; message?: string };
  okResponse?: {
    headers?: HeaderValueOption[];
    headersToRemove?: string[];
    responseHeadersToAdd?: HeaderValueOption[];
    queryParametersToSet?: Array<{ key: string; value: string }>;
    queryParametersToRemove?: string[];
  };
  deniedResponse?: { status?: { code?: number }; headers?: HeaderValueOption[]; body?: string };
  dynamicMetadata?: { fields?: Record<string, { stringValue?: string; numberValue?: number; boolValue?: boolean }> };
  httpResponse?: string;
}

type UnaryMethod<Req, Res> = (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => void;

interface AuthorizationClient extends grpc.Client {
  Check: UnaryMethod<unknown, CheckResponse>;
}

interface HealthClient extends grpc.Client {
  Check: UnaryMethod<{ service: string }, { status: number }>;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: number }>;
}

const definition = protoLoader.loadSync(['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'], {
  keepCase: false,
  longs: String,
  // numbers, so HTTP statuses read as 403 and append actions as their enum values
  enums: Number,
  bytes: String,
  defaults: false,
  oneofs: true,
  includeDirs: [...envoyIncludeDirs(), ownProtoDir()],
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  envoy: {
    service: {
      auth: { v3: { Authorization: new (address: string, creds: grpc.ChannelCredentials) => AuthorizationClient } };
    };
  };
  grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
};

export interface TestClient {
  check(request: unknown): Promise<CheckResponse>;
  /** status: 1 SERVING, 2 NOT_SERVING */
  healthCheck(service: string): Promise<{ status: number }>;
  health: HealthClient;
  close(): void;
}

export function createTestClient(
  port: number,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): TestClient {
  const address = `127.0.0.1:${port}`;
  const authz = new loaded.envoy.service.auth.v3.Authorization(address, credentials);
  const health = new loaded.grpc.health.v1.Health(address, credentials);
  return {
    check: (request) =>
      new Promise((resolve, reject) =>
        authz.Check(request, (error, response) => (error ? reject(error) : resolve(response))),
      ),
    healthCheck: (service) =>
      new Promise((resolve, reject) =>
        health.Check({ service }, (error, response) => (error ? reject(error) : resolve(response))),
      ),
    health,
    close() {
      authz.close();
      health.close();
    },
  };
}

export interface HttpRequestSpec {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  rawBody?: Buffer;
  host?: string;
  sourceAddress?: string;
  sourcePrincipal?: string;
}

/** A CheckRequest as Envoy builds it for an HTTP request. */
export function checkRequest(spec: HttpRequestSpec = {}): unknown {
  const path = spec.path ?? '/';
  const queryAt = path.indexOf('?');
  const http: Record<string, unknown> = {
    id: '1234',
    method: spec.method ?? 'GET',
    headers: {
      ':authority': spec.host ?? 'example.com',
      ':method': spec.method ?? 'GET',
      ':path': path,
      ...(spec.headers ?? {}),
    },
    path,
    host: spec.host ?? 'example.com',
    scheme: 'http',
    protocol: 'HTTP/1.1',
  };
  if (queryAt !== -1) http['query'] = path.slice(queryAt + 1);
  if (spec.body !== undefined) {
    http['body'] = spec.body;
    http['size'] = String(Buffer.byteLength(spec.body));
  }
  if (spec.rawBody !== undefined) http['rawBody'] = spec.rawBody.toString('base64');
  return {
    attributes: {
      source: {
        address: { socketAddress: { address: spec.sourceAddress ?? '10.0.0.7', portValue: 40000 } },
        ...(spec.sourcePrincipal === undefined ? {} : { principal: spec.sourcePrincipal }),
      },
      destination: { address: { socketAddress: { address: '10.0.0.1', portValue: 8080 } } },
      request: { time: { seconds: '1700000000', nanos: 500000000 }, http },
      contextExtensions: { virtual_host: 'local' },
    },
  };
}

/** The header values of a HeaderValueOption list, by name. */
export function headerMap(options: HeaderValueOption[] | undefined): Record<string, string> {
  return Object.fromEntries((options ?? []).map((o) => [o.header.key, o.header.value]));
}

export function metadataField(response: CheckResponse, name: string): unknown {
  const field = response.dynamicMetadata?.fields?.[name];
  return field?.stringValue ?? field?.numberValue ?? field?.boolValue;
}
