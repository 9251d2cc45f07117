// The server loads Envoy's ext_authz protos from the repository's own proto/ folder (a copy of what it
// needs, so production installs carry no @grpc/grpc-js-xds). This proves the copy is upstream's: every file
// byte-identical to the one @grpc/grpc-js-xds ships, nothing the server imports missing, and every message
// the Authorization service reaches described exactly as upstream describes it.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { loadProtos, ownProtoDir, protoLoaderOptions } from '../../src/server/protos.js';
import { envoyIncludeDirs } from '../helpers/upstreamProtos.js';

const OWN_ONLY = new Set(['grpc/health/v1/health.proto']);
const ENTRY = 'envoy/service/auth/v3/external_auth.proto';
/** Envoy's rate limit service, served on the same port when rateLimitService is configured. */
const RLS_ENTRY = 'envoy/service/ratelimit/v3/rls.proto';

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
