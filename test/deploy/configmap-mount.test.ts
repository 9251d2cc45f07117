// The Istio manifests mount portcullis.yaml and the policies from ConfigMaps. Kubernetes lays a ConfigMap
// volume out as a hidden timestamped directory, a `..data` symlink to it, and one symlink per key
// (`authz.rego -> ..data/authz.rego`), and updates it by swapping `..data`. This builds that layout from
// envoy/istio/configmap.yaml and loads it with Portcullis's own config loader and policy loader.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import opa from '@open-policy-agent/opa-wasm';
import { loadConfig } from '../../src/config/load.js';
import { loadPolicySource } from '../../src/policy/source.js';
import { customBuiltins } from '@portcullis/rego-wasm/builtins';
import { configSchema } from '../../src/config/schema.js';
import { startSidecar } from '../../src/server/sidecar.js';
import { checkRequest, createTestClient } from '../helpers/checkClient.js';
import { envoyInput, identity } from '../policies/harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const configMaps = new Map<string, Record<string, string>>(
  parseAllDocuments(fs.readFileSync(path.join(repoRoot, 'envoy', 'istio', 'configmap.yaml'), 'utf8'))
    .map((d) => d.toJS() as { metadata: { name: string }; data: Record<string, string> })
    .map((cm) => [cm.metadata.name, cm.data]),
);

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-configmap-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Writes `data` the way the kubelet does and returns the mount directory. */
function mountConfigMap(name: string, data: Record<string, string> = configMaps.get(name)!): string {
  const mount = path.join(scratch, name);
  const generation = '..2026_11_23_11_00_00.000000001';
  fs.mkdirSync(path.join(mount, generation), { recursive: true });
  for (const [key, value] of Object.entries(data)) fs.writeFileSync(path.join(mount, generation, key), value);
  fs.symlinkSync(generation, path.join(mount, '..data'));
  for (const key of Object.keys(data)) fs.symlinkSync(path.join('..data', key), path.join(mount, key));
  return mount;
}

/** A ConfigMap update as the kubelet applies it: a new generation, then one atomic swap of `..data`. */
function updateConfigMap(mount: string, data: Record<string, string>): void {
  const previous = fs.readlinkSync(path.join(mount, '..data'));
  const generation = '..2026_11_23_12_00_00.000000002';
  fs.mkdirSync(path.join(mount, generation));
  for (const [key, value] of Object.entries(data)) fs.writeFileSync(path.join(mount, generation, key), value);
  fs.symlinkSync(generation, path.join(mount, '..data_tmp'));
  fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
  fs.rmSync(path.join(mount, previous), { recursive: true });
}

describe('the Istio ConfigMaps, mounted as Kubernetes mounts them', () => {
  const configDir = mountConfigMap('portcullis-config');
  const policyDir = mountConfigMap('portcullis-policies');

  it('give a portcullis.yaml the config loader accepts, pointing at the policies mount', async () => {
    const { config } = await loadConfig({
      file: path.join(configDir, 'portcullis.yaml'),
      env: { PORTCULLIS_ADMIN_TOKEN: 's3cret' },
    });
    expect(config.grpc.address).toBe('127.0.0.1:9191');
    expect(config.admin.address).toBe('0.0.0.0:9192');
    expect(config.admin.token).toBe('s3cret');
    expect(config.policy.path).toBe('/etc/portcullis/policies');
  });

  it('give a policy directory the policy loader compiles once, with its data, through the key symlinks', async () => {
    const source = await loadPolicySource(policyDir, ['envoy/authz/allow']);
    expect(source.kind).toBe('rego');
    const policy = await opa.loadPolicy(source.wasm, undefined, customBuiltins);
    policy.setData((source.data ?? {}) as object);
    const decide = (input: unknown): unknown =>
      (policy.evaluate(input, 'envoy/authz/allow') as Array<{ result: unknown }>)[0]?.result;
    expect(decide(envoyInput({ path: '/healthz' }))).toEqual({ allowed: true });
    // data.json came through: a clerk may write orders.
    expect(
      decide(envoyInput({ method: 'POST', path: '/api/orders', identity: identity({ sub: 'c', roles: ['clerk'] }) })),
    ).toMatchObject({ allowed: true });
  });

  it('are reloaded by a running sidecar (watch: true) when Kubernetes swaps in an updated ConfigMap', async () => {
    const original = configMaps.get('portcullis-policies')!;
    const mount = mountConfigMap('portcullis-policies-live', original);
    const config = configSchema.parse({
      grpc: { address: '127.0.0.1:0' },
      admin: { address: '127.0.0.1:0' },
      policy: { path: mount, watch: true },
    });
    const sidecar = await startSidecar(config, {
      processMetrics: false,
      watchDebounceMs: 50,
      logDestination: { write: () => undefined },
    });
    const client = createTestClient(sidecar.grpcPort);
    try {
      const docs = checkRequest({ path: '/docs/intro' });
      expect((await client.check(docs)).deniedResponse?.status?.code).toBe(403);
      const revisionBefore = (
        (await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/v1/policy`)).json()) as { revision: string }
      ).revision;

      const data = JSON.parse(original['data.json']!) as { public: string[] };
      updateConfigMap(mount, {
        ...original,
        'data.json': JSON.stringify({ ...data, public: [...data.public, '/docs'] }),
      });

      let revision = revisionBefore;
      for (let attempt = 0; attempt < 200 && revision === revisionBefore; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        revision = (
          (await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/v1/policy`)).json()) as { revision: string }
        ).revision;
      }
      expect(revision, 'the policy revision after the ConfigMap update').not.toBe(revisionBefore);
      const after = await client.check(docs);
      expect(after.deniedResponse).toBeUndefined();
      expect(after.okResponse).toBeDefined();
    } finally {
      client.close();
      await sidecar.close();
    }
  });
});
