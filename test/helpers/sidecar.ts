// Starts a real sidecar in-process on free ports (127.0.0.1:0) with a policy written to a temp dir, and
// captures its log lines so tests can assert on them.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { configSchema } from '../../src/config/schema.js';
import { startSidecar, type Sidecar, type SidecarOptions } from '../../src/server/sidecar.js';
import { createTestClient, type TestClient } from './checkClient.js';

export interface TestSidecar {
  sidecar: Sidecar;
  client: TestClient;
  dir: string;
  logs: Array<Record<string, unknown>>;
  adminUrl: string;
  write(relativePath: string, content: string): string;
  close(): Promise<void>;
}

export interface TestSidecarSpec {
  /** files relative to the temp dir, e.g. {'policies/authz.rego': '...'} */
  files?: Record<string, string>;
  /** raw config (before schema defaults); relative `policy.path`/`policy.data` are resolved against the temp dir */
  config?: Record<string, unknown>;
  options?: SidecarOptions;
}

export function makeTempDir(prefix = 'portcullis-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [relative, content] of Object.entries(files)) {
    const path = join(dir, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

export async function startTestSidecar(spec: TestSidecarSpec = {}): Promise<TestSidecar> {
  const dir = makeTempDir();
  writeFiles(dir, spec.files ?? {});
  const raw = spec.config ?? {};
  const policy: Record<string, unknown> = {
    path: 'policies',
    watch: false,
    ...((raw['policy'] as Record<string, unknown> | undefined) ?? {}),
  };
  policy['path'] = resolve(dir, String(policy['path']));
  if (typeof policy['data'] === 'string') policy['data'] = resolve(dir, policy['data']);
  // rate limit service rule files, like policy.path, relative to the temp dir
  const rateLimitService = raw['rateLimitService'] as { config?: string[] } | undefined;
  const ruleFiles =
    rateLimitService?.config === undefined
      ? {}
      : { rateLimitService: { ...rateLimitService, config: rateLimitService.config.map((p) => resolve(dir, p)) } };
  const config = configSchema.parse({
    ...raw,
    ...ruleFiles,
    grpc: { address: '127.0.0.1:0', ...((raw['grpc'] as object | undefined) ?? {}) },
    admin: { address: '127.0.0.1:0', ...((raw['admin'] as object | undefined) ?? {}) },
    policy,
  });
  const logs: Array<Record<string, unknown>> = [];
  const sidecar = await startSidecar(config, {
    processMetrics: false,
    watchDebounceMs: 50,
    logDestination: {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
    ...(spec.options ?? {}),
  });
  const client = createTestClient(sidecar.grpcPort);
  return {
    sidecar,
    client,
    dir,
    logs,
    adminUrl: `http://127.0.0.1:${sidecar.adminPort}`,
    write(relativePath, content) {
      writeFiles(dir, { [relativePath]: content });
      return join(dir, relativePath);
    },
    async close() {
      client.close();
      await sidecar.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
