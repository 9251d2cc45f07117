// The serving process speaks gRPC on node:http2 (src/server/grpcTransport.ts) with protobufjs: no file under
// src/ or bin/ imports a gRPC library, and none is a production dependency, so `npm ci --omit=dev` carries
// none. The tests and benchmarks keep @grpc/grpc-js as the client Envoy stands in for (and the bench's
// baseline), a development dependency.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVING = ['src', 'bin'];
const SOURCE_FILE = /\.(ts|mts|js|mjs|cjs)$/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return files(full);
    return SOURCE_FILE.test(entry.name) ? [full] : [];
  });
}

/** Module specifiers of static imports (type-only ones too), re-exports and import() with a string literal. */
function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

const isGrpcLibrary = (specifier: string): boolean => specifier.startsWith('@grpc/');

describe('the gRPC library boundary', () => {
  it('finds the imports it looks for', () => {
    const text =
      "import * as grpc from '@grpc/grpc-js';\nimport type { X } from \"@grpc/proto-loader\";\nawait import('@grpc/grpc-js');";
    expect(specifiers(text).filter(isGrpcLibrary)).toEqual(['@grpc/grpc-js', '@grpc/proto-loader', '@grpc/grpc-js']);
  });

  it('no file of the serving process imports @grpc/*', () => {
    const offenders = SERVING.flatMap((dir) => files(join(ROOT, dir)))
      .flatMap((file) =>
        specifiers(readFileSync(file, 'utf8'))
          .filter(isGrpcLibrary)
          .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
      )
      .sort();
    expect(offenders).toEqual([]);
  });

  it('no @grpc/* package is a production dependency', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies ?? {}).filter(isGrpcLibrary)).toEqual([]);
  });
});
