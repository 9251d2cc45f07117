// Tracing off loads nothing: a real `portcullis serve` runs with a module loader hook that records every module
// it resolves. Without `tracing` none of the tracer's modules (nor any @opentelemetry package) is resolved; with
// it (the control that shows the hook would see them) they are, and the check still answers the same.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, createTestClient } from '../helpers/checkClient.js';
import { serveRecordingModules } from '../helpers/moduleLog.js';
import { freePort } from '../helpers/process.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;

const TRACER_MODULE =
  /\/node_modules\/@opentelemetry\/|\/src\/telemetry\/(otelTracer|otlpExporter|otlpJson|traceContext)\.ts$/;

/** Serves the policy with `extraConfig`, checks /open and /closed, and returns the statuses and resolved modules. */
async function serveOnce(
  dir: string,
  name: string,
  extraConfig: string[],
): Promise<{ statuses: number[]; modules: string[] }> {
  const grpcPort = await freePort();
  const adminPort = await freePort();
  writeFiles(dir, {
    [`${name}.yaml`]: [
      `grpc: { address: 127.0.0.1:${grpcPort} }`,
      `admin: { address: 127.0.0.1:${adminPort} }`,
      `policy: { path: ${join(dir, 'policies')}, watch: false }`,
      ...extraConfig,
    ].join('\n'),
  });
  const served = await serveRecordingModules(dir, join(dir, `${name}.yaml`), name);
  try {
    const client = createTestClient(grpcPort);
    const statuses: number[] = [];
    for (const path of ['/open', '/closed']) {
      const response = await client.check(checkRequest({ path }));
      statuses.push(response.deniedResponse?.status?.code ?? 200);
    }
    client.close();
    return { statuses, modules: served.modules() };
  } finally {
    await served.stop();
  }
}

describe('tracing off loads no tracer module', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('portcullis-tracing-isolation-');
    writeFiles(dir, { 'policies/authz.rego': POLICY });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('default serve: no tracer module resolved', async () => {
    const { statuses, modules } = await serveOnce(dir, 'off', []);
    expect(statuses).toEqual([200, 403]);
    expect(modules.some((url) => url.endsWith('/src/server/pipeline.ts'))).toBe(true);
    expect(modules.filter((url) => TRACER_MODULE.test(url))).toEqual([]);
  }, 60_000);

  it('with tracing configured: the tracer and the OTLP exporter are loaded', async () => {
    // Nothing listens on the endpoint: export failures must not touch the checks.
    const deadPort = await freePort();
    const { statuses, modules } = await serveOnce(dir, 'on', [
      `tracing: { otlpEndpoint: http://127.0.0.1:${deadPort} }`,
    ]);
    expect(statuses).toEqual([200, 403]);
    expect(modules.some((url) => url.endsWith('/src/telemetry/otelTracer.ts'))).toBe(true);
    expect(modules.some((url) => url.endsWith('/src/telemetry/otlpExporter.ts'))).toBe(true);
  }, 60_000);
});
