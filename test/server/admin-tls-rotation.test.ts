// admin.tls rotation, as cert-manager does it (both files replaced by rename) while probes and scrapes keep
// coming: no request fails, new connections get the new certificate, and a pair that does not load (a key
// that does not match) is refused and counted while the last good certificate stays in use.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, type TestCa } from '../helpers/pki.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

/** One HTTPS GET on a new connection (no keep-alive), so every request makes its own handshake. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The CN of the certificate a new connection to `port` is served. */
function servedCn(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''));
    });
    socket.on('error', reject);
  });
}

describe('admin.tls certificate rotation', () => {
  const dir = makeTempDir('portcullis-admin-rotation-');
  let ca: TestCa;
  let caPem: Buffer;
  let t: TestSidecar;
  let adminFiles: { certFile: string; keyFile: string };

  beforeAll(async () => {
    ca = makeCa(dir);
    caPem = readFileSync(ca.caFile);
    adminFiles = ca.issue('admin', 'admin-1');
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: { admin: { tls: adminFiles } },
      options: { tlsWatchIntervalMs: 50 },
    });
  });
  afterAll(async () => t?.close());

  it('rotates under load without a failed request, and keeps the last good certificate on a bad rotation', async () => {
    const port = t.sidecar.adminPort;
    expect(await servedCn(port, caPem)).toBe('admin-1');
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          ['/healthz', '/readyz', '/metrics', '/v1/policy'].map((path) =>
            httpsGet(`https://127.0.0.1:${port}${path}`, caPem).then(
              (res) => (res.status === 200 ? (answered += 1) : failures.push(res.status)),
              (error: unknown) => failures.push(error),
            ),
          ),
        );
      }
    })();
    try {
      const next = ca.issue('next', 'admin-2');
      renameSync(next.keyFile, adminFiles.keyFile);
      renameSync(next.certFile, adminFiles.certFile);
      const deadline = Date.now() + 10_000;
      while ((await servedCn(port, caPem)) !== 'admin-2') {
        if (Date.now() > deadline) throw new Error('the rotated admin certificate was never served');
        await new Promise((r) => setTimeout(r, 50));
      }
      const afterRotation = answered;
      const settle = Date.now() + 5_000;
      while (answered < afterRotation + 8 && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
    } finally {
      stop = true;
      await load;
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(8);

    // A key that does not match the certificate: refused and counted; the last good pair stays.
    const other = ca.issue('other', 'admin-3');
    writeFileSync(adminFiles.keyFile, readFileSync(other.keyFile));
    const deadline = Date.now() + 10_000;
    let metrics = '';
    while (!/portcullis_tls_certificate_reloads_total\{listener="admin",result="error"\} [1-9]/.test(metrics)) {
      if (Date.now() > deadline) throw new Error('the bad admin rotation was never reported');
      await new Promise((r) => setTimeout(r, 50));
      metrics = (await httpsGet(`https://127.0.0.1:${port}/metrics`, caPem)).body;
    }
    expect(metrics).toMatch(/portcullis_tls_certificate_reloads_total\{listener="admin",result="ok"\} [1-9]/);
    expect(await servedCn(port, caPem)).toBe('admin-2');
    expect((await httpsGet(`https://127.0.0.1:${port}/healthz`, caPem)).status).toBe(200);
  });
});
