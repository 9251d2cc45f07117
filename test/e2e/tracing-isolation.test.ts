// Tracing off loads nothing: a real `portcullis serve` runs with a module loader hook that records every module
// it resolves. Without `tracing` no @opentelemetry module is resolved; with it (the control that shows the hook
// would see them) they are, and the check still answers the same.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, createTestClient } from '../helpers/checkClient.js';
import { freePort } from '../helpers/process.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_CLI = fileURLToPath(new URL('../helpers/runCli.ts', import.meta.url));

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "open"
`;

const REGISTER = `import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url), { data: { log: process.env.MODULE_LOG } });
`;
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(log, resolved.url + '\\n');
  return resolved;
}
`;

const OTEL_MODULE = /\/node_modules\/@opentelemetry\//;

/** Serves the policy with `extraConfig`, checks /open and /closed, and returns the statuses and resolved modules. */
async function serveOnce(
  dir: string,
  name: string,
  extraConfig: string[],
): Promise<{ statuses: number[]; modules: string[] }> {
  const grpcPort = await freePort();
  const adminPort = await freePort();
  const log = join(dir, `${name}.modules.log`);
  writeFileSync(log, '');
  writeFiles(dir, {
    [`${name}.yaml`]: [
      `grpc: { address: 127.0.0.1:${grpcPort} }`,
      `admin: { address: 127.0.0.1:${adminPort} }`,
      `policy: { path: ${join(dir, 'policies')}, watch: false }`,
      ...extraConfig,
    ].join('\n'),
  });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      pathToFileURL(join(dir, 'register.mjs')).href,
      RUN_CLI,
      'serve',
      '--config',
      join(dir, `${name}.yaml`),
    ],
    { cwd: ROOT, env: { ...process.env, MODULE_LOG: log }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes('portcullis serving')) {
          clearInterval(timer);
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`serve exited ${child.exitCode}:\n${output}`));
        }
      }, 50);
    });
    const client = createTestClient(grpcPort);
    const statuses: number[] = [];
    for (const path of ['/open', '/closed']) {
      const response = await client.check(checkRequest({ path }));
      statuses.push(response.deniedResponse?.status?.code ?? 200);
    }
    client.close();
    return { statuses, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('tracing off loads no OpenTelemetry module', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('portcullis-tracing-isolation-');
    writeFiles(dir, { 'policies/authz.rego': POLICY, 'register.mjs': REGISTER, 'hooks.mjs': HOOKS });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('default serve: no @opentelemetry module resolved', async () => {
    const { statuses, modules } = await serveOnce(dir, 'off', []);
    expect(statuses).toEqual([200, 403]);
    expect(modules.some((url) => url.endsWith('/src/server/pipeline.ts'))).toBe(true);
    expect(modules.filter((url) => OTEL_MODULE.test(url))).toEqual([]);
  }, 60_000);

  it('with tracing configured: the SDK and the OTLP exporter are loaded', async () => {
    // Nothing listens on the endpoint: export failures must not touch the checks.
    const deadPort = await freePort();
    const { statuses, modules } = await serveOnce(dir, 'on', [
      `tracing: { otlpEndpoint: http://127.0.0.1:${deadPort} }`,
    ]);
    expect(statuses).toEqual([200, 403]);
    expect(modules.some((url) => /@opentelemetry\/sdk-trace-base\//.test(url))).toBe(true);
    expect(modules.some((url) => /@opentelemetry\/exporter-trace-otlp-http\//.test(url))).toBe(true);
  }, 60_000);
});
