// The gRPC services the server answers, from proto/: Envoy's ext_authz v3 Authorization and gRPC's
// grpc.health.v1 Health (authorization.json), and Envoy's rate limit service (ratelimit.json, loaded only
// when rateLimitService is configured). The .json files are the protobufjs form of proto/'s .proto files
// (Envoy's copied unchanged from upstream), made by `npm run protos`; test/server/protos.test.ts proves them
// current and the services wire-identical to @grpc/proto-loader's over the .proto files. Loaded with
// protobufjs's light build, they cost no .proto parsing and none of proto-loader's definitions of every
// message (~2 MB of an idle server's heap). Decoded messages have lowerCamelCase field names, so a
// CheckRequest is already close to the protobuf-JSON form OPA-Envoy policies read.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs/light.js';
import type { MethodDefinition, ServiceDefinition } from './grpcService.js';

/** The repository's proto/ dir (src/server and dist/server are both two levels below the root). */
export function ownProtoDir(): string {
  return fileURLToPath(new URL('../../proto/', import.meta.url));
}

/**
 * protobuf-JSON conventions wherever protobufjs can give them (int64 and bytes as strings, enum names, no
 * default values); well-known types are finished by input/attributes.ts. As @grpc/proto-loader options
 * (`keepCase: false`: lowerCamelCase names, as the generated JSON has them), which the tests load with.
 */
export const protoLoaderOptions: protobuf.IConversionOptions & { keepCase: false } = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  oneofs: false,
  json: true,
};

export interface LoadedProtos {
  authorization: ServiceDefinition;
  health: ServiceDefinition;
}

let cached: LoadedProtos | undefined;

export function loadProtos(): LoadedProtos {
  if (cached !== undefined) return cached;
  const root = loadRoot('authorization.json');
  cached = {
    authorization: serviceDefinition(root, 'envoy.service.auth.v3.Authorization'),
    health: serviceDefinition(root, 'grpc.health.v1.Health'),
  };
  return cached;
}

/** Envoy's rate limit service (envoy.service.ratelimit.v3.RateLimitService). */
export function loadRateLimitProtos(): ServiceDefinition {
  return serviceDefinition(loadRoot('ratelimit.json'), 'envoy.service.ratelimit.v3.RateLimitService');
}

function loadRoot(file: string): protobuf.Root {
  const path = `${ownProtoDir()}${file}`;
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as protobuf.INamespace);
  root.resolveAll();
  return root;
}

/**
 * What @grpc/proto-loader makes of a service (test/server/protos.test.ts compares the two): per method its path, and (de)serializers that go through the
 * message type's fromObject/encode and decode/toObject exactly as proto-loader's do.
 */
function serviceDefinition(root: protobuf.Root, name: string): ServiceDefinition {
  let service: protobuf.Service;
  try {
    service = root.lookupService(name);
  } catch (error) {
    throw new Error(`proto service ${name} not found; is the proto/ folder next to dist/ complete?`, { cause: error });
  }
  const definition: Record<string, MethodDefinition> = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType;
    const response = method.resolvedResponseType;
    if (request === null || response === null) throw new Error(`proto method ${name}.${method.name} is unresolved`);
    definition[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // proto-loader's lodash.camelCase of the method name, for PascalCase names (Check -> check).
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    }
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), protoLoaderOptions);
}
