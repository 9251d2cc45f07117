// The server loads Envoy's ext_authz protos from the repository's own proto/ folder (a copy of what it
// needs, so production installs carry no @grpc/grpc-js-xds). This proves the copy is upstream's: every file
// byte-identical to the one @grpc/grpc-js-xds ships, nothing the server imports missing, and every message
// the Authorization service reaches described exactly as upstream describes it. The server reads the
// protobufjs JSON form of those files (proto/*.json): proven current, and its services proven to encode and
// decode byte for byte as @grpc/proto-loader's over the .proto files.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { loadProtos, loadRateLimitProtos, ownProtoDir, protoLoaderOptions } from '../../src/server/protos.js';
import { rootJson, SERVICE_ROOTS } from '../../scripts/protos-json.js';
import { envoyIncludeDirs } from '../helpers/upstreamProtos.js';

const OWN_ONLY = new Set(['grpc/health/v1/health.proto']);
const ENTRY = 'envoy/service/auth/v3/external_auth.proto';
/** Envoy's rate limit service, served on the same port when rateLimitService is configured. */
const RLS_ENTRY = 'envoy/service/ratelimit/v3/rls.proto';
const HEALTH_ENTRY = 'grpc/health/v1/health.proto';

function protoFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.proto'))
    .map((name) => name.split(sep).join('/'))
    .sort();
}

function upstreamFile(relativePath: string): string | undefined {
  return envoyIncludeDirs()
    .map((dir) => join(dir, relativePath))
    .find((candidate) => existsSync(candidate));
}

describe("the server's Envoy protos (proto/)", () => {
  const copied = protoFiles(ownProtoDir()).filter((name) => !OWN_ONLY.has(name));

  it('are byte-identical copies of the files @grpc/grpc-js-xds ships', () => {
    expect(copied).toContain(ENTRY);
    for (const name of copied) {
      const upstream = upstreamFile(name);
      expect(upstream, `${name} has no upstream file`).toBeDefined();
      expect(
        readFileSync(join(ownProtoDir(), name)).equals(readFileSync(upstream!)),
        `${name} differs from upstream`,
      ).toBe(true);
    }
  });

  it('hold every file external_auth.proto and rls.proto import, and no file they do not', () => {
    // The import graph from external_auth.proto, read from the copies; google/protobuf's well-known types ship
    // with protobufjs. Loading from proto/ alone also proves nothing is missing (loadSync throws on that).
    const reached = new Set<string>();
    const visit = (name: string): void => {
      if (reached.has(name) || name.startsWith('google/protobuf/')) return;
      reached.add(name);
      const text = readFileSync(join(ownProtoDir(), name), 'utf8');
      for (const match of text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)) visit(match[1]!);
    };
    visit(ENTRY);
    visit(RLS_ENTRY);
    expect([...reached].sort()).toEqual(copied);
    expect(() =>
      protoLoader.loadSync([ENTRY, RLS_ENTRY], { ...protoLoaderOptions, includeDirs: [ownProtoDir()] }),
    ).not.toThrow();
  });

  it('describe every message the Authorization service reaches exactly as upstream does', () => {
    const own = protoLoader.loadSync([ENTRY], { ...protoLoaderOptions, includeDirs: [ownProtoDir()] });
    const upstream = protoLoader.loadSync([ENTRY], { ...protoLoaderOptions, includeDirs: envoyIncludeDirs() });
    expect(Object.keys(own).sort()).toEqual(Object.keys(upstream).sort());
    // Message and enum types: their descriptors (field numbers, types, labels, oneofs) fix the wire format.
    const types = Object.keys(own).filter((name) => 'format' in own[name]!);
    expect(types).toEqual(
      expect.arrayContaining(['envoy.service.auth.v3.CheckRequest', 'envoy.service.auth.v3.CheckResponse']),
    );
    const described = (definition: protoLoader.PackageDefinition, name: string) => {
      const { format, type, fileDescriptorProtos } = definition[name] as protoLoader.MessageTypeDefinition;
      return { format, type, fileDescriptorProtos };
    };
    const differing = types.filter((name) => !isDeepStrictEqual(described(own, name), described(upstream, name)));
    expect(differing).toEqual([]);
    // The service: same method path, streaming and message types (its (de)serializers are functions).
    const method = (definition: protoLoader.PackageDefinition) => {
      const check = (definition['envoy.service.auth.v3.Authorization'] as protoLoader.ServiceDefinition)['Check']!;
      const { path, requestStream, responseStream, originalName } = check;
      return {
        path,
        requestStream,
        responseStream,
        originalName,
        request: check.requestType.type,
        response: check.responseType.type,
      };
    };
    expect(method(own)).toEqual(method(upstream));
  });

  it('describe the rate limit service and its messages exactly as upstream does', () => {
    const own = protoLoader.loadSync([RLS_ENTRY], { ...protoLoaderOptions, includeDirs: [ownProtoDir()] });
    const upstream = protoLoader.loadSync([RLS_ENTRY], { ...protoLoaderOptions, includeDirs: envoyIncludeDirs() });
    expect(Object.keys(own).sort()).toEqual(Object.keys(upstream).sort());
    const described = (definition: protoLoader.PackageDefinition, name: string) => {
      const { format, type, fileDescriptorProtos } = definition[name] as protoLoader.MessageTypeDefinition;
      return { format, type, fileDescriptorProtos };
    };
    const types = Object.keys(own).filter((name) => 'format' in own[name]!);
    expect(types).toContain('envoy.service.ratelimit.v3.RateLimitRequest');
    expect(types.filter((name) => !isDeepStrictEqual(described(own, name), described(upstream, name)))).toEqual([]);
    const method = (definition: protoLoader.PackageDefinition) => {
      const call = (definition['envoy.service.ratelimit.v3.RateLimitService'] as protoLoader.ServiceDefinition)[
        'ShouldRateLimit'
      ]!;
      return { path: call.path, request: call.requestType.type, response: call.responseType.type };
    };
    expect(method(own)).toEqual(method(upstream));
  });

  it('are what loadProtos serves', () => {
    const { authorization } = loadProtos();
    expect(Object.keys(authorization)).toContain('Check');
  });
});

/** A CheckRequest with every kind of field: maps, int64, bytes, enums, oneofs, Timestamp, Struct, Any. */
const CHECK_REQUEST = {
  attributes: {
    source: {
      address: { socketAddress: { address: '10.0.0.1', portValue: 53122, protocol: 'TCP' } },
      service: 'frontend',
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      principal: 'spiffe://cluster.local/ns/default/sa/web',
      certificate: '-----BEGIN CERTIFICATE-----',
    },
    destination: { address: { pipe: { path: '/run/sock', mode: 420 } }, principal: 'spiffe://x/api' },
    request: {
      time: { seconds: '1700000000', nanos: 123456789 },
      http: {
        id: '1234',
        method: 'POST',
        headers: { ':authority': 'api.example.com', 'content-type': 'application/json', 'x-b3': 'é ü' },
        headerMap: { headers: [{ key: 'x-raw', rawValue: Buffer.from([0, 1, 255]).toString('base64') }] },
        path: '/api/orders/1?limit=10#frag',
        host: 'api.example.com',
        scheme: 'https',
        query: 'limit=10',
        fragment: 'frag',
        size: '9007199254740993',
        protocol: 'HTTP/2',
        body: '{"a":1}',
        rawBody: Buffer.from('{"a":1}').toString('base64'),
      },
    },
    contextExtensions: { tenant: 'acme', empty: '' },
    metadataContext: {
      filterMetadata: {
        'envoy.filters.http.jwt_authn': {
          fields: {
            payload: {
              structValue: {
                fields: {
                  sub: { stringValue: 'alice' },
                  n: { numberValue: 1.5 },
                  ok: { boolValue: true },
                  none: { nullValue: 'NULL_VALUE' },
                  list: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 2 }] } },
                },
              },
            },
          },
        },
      },
      typedFilterMetadata: {
        // Packed from and unpacked to JSON by type name: the type must be in the loaded root.
        known: { '@type': 'type.googleapis.com/google.protobuf.Struct', fields: { a: { boolValue: true } } },
        unknown: { typeUrl: 'type.googleapis.com/example.v1.Missing', value: Buffer.from([8, 1]).toString('base64') },
      },
    },
    routeMetadataContext: { filterMetadata: { route: { fields: { name: { stringValue: 'orders' } } } } },
    tlsSession: { sni: 'api.example.com' },
  },
};

const CHECK_RESPONSES = [
  {
    status: { code: 0 },
    okResponse: {
      headers: [{ header: { key: 'x-user', value: 'alice' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      headersToRemove: ['authorization'],
      responseHeadersToAdd: [{ header: { key: 'x-ratelimit-remaining', value: '9' }, append: { value: false } }],
      queryParametersToSet: [{ key: 'k', value: 'v' }],
      queryParametersToRemove: ['token'],
    },
    dynamicMetadata: { fields: { decision: { stringValue: 'allow' }, score: { numberValue: -0.25 } } },
  },
  {
    status: { code: 7, message: 'denied by policy' },
    deniedResponse: {
      status: { code: 'Forbidden' },
      headers: [{ header: { key: 'content-type', value: 'application/problem+json' } }],
      body: '{"title":"Forbidden"}',
    },
  },
  { status: { code: 14 }, deniedResponse: { status: { code: 503 } } },
  {},
];

describe('the services the server loads (proto/*.json)', () => {
  it('are what `npm run protos` makes of proto/ today', () => {
    for (const [file, sources] of Object.entries(SERVICE_ROOTS)) {
      const committed: unknown = JSON.parse(readFileSync(join(ownProtoDir(), file), 'utf8'));
      expect(committed, `proto/${file} is stale: run npm run protos`).toEqual(rootJson(sources));
    }
  });

  const viaLoader = (files: string[], service: string) =>
    protoLoader.loadSync(files, { ...protoLoaderOptions, includeDirs: [ownProtoDir()] })[
      service
    ] as protoLoader.ServiceDefinition;
  const shape = (definition: Record<string, { path: string; requestStream: boolean; responseStream: boolean }>) =>
    Object.entries(definition).map(([name, method]) => {
      const { path, requestStream, responseStream, originalName } = method as protoLoader.MethodDefinition<
        object,
        object
      >;
      return { name, path, requestStream, responseStream, originalName };
    });
  const roundTrips = (
    served: { serialize(value: object): Buffer; deserialize(bytes: Buffer): object },
    loader: { serialize(value: object): Buffer; deserialize(bytes: Buffer): object },
    samples: object[],
  ) => {
    for (const sample of samples) {
      const bytes = Buffer.from(loader.serialize(sample));
      expect(Buffer.from(served.serialize(sample)).equals(bytes), JSON.stringify(sample)).toBe(true);
      expect(served.deserialize(bytes)).toStrictEqual(loader.deserialize(bytes));
    }
  };

  it('encode and decode Check and Health exactly as proto-loader over the .proto files', () => {
    const { authorization, health } = loadProtos();
    const loaderAuthz = viaLoader([ENTRY, HEALTH_ENTRY], 'envoy.service.auth.v3.Authorization');
    const loaderHealth = viaLoader([ENTRY, HEALTH_ENTRY], 'grpc.health.v1.Health');
    expect(shape(authorization)).toEqual(shape(loaderAuthz));
    expect(shape(health)).toEqual(shape(loaderHealth));
    const check = authorization['Check']!;
    const loaderCheck = loaderAuthz['Check']!;
    roundTrips(
      { serialize: check.requestSerialize, deserialize: check.requestDeserialize },
      { serialize: loaderCheck.requestSerialize, deserialize: loaderCheck.requestDeserialize },
      [CHECK_REQUEST, { attributes: { request: { http: { method: 'GET', path: '/' } } } }, {}],
    );
    roundTrips(
      { serialize: check.responseSerialize, deserialize: check.responseDeserialize },
      { serialize: loaderCheck.responseSerialize, deserialize: loaderCheck.responseDeserialize },
      CHECK_RESPONSES,
    );
    const watch = health['Watch']!;
    const loaderWatch = loaderHealth['Watch']!;
    roundTrips(
      { serialize: watch.responseSerialize, deserialize: watch.responseDeserialize },
      { serialize: loaderWatch.responseSerialize, deserialize: loaderWatch.responseDeserialize },
      [{ status: 'SERVING' }, { status: 'NOT_SERVING' }, { status: 'UNKNOWN' }],
    );
    // An Any of a type the root holds decodes to that type's JSON, as proto-loader's root does.
    const decoded = check.requestDeserialize(Buffer.from(loaderCheck.requestSerialize(CHECK_REQUEST))) as {
      attributes: { metadataContext: { typedFilterMetadata: Record<string, Record<string, unknown>> } };
    };
    expect(decoded.attributes.metadataContext.typedFilterMetadata['known']).toEqual({
      '@type': 'type.googleapis.com/google.protobuf.Struct',
      fields: { a: { boolValue: true } },
    });
  });

  it('encode and decode ShouldRateLimit exactly as proto-loader over rls.proto', () => {
    const served = loadRateLimitProtos();
    const loader = viaLoader([RLS_ENTRY], 'envoy.service.ratelimit.v3.RateLimitService');
    expect(shape(served)).toEqual(shape(loader));
    const call = served['ShouldRateLimit']!;
    const loaderCall = loader['ShouldRateLimit']!;
    roundTrips(
      { serialize: call.requestSerialize, deserialize: call.requestDeserialize },
      { serialize: loaderCall.requestSerialize, deserialize: loaderCall.requestDeserialize },
      [
        {
          domain: 'edge',
          descriptors: [
            { entries: [{ key: 'remote_address', value: '10.0.0.1' }] },
            { entries: [{ key: 'path', value: '/a' }], limit: { requestsPerUnit: 5, unit: 'MINUTE' } },
          ],
          hitsAddend: 3,
        },
        {},
      ],
    );
    roundTrips(
      { serialize: call.responseSerialize, deserialize: call.responseDeserialize },
      { serialize: loaderCall.responseSerialize, deserialize: loaderCall.responseDeserialize },
      [
        {
          overallCode: 'OVER_LIMIT',
          statuses: [
            {
              code: 'OK',
              currentLimit: { requestsPerUnit: 10, unit: 'SECOND', name: 'per-ip' },
              limitRemaining: 9,
              durationUntilReset: { seconds: '1', nanos: 5 },
            },
            { code: 'OVER_LIMIT', limitRemaining: 0 },
          ],
          responseHeadersToAdd: [{ key: 'x-ratelimit-limit', value: '10' }],
          requestHeadersToAdd: [{ key: 'x-rl', value: '1' }],
        },
        { overallCode: 'OK' },
      ],
    );
  });
});
