// Loads Envoy's own ext_authz v3 protos and our grpc.health.v1 proto from the repository's proto/ folder
// (Envoy's files copied unchanged from upstream; test/server/protos.test.ts proves them identical), once at
// start-up. Message objects use lowerCamelCase field names so a decoded CheckRequest is already
// close to the protobuf-JSON form OPA-Envoy policies read.
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

/** The repository's proto/ dir (src/server and dist/server are both two levels below the root). */
export function ownProtoDir(): string {
  return fileURLToPath(new URL('../../proto/', import.meta.url));
}

/**
 * Decoding options: protobuf-JSON conventions wherever proto-loader can give them (int64 and bytes as
 * strings, enum names, no default values); well-known types are finished by input/attributes.ts.
 */
export const protoLoaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  oneofs: false,
  json: true,
};

export interface LoadedProtos {
  authorization: grpc.ServiceDefinition;
  health: grpc.ServiceDefinition;
}

let cached: LoadedProtos | undefined;

export function loadProtos(): LoadedProtos {
  if (cached !== undefined) return cached;
  const definition = protoLoader.loadSync(
    ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'],
    { ...protoLoaderOptions, includeDirs: [ownProtoDir()] },
  );
  cached = {
    authorization: serviceAt(definition, 'envoy.service.auth.v3.Authorization'),
    health: serviceAt(definition, 'grpc.health.v1.Health'),
  };
  return cached;
}

function serviceAt(definition: protoLoader.PackageDefinition, name: string): grpc.ServiceDefinition {
  const service = definition[name];
  if (service === undefined || !isServiceDefinition(service)) {
    throw new Error(`proto service ${name} not found; is the proto/ folder next to dist/ complete?`);
  }
  return service as unknown as grpc.ServiceDefinition;
}

function isServiceDefinition(value: object): boolean {
  return !('format' in value) && !('type' in value);
}
