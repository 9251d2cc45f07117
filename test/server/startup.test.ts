import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { startSidecar } from '../../src/server/sidecar.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { freePort } from '../helpers/process.js';
import { runMain } from '../helpers/captureOutput.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

describe('a start-up that fails half-way', () => {
  const blocker = createServer();
  let busyPort: number;
  beforeAll(async () => {
    busyPort = await freePort();
    await listen(blocker, busyPort);
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it('releases the gRPC port it had already bound when the admin port is taken', async () => {
    const grpcPort = await freePort();
    const config = configSchema.parse({
      grpc: { address: `127.0.0.1:${grpcPort}` },
      admin: { address: `127.0.0.1:${busyPort}` },
      policy: { watch: false },
    });
    await expect(
      startSidecar(config, {
        processMetrics: false,
        logDestination: { write: () => undefined },
        loadPolicy: functionPolicy(() => true),
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const probe = createServer();
    await listen(probe, grpcPort);
    await new Promise<void>((r) => probe.close(() => r()));
  });

  it('makes `portcullis serve` exit 1 (runtime failure) with a message, instead of hanging', async () => {
    const dir = makeTempDir();
    writeFiles(dir, {
      'policies/authz.rego': 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
      'c.yaml': `grpc: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:${busyPort} }\npolicy: { path: ${join(dir, 'policies')}, watch: false }\nlogLevel: silent\n`,
    });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/start-up failed: .*EADDRINUSE/);
  }, 120_000);
});
