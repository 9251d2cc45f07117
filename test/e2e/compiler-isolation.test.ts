// The serving process never carries the Rego compiler. A real `portcullis serve` runs with a module loader
// hook that records every module it resolves: serving a bundle resolves neither binaryen nor the compiler's
// entry point, and serving a directory of .rego resolves no binaryen either (the compile runs in a child
// process). The hook also sees the compiler package's `./builtins/lazy` entry, so an empty record cannot pass.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRego } from '@portcullis/rego-wasm';
import { writeBundle } from '@portcullis/rego-wasm/bundle';
import { checkRequest, createTestClient } from '../helpers/checkClient.js';
import { serveRecordingModules } from '../helpers/moduleLog.js';
import { freePort } from '../helpers/process.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;

/** Modules that belong to compiling: binaryen, and the compiler package's compile entry and its backend. */
const COMPILER_MODULE = /\/node_modules\/binaryen\/|\/rego-wasm\/dist\/(index|compile|wasm\/emit)\.js$/;

interface Served {
  modules(): string[];
  check(path: string): Promise<number>;
  close(): Promise<void>;
}

async function serve(dir: string, policyPath: string): Promise<Served> {
  const grpcPort = await freePort();
  const adminPort = await freePort();
  writeFiles(dir, {
    'c.yaml': [
      `grpc: { address: 127.0.0.1:${grpcPort} }`,
      `admin: { address: 127.0.0.1:${adminPort} }`,
      `policy: { path: ${policyPath}, watch: false }`,
    ].join('\n'),
  });
  const served = await serveRecordingModules(dir, join(dir, 'c.yaml'));
  const client = createTestClient(grpcPort);
  return {
    modules: served.modules,
    async check(path) {
      const response = await client.check(checkRequest({ path }));
      return response.deniedResponse?.status?.code ?? 200;
    },
    async close() {
      client.close();
      await served.stop();
    },
  };
}

describe('the serving process does not load the compiler', () => {
  let dir: string;
  beforeAll(async () => {
    dir = makeTempDir('portcullis-isolation-');
    writeFiles(dir, { 'policies/authz.rego': POLICY });
    const { wasm, entrypoints } = compileRego([{ path: 'authz.rego', source: POLICY }], {
      entrypoints: ['envoy/authz/allow'],
    });
    writeFileSync(join(dir, 'bundle.tar.gz'), await writeBundle({ wasm, data: {}, revision: 'r1', entrypoints }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serving a bundle: no binaryen, no compiler entry point', async () => {
    const served = await serve(dir, join(dir, 'bundle.tar.gz'));
    try {
      expect(await served.check('/open')).toBe(200);
      expect(await served.check('/closed')).toBe(403);
      const modules = served.modules();
      // The builtins the module calls, through the entry that loads only their namespaces.
      expect(modules.some((url) => url.endsWith('/rego-wasm/dist/builtins/lazy.js'))).toBe(true);
      expect(modules.some((url) => url.endsWith('/rego-wasm/dist/builtins/index.js'))).toBe(false);
      expect(modules.filter((url) => COMPILER_MODULE.test(url))).toEqual([]);
      expect(modules.some((url) => url.endsWith('/rego-wasm/dist/isolated.js'))).toBe(false);
    } finally {
      await served.close();
    }
  });

  it('features left off load none of their libraries (OpenAPI, tracing, Redis, gRPC body decoding, the bundle client)', async () => {
    const served = await serve(dir, join(dir, 'bundle.tar.gz'));
    try {
      expect(await served.check('/open')).toBe(200);
      const modules = served.modules();
      // The module log sees the server's libraries (protobufjs for the gRPC messages) and no gRPC library:
      // the transport is node:http2.
      expect(modules.some((url) => url.includes('/node_modules/protobufjs/'))).toBe(true);
      expect(modules.filter((url) => url.includes('/node_modules/@grpc/'))).toEqual([]);
      const offFeatures =
        /\/node_modules\/(ajv|ajv-formats|@apidevtools|@readme|@opentelemetry|ioredis|@bufbuild\/protobuf)\/|\/(src\/contract\/index|telemetry\/otelTracer)\.[jt]s$|\/src\/bundle\//;
      expect(modules.filter((url) => offFeatures.test(url))).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('a single-process server without a rate limit service loads neither (node:cluster, the rule files parser)', async () => {
    const served = await serve(dir, join(dir, 'bundle.tar.gz'));
    try {
      expect(await served.check('/open')).toBe(200);
      const modules = served.modules();
      expect(modules.some((url) => url.endsWith('/src/server/sidecar.ts'))).toBe(true);
      const unused =
        /^node:cluster$|\/src\/server\/(rateLimitService|workerPool)\.ts$|\/src\/limits\/service-rules\.ts$/;
      expect(modules.filter((url) => unused.test(url))).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('serving a bundle loads no zod (the config is validated in a child process, the admin bodies on first write) and, without JWT providers, no jose; of the builtins only the namespaces the policy calls', async () => {
    const served = await serve(dir, join(dir, 'bundle.tar.gz'));
    try {
      expect(await served.check('/open')).toBe(200);
      const modules = served.modules();
      expect(modules.some((url) => url.endsWith('/src/config/loadInChild.ts'))).toBe(true);
      const startUpOnly = /\/node_modules\/zod\/|\/src\/config\/(load|schema)\.ts$|\/src\/server\/adminBodies\.ts$/;
      expect(modules.filter((url) => startUpOnly.test(url))).toEqual([]);
      // A policy that calls no optional builtin namespace: no X.509 parsers, no asn1js, no yaml.
      const optionalBuiltins =
        /\/node_modules\/(asn1js|@peculiar|yaml)\/|\/rego-wasm\/dist\/builtins\/(x509|time|yaml|json)\.js$/;
      expect(modules.filter((url) => optionalBuiltins.test(url))).toEqual([]);
      // No jwt.providers: jose (and the key-set code) is never loaded.
      expect(modules.filter((url) => /\/node_modules\/jose\/|\/src\/identity\/verification\.ts$/.test(url))).toEqual(
        [],
      );
    } finally {
      await served.close();
    }
  });

  it('serving a directory of .rego: compiled in a child process, no binaryen in the server', async () => {
    const served = await serve(dir, join(dir, 'policies'));
    try {
      expect(await served.check('/open')).toBe(200);
      expect(await served.check('/closed')).toBe(403);
      const modules = served.modules();
      expect(modules.some((url) => url.endsWith('/rego-wasm/dist/isolated.js'))).toBe(true);
      expect(modules.filter((url) => COMPILER_MODULE.test(url))).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
