// policy.path as a .wasm module and as a bundle .tar.gz (both from `portcullis policy build`), and
// policy.data merged over the policy's own data.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, startTestSidecar, writeFiles, type TestSidecar } from '../helpers/sidecar.js';
import { runMain } from '../helpers/captureOutput.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] in data.open_paths
`;

const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;

describe('policy sources', () => {
  const dir = makeTempDir('portcullis-sources-');
  const built: Record<'wasm' | 'bundle', string> = {
    wasm: join(dir, 'policy.wasm'),
    bundle: join(dir, 'bundle.tar.gz'),
  };
  const sidecars: TestSidecar[] = [];

  beforeAll(async () => {
    writeFiles(dir, {
      'src/authz.rego': POLICY,
      'src/data.json': JSON.stringify({ open_paths: ['from-bundle'] }),
      'extra.json': JSON.stringify({ open_paths: ['from-config-data'] }),
    });
    for (const out of Object.values(built)) {
      const result = await runMain(['policy', 'build', join(dir, 'src'), '-o', out, '-e', 'envoy/authz/allow']);
      expect(result.code, result.stderr).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.close()));
  });

  const start = async (policy: Record<string, unknown>) => {
    const sidecar = await startTestSidecar({ config: { policy } });
    sidecars.push(sidecar);
    return sidecar;
  };

  it('serves a bundle .tar.gz with the data it carries', async () => {
    const t = await start({ path: built.bundle });
    expect(status(await t.client.check(checkRequest({ path: '/from-bundle' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/elsewhere' })))).toBe(403);
    const info = (await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as { kind: string };
    expect(info.kind).toBe('bundle');
  });

  it('serves a bare .wasm module with policy.data as its data', async () => {
    const t = await start({ path: built.wasm, data: join(dir, 'extra.json') });
    expect(status(await t.client.check(checkRequest({ path: '/from-config-data' })))).toBe(200);
    const info = (await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as { kind: string };
    expect(info.kind).toBe('wasm');
  });

  it('lets policy.data override the data shipped in a bundle', async () => {
    const t = await start({ path: built.bundle, data: join(dir, 'extra.json') });
    expect(status(await t.client.check(checkRequest({ path: '/from-config-data' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/from-bundle' })))).toBe(403);
  });
});
