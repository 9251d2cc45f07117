// policy.bundle against a real HTTP bundle server: the 200/304 cycle with ETags, the headers and bearer token
// sent, a server outage (the last good bundle kept, backoff, metrics, status), not ready before the first
// bundle, `policy build` and `opa build` layouts, and the persisted bundle served at a restart during an outage.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packBundleFiles } from '@portcullis/rego-wasm/bundle';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { makeCa } from '../helpers/pki.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { policyBuild } from '../../src/cli/policy.js';
import {
  compileDataDrivenPolicy,
  DATA_DRIVEN_POLICY,
  eventually,
  makeBundle,
  metricValue,
  startBundleServer,
  type BundleServer,
} from './helpers.js';

const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;
const TOKEN = 'bundle-token-7f3a9c-never-logged';

interface PolicyAnswer {
  revision?: string;
  bundle: {
    revision: string | null;
    etag: string | null;
    consecutiveFailures: number;
    lastError: { message: string } | null;
    lastSuccessfulActivation: string | null;
    loadedFromPersistDir: boolean;
    url: string;
  };
}

async function policyAnswer(t: TestSidecar): Promise<{ status: number; body: PolicyAnswer }> {
  const res = await fetch(`${t.adminUrl}/v1/policy`);
  return { status: res.status, body: (await res.json()) as PolicyAnswer };
}

const fetches = (t: TestSidecar, result: string) =>
  metricValue(t.adminUrl, new RegExp(`portcullis_bundle_fetches_total\\{result="${result}"\\} (\\d+)`));

let wasm: Uint8Array;
const sidecars: TestSidecar[] = [];
const servers: BundleServer[] = [];

beforeAll(async () => {
  wasm = await compileDataDrivenPolicy();
});
afterEach(async () => {
  for (const t of sidecars.splice(0)) await t.close();
  for (const s of servers.splice(0)) await s.close();
});

async function start(bundle: Record<string, unknown>): Promise<TestSidecar> {
  const t = await startTestSidecar({ config: { policy: { bundle } } });
  sidecars.push(t);
  return t;
}

async function server(): Promise<BundleServer> {
  const s = await startBundleServer();
  servers.push(s);
  return s;
}

describe('policy.bundle: the bundle protocol', () => {
  it('activates the bundle, then polls with If-None-Match and keeps it on 304; a new ETag brings a new bundle', async () => {
    const s = await server();
    s.serve(await makeBundle(wasm, { revision: 'rev-1', open: true }), '"etag-1"');
    const t = await start({
      url: `${s.url}?access_token=query-secret`,
      polling: { minSeconds: 0.05, maxSeconds: 0.1 },
      headers: { 'X-Tenant': 'blue' },
      bearerToken: TOKEN,
    });
    await eventually(async () => (await policyAnswer(t)).status === 200, 'the first bundle');
    expect(status(await t.client.check(checkRequest()))).toBe(200);
    await eventually(() => s.requests.filter((r) => r.answered === 304).length >= 2, 'two 304 answers');

    const [first, ...later] = s.requests;
    expect(first?.headers['if-none-match']).toBeUndefined();
    expect(later.every((r) => r.headers['if-none-match'] === '"etag-1"')).toBe(true);
    for (const request of s.requests) {
      expect(request.headers['authorization']).toBe(`Bearer ${TOKEN}`);
      expect(request.headers['x-tenant']).toBe('blue');
      expect(request.method).toBe('GET');
    }
    const answer = await policyAnswer(t);
    expect(answer.body).toMatchObject({ revision: 'rev-1', bundle: { revision: 'rev-1', etag: '"etag-1"' } });
    expect(answer.body.bundle.url).not.toContain('query-secret');
    expect(await fetches(t, 'ok')).toBe(1);
    expect(await fetches(t, 'not_modified')).toBeGreaterThanOrEqual(2);
    expect(await metricValue(t.adminUrl, /^portcullis_bundle_last_success_timestamp_seconds (\S+)$/m)).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );

    s.serve(await makeBundle(wasm, { revision: 'rev-2', open: false }), '"etag-2"');
    await eventually(async () => (await policyAnswer(t)).body.revision === 'rev-2', 'the second bundle');
    expect(status(await t.client.check(checkRequest()))).toBe(403);
    expect(await fetches(t, 'ok')).toBe(2);
    await eventually(() => s.requests.at(-1)?.headers['if-none-match'] === '"etag-2"', 'polls with the new ETag');

    const logText = JSON.stringify(t.logs);
    expect(logText).not.toContain(TOKEN);
    expect(logText).not.toContain('query-secret');
  });

  it('is not ready and answers 503 until the first bundle activates', async () => {
    const s = await server();
    s.setMode('down');
    const t = await start({ url: s.url, polling: { minSeconds: 0.05, maxSeconds: 0.2 } });
    await eventually(() => s.requests.length >= 2, 'two attempts');
    expect((await fetch(`${t.adminUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${t.adminUrl}/health?bundles`)).status).toBe(500);
    const before = await policyAnswer(t);
    expect(before.status).toBe(503);
    expect(before.body.bundle.lastError?.message).toMatch(/failed/);
    expect(status(await t.client.check(checkRequest()))).toBe(503);

    s.serve(await makeBundle(wasm, { revision: 'late', open: true }), '"late"');
    s.setMode('up');
    await eventually(async () => (await fetch(`${t.adminUrl}/readyz`)).status === 200, 'ready');
    expect(status(await t.client.check(checkRequest()))).toBe(200);
  });

  it('keeps the last good bundle while the server is down, backs off, and recovers', async () => {
    const s = await server();
    s.serve(await makeBundle(wasm, { revision: 'good', open: true }), '"good"');
    const t = await start({ url: s.url, polling: { minSeconds: 0.05, maxSeconds: 5 } });
    await eventually(async () => (await policyAnswer(t)).status === 200, 'the first bundle');

    s.setMode('down');
    const outageStart = s.requests.length;
    await eventually(() => s.requests.length >= outageStart + 6, 'six failed attempts');
    const failed = s.requests.slice(outageStart);
    const gaps = failed.slice(1).map((r, i) => r.at - (failed[i] as { at: number }).at);
    // OPA's backoff: no wait before the first retry, then 100 ms × 1.6^n (±20 %): 160, 256, 410, 655 ms.
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[4]!).toBeGreaterThan(gaps[2]!);
    expect(gaps[4]!).toBeGreaterThan(300);

    expect(status(await t.client.check(checkRequest()))).toBe(200);
    const during = await policyAnswer(t);
    expect(during.body).toMatchObject({ revision: 'good' });
    expect(during.body.bundle.consecutiveFailures).toBeGreaterThanOrEqual(5);
    expect(await fetches(t, 'error')).toBeGreaterThanOrEqual(5);
    const ready = (await (await fetch(`${t.adminUrl}/readyz`)).json()) as { ready: boolean; degraded: string[] };
    expect(ready.ready).toBe(true);
    expect(ready.degraded.join('\n')).toMatch(/bundle: \d+ failed requests/);

    s.setMode('error');
    await eventually(() => s.requests.some((r) => r.answered === 500), 'an HTTP 500');
    s.setMode('up');
    await eventually(async () => (await policyAnswer(t)).body.bundle.consecutiveFailures === 0, 'recovery');
    expect(s.requests.at(-1)?.headers['if-none-match']).toBe('"good"');
  });

  it('refuses a bundle that is not one and keeps the policy in force', async () => {
    const s = await server();
    s.serve(await makeBundle(wasm, { revision: 'good', open: true }), '"good"');
    const t = await start({ url: s.url, polling: { minSeconds: 0.05, maxSeconds: 0.1 } });
    await eventually(async () => (await policyAnswer(t)).status === 200, 'the first bundle');
    s.serve(new TextEncoder().encode('<html>login page</html>'), '"html"');
    await eventually(async () => (await fetches(t, 'refused')) >= 1, 'a refusal');
    expect((await policyAnswer(t)).body).toMatchObject({ revision: 'good' });
    expect((await policyAnswer(t)).body.bundle.lastError?.message).toMatch(/bundle refused: .*not a readable bundle/);
    expect(status(await t.client.check(checkRequest()))).toBe(200);
  });
});

describe('policy.bundle: bundle layouts', () => {
  it('loads a bundle laid out as `opa build` makes it (Rego sources, data.json, .manifest, no Wasm)', async () => {
    const s = await server();
    const encode = (text: string) => new TextEncoder().encode(text);
    s.serve(
      await packBundleFiles([
        ['data.json', encode('{"config": {"open": true}}')],
        ['envoy/authz/policy.rego', encode(DATA_DRIVEN_POLICY)],
        ['.manifest', encode('{"revision": "opa-built", "roots": [""]}')],
      ]),
      '"opa"',
    );
    const t = await start({ url: s.url, polling: { minSeconds: 1, maxSeconds: 2 } });
    await eventually(async () => (await policyAnswer(t)).status === 200, 'the opa build bundle', 60_000);
    expect((await policyAnswer(t)).body).toMatchObject({ revision: 'opa-built' });
    expect(status(await t.client.check(checkRequest()))).toBe(200);
  });

  it('loads a bundle made by `portcullis policy build`', async () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'authz.rego'), DATA_DRIVEN_POLICY);
    writeFileSync(join(dir, 'src', 'data.json'), '{"config": {"open": true}}');
    const out: string[] = [];
    const code = await policyBuild([join(dir, 'src'), '-o', join(dir, 'out.tar.gz'), '--revision', 'built'], {
      stdout: (text) => out.push(text),
      stderr: (text) => out.push(text),
    });
    expect(code, out.join('')).toBe(0);
    const s = await server();
    s.serve(new Uint8Array(readFileSync(join(dir, 'out.tar.gz'))), null);
    const t = await start({ url: s.url, polling: { minSeconds: 0.05, maxSeconds: 0.1 } });
    await eventually(async () => (await policyAnswer(t)).status === 200, 'the policy build bundle');
    expect((await policyAnswer(t)).body).toMatchObject({ revision: 'built', bundle: { etag: null } });
    expect(status(await t.client.check(checkRequest()))).toBe(200);
    // Without ETags every poll downloads the bundle again; the same bytes are not activated again.
    await eventually(() => s.requests.length >= 3, 'more polls');
    expect(await metricValue(t.adminUrl, /portcullis_policy_reloads_total\{result="success"\} (\d+)/)).toBe(1);
  });
});

describe('policy.bundle.persistDir', () => {
  it('starts from the persisted bundle while the server is down, and sends its ETag once the server is back', async () => {
    const persistDir = join(makeTempDir(), 'persist');
    const s = await server();
    s.serve(await makeBundle(wasm, { revision: 'persisted', open: true }), '"p-1"');
    const bundle = { url: s.url, polling: { minSeconds: 0.05, maxSeconds: 0.2 }, persistDir };
    const first = await start(bundle);
    await eventually(async () => (await policyAnswer(first)).status === 200, 'the first bundle');
    await eventually(() => {
      try {
        return JSON.parse(readFileSync(join(persistDir, 'bundle.json'), 'utf8')).etag === '"p-1"';
      } catch {
        return false;
      }
    }, 'the bundle persisted');
    await first.close();
    sidecars.splice(sidecars.indexOf(first), 1);

    s.setMode('down');
    const second = await start(bundle);
    // Ready at once: the persisted bundle was activated during start-up.
    expect((await fetch(`${second.adminUrl}/readyz`)).status).toBe(200);
    expect((await policyAnswer(second)).body).toMatchObject({
      revision: 'persisted',
      bundle: { loadedFromPersistDir: true, etag: '"p-1"' },
    });
    expect(status(await second.client.check(checkRequest()))).toBe(200);
    const seen = s.requests.length;
    s.setMode('up');
    await eventually(() => s.requests.slice(seen).some((r) => r.answered === 304), 'a 304 for the persisted ETag');
  });

  it('refuses a persisted bundle that fails verification', async () => {
    const persistDir = join(makeTempDir(), 'persist');
    mkdirSync(persistDir);
    writeFileSync(join(persistDir, 'bundle.tar.gz'), await makeBundle(wasm, { revision: 'unsigned', open: true }));
    const s = await server();
    s.setMode('down');
    const t = await start({
      url: s.url,
      polling: { minSeconds: 0.05, maxSeconds: 0.2 },
      persistDir,
      verification: { keys: { main: { algorithm: 'HS256', key: 'shared-secret' } } },
    });
    expect((await fetch(`${t.adminUrl}/readyz`)).status).toBe(503);
    expect(t.logs.some((l) => l['msg'] === 'persisted policy bundle refused; waiting for the bundle server')).toBe(
      true,
    );
  });
});

describe('policy.bundle.tls', () => {
  it('fetches over HTTPS from a server whose CA is caFile, with a client certificate; refuses an unknown CA', async () => {
    const dir = makeTempDir();
    const ca = makeCa(dir);
    const serverCert = ca.issue('server', 'bundles.test');
    const client = ca.issue('client', 'portcullis-client');
    const s = await startBundleServer({
      cert: readFileSync(serverCert.certFile),
      key: readFileSync(serverCert.keyFile),
      ca: readFileSync(ca.caFile),
      requestCert: true,
    });
    servers.push(s);
    s.serve(await makeBundle(wasm, { revision: 'over-tls', open: true }), '"tls"');
    const t = await start({
      url: s.url,
      polling: { minSeconds: 0.05, maxSeconds: 0.1 },
      tls: { caFile: ca.caFile, certFile: client.certFile, keyFile: client.keyFile },
    });
    await eventually(async () => (await policyAnswer(t)).status === 200, 'the bundle over TLS');
    expect((await policyAnswer(t)).body).toMatchObject({ revision: 'over-tls' });

    // Without the CA, the server's certificate is not trusted: no bundle, and the error says why.
    const untrusted = await start({ url: s.url, polling: { minSeconds: 0.05, maxSeconds: 0.1 } });
    await eventually(async () => (await policyAnswer(untrusted)).body.bundle.lastError !== null, 'a TLS failure');
    expect((await policyAnswer(untrusted)).body.bundle.lastError?.message).toMatch(/certificate/i);
    expect((await fetch(`${untrusted.adminUrl}/readyz`)).status).toBe(503);
  });
});
