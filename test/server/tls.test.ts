// TLS and mTLS on the gRPC listener and the admin server, with certificates openssl makes in the test: the
// handshake, a client certificate required and refused (on both listeners), TLS 1.1 refused, and the server
// certificates rotated on disk while checks and admin requests run (none fails; new connections get the new
// certificate; a bad rotation keeps the last good one).
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, createTestClient, type TestClient } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { readTlsFiles } from '../../src/server/tlsFiles.js';
import { configSchema } from '../../src/config/schema.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and certificates it signs: `name.crt` / `name.key`, with SANs for 127.0.0.1 and localhost. */
function makePki(dir: string): { issue(name: string, cn: string, days?: number): void; ca: Buffer } {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=portcullis test CA',
  );
  return {
    ca: readFileSync(join(dir, 'ca.crt')),
    issue(name, cn, days = 2) {
      writeFileSync(
        join(dir, `${name}.ext`),
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
      );
      openssl(
        dir,
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${cn}`,
      );
      openssl(
        dir,
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        String(days),
        '-extfile',
        `${name}.ext`,
      );
    },
  };
}

/** The subject CN of the certificate a new TLS connection to the port is served. */
function servedCertificate(
  port: number,
  ca: Buffer,
  extra: { cert?: Buffer; key?: Buffer; ALPNProtocols?: string[] } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'], ...extra },
      () => {
        const cn = socket.getPeerCertificate().subject?.CN;
        socket.destroy();
        resolve(String(cn));
      },
    );
    socket.once('error', reject);
  });
}

function httpsGet(
  url: string,
  ca: Buffer,
  client: { cert?: Buffer; key?: Buffer } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false, a new connection (and handshake) per request, so a rotation is seen by the next one.
    const req = httpsRequest(url, { ca, servername: 'localhost', agent: false, ...client }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('TLS on the gRPC and admin listeners', () => {
  const dir = makeTempDir('portcullis-tls-');
  let pki: ReturnType<typeof makePki>;
  let t: TestSidecar;
  let client: TestClient;

  beforeAll(async () => {
    pki = makePki(dir);
    pki.issue('server', 'server-1');
    pki.issue('admin', 'admin-1');
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        // Not loopback: with TLS configured, no plaintext warning.
        grpc: { address: '0.0.0.0:0', tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') } },
        admin: { tls: { certFile: join(dir, 'admin.crt'), keyFile: join(dir, 'admin.key') } },
      },
      options: { tlsWatchIntervalMs: 50 },
    });
    client = createTestClient(t.sidecar.grpcPort, grpc.credentials.createSsl(pki.ca));
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it('answers checks over TLS and refuses plaintext', async () => {
    expect((await client.check(checkRequest({}))).status?.code).toBe(0);
    const plain = createTestClient(t.sidecar.grpcPort);
    try {
      await expect(plain.check(checkRequest({}))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      plain.close();
    }
  });

  it('does not log the plaintext-exposure warning for a non-loopback address with TLS', () => {
    expect(t.logs.some((l) => String(l['msg']).includes('without TLS'))).toBe(false);
  });

  const handshake = (versions: { minVersion: 'TLSv1' | 'TLSv1.2'; maxVersion: 'TLSv1.1' | 'TLSv1.2' }) =>
    new Promise((resolve, reject) => {
      // SECLEVEL=0: the client would speak TLS 1.1; only the server may refuse it.
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: t.sidecar.grpcPort,
          ca: pki.ca,
          ciphers: 'DEFAULT@SECLEVEL=0',
          ALPNProtocols: ['h2'],
          ...versions,
        },
        () => {
          resolve(socket.getProtocol());
          socket.destroy();
        },
      );
      socket.once('error', reject);
    });

  it('accepts TLS 1.2 and refuses TLS 1.1; the context carries minVersion TLSv1.2', async () => {
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
    await expect(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).rejects.toThrow();
    expect(
      (await readTlsFiles('grpc', { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') })).minVersion,
    ).toBe('TLSv1.2');
  });

  it('refuses to start with a key that does not match the certificate, naming the files', async () => {
    await expect(
      readTlsFiles('grpc', { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'admin.key') }),
    ).rejects.toThrow(/grpc\.tls: cannot use certFile .*server\.crt with keyFile .*admin\.key/);
  });

  it('serves the admin API over HTTPS', async () => {
    const res = await httpsGet(`https://127.0.0.1:${t.sidecar.adminPort}/healthz`, pki.ca);
    expect(res.status).toBe(200);
  });

  it('rotates the server certificate under load without a failed check, and keeps the last good one on a bad rotation', async () => {
    expect(await servedCertificate(t.sidecar.grpcPort, pki.ca)).toBe('server-1');
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          Array.from({ length: 8 }, () =>
            client.check(checkRequest({})).then(
              (res) => {
                if (res.status?.code === 0) answered += 1;
                else failures.push(res.status);
              },
              (error: unknown) => failures.push(error),
            ),
          ),
        );
      }
    })();
    try {
      // cert-manager replaces both files; write them beside and rename, as an atomic update would.
      pki.issue('next', 'server-2');
      renameSync(join(dir, 'next.key'), join(dir, 'server.key'));
      renameSync(join(dir, 'next.crt'), join(dir, 'server.crt'));
      const deadline = Date.now() + 10_000;
      while ((await servedCertificate(t.sidecar.grpcPort, pki.ca)) !== 'server-2') {
        if (Date.now() > deadline) throw new Error('the rotated certificate was never served');
        await new Promise((r) => setTimeout(r, 50));
      }
      // A fresh client (new connection) checks against the new certificate.
      const fresh = createTestClient(t.sidecar.grpcPort, grpc.credentials.createSsl(pki.ca));
      expect((await fresh.check(checkRequest({}))).status?.code).toBe(0);
      fresh.close();
    } finally {
      stop = true;
      await load;
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);

    // A key that does not match the certificate: refused, the last good pair is still served.
    pki.issue('other', 'server-3');
    writeFileSync(join(dir, 'server.key'), readFileSync(join(dir, 'other.key')));
    const deadline = Date.now() + 10_000;
    let metrics = '';
    while (!/portcullis_tls_certificate_reloads_total\{listener="grpc",result="error"\} [1-9]/.test(metrics)) {
      if (Date.now() > deadline) throw new Error('the bad rotation was never reported');
      await new Promise((r) => setTimeout(r, 50));
      metrics = (await httpsGet(`https://127.0.0.1:${t.sidecar.adminPort}/metrics`, pki.ca)).body;
    }
    expect(metrics).toMatch(/portcullis_tls_certificate_reloads_total\{listener="grpc",result="ok"\} [1-9]/);
    expect(await servedCertificate(t.sidecar.grpcPort, pki.ca)).toBe('server-2');
    expect((await client.check(checkRequest({}))).status?.code).toBe(0);
    expect(t.logs.some((l) => l['msg'] === 'TLS files not reloaded; the last good certificate stays in use')).toBe(
      true,
    );
  });
});

describe('mTLS on the gRPC listener', () => {
  const dir = makeTempDir('portcullis-mtls-');
  let pki: ReturnType<typeof makePki>;
  let t: TestSidecar;

  beforeAll(async () => {
    pki = makePki(dir);
    pki.issue('server', 'server-1');
    pki.issue('envoy', 'envoy-client');
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        grpc: {
          tls: {
            certFile: join(dir, 'server.crt'),
            keyFile: join(dir, 'server.key'),
            clientCaFile: join(dir, 'ca.crt'),
            requireClientCert: true,
          },
        },
      },
    });
  });
  afterAll(async () => t?.close());

  it('accepts a client certificate the CA signed', async () => {
    const credentials = grpc.credentials.createSsl(
      pki.ca,
      readFileSync(join(dir, 'envoy.key')),
      readFileSync(join(dir, 'envoy.crt')),
    );
    const client = createTestClient(t.sidecar.grpcPort, credentials);
    try {
      expect((await client.check(checkRequest({}))).status?.code).toBe(0);
    } finally {
      client.close();
    }
    // The verified client is logged (once per connection), by subject and SANs.
    expect(t.logs.find((l) => l['msg'] === 'gRPC client certificate verified')).toMatchObject({
      peer: { subject: 'CN=envoy-client', san: expect.stringContaining('IP Address:127.0.0.1') },
    });
  });

  it('refuses a client without a certificate, and one signed by another CA', async () => {
    const anonymous = createTestClient(t.sidecar.grpcPort, grpc.credentials.createSsl(pki.ca));
    const otherDir = makeTempDir('portcullis-mtls-other-');
    const other = makePki(otherDir);
    other.issue('rogue', 'rogue');
    const rogue = createTestClient(
      t.sidecar.grpcPort,
      grpc.credentials.createSsl(
        pki.ca,
        readFileSync(join(otherDir, 'rogue.key')),
        readFileSync(join(otherDir, 'rogue.crt')),
      ),
    );
    try {
      await expect(anonymous.check(checkRequest({}))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(rogue.check(checkRequest({}))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      anonymous.close();
      rogue.close();
    }
  });
});

describe('mTLS on the admin server', () => {
  const dir = makeTempDir('portcullis-admin-mtls-');
  let pki: ReturnType<typeof makePki>;
  let t: TestSidecar;
  let url: string;
  const clientCert = () => ({ cert: readFileSync(join(dir, 'ops.crt')), key: readFileSync(join(dir, 'ops.key')) });
  // The admin server speaks HTTP/1.1 (servedCertificate offers h2 by default, for the gRPC port).
  const adminHandshake = () => ({ ...clientCert(), ALPNProtocols: ['http/1.1'] });

  beforeAll(async () => {
    pki = makePki(dir);
    pki.issue('admin', 'admin-1');
    pki.issue('ops', 'ops-client');
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        admin: {
          tls: {
            certFile: join(dir, 'admin.crt'),
            keyFile: join(dir, 'admin.key'),
            clientCaFile: join(dir, 'ca.crt'),
            requireClientCert: true,
          },
        },
      },
      options: { tlsWatchIntervalMs: 50 },
    });
    url = `https://127.0.0.1:${t.sidecar.adminPort}`;
  });
  afterAll(async () => t?.close());

  it('accepts a client certificate the CA signed, and logs the verified client', async () => {
    expect((await httpsGet(`${url}/healthz`, pki.ca, clientCert())).status).toBe(200);
    expect(t.logs.find((l) => l['msg'] === 'admin client certificate verified')).toMatchObject({
      peer: { subject: 'CN=ops-client', san: expect.stringContaining('IP Address:127.0.0.1') },
    });
  });

  it('refuses a client without a certificate, and one signed by another CA', async () => {
    await expect(httpsGet(`${url}/healthz`, pki.ca)).rejects.toThrow();
    const otherDir = makeTempDir('portcullis-admin-mtls-other-');
    const other = makePki(otherDir);
    other.issue('rogue', 'rogue');
    await expect(
      httpsGet(`${url}/healthz`, pki.ca, {
        cert: readFileSync(join(otherDir, 'rogue.crt')),
        key: readFileSync(join(otherDir, 'rogue.key')),
      }),
    ).rejects.toThrow();
  });

  it('rotates the admin certificate under load without a failed request', async () => {
    expect(await servedCertificate(t.sidecar.adminPort, pki.ca, adminHandshake())).toBe('admin-1');
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          Array.from({ length: 4 }, () =>
            httpsGet(`${url}/readyz`, pki.ca, clientCert()).then(
              (res) => {
                if (res.status === 200) answered += 1;
                else failures.push(res);
              },
              (error: unknown) => failures.push(error),
            ),
          ),
        );
      }
    })();
    try {
      pki.issue('next', 'admin-2');
      renameSync(join(dir, 'next.key'), join(dir, 'admin.key'));
      renameSync(join(dir, 'next.crt'), join(dir, 'admin.crt'));
      const deadline = Date.now() + 10_000;
      while ((await servedCertificate(t.sidecar.adminPort, pki.ca, adminHandshake())) !== 'admin-2') {
        if (Date.now() > deadline) throw new Error('the rotated admin certificate was never served');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      stop = true;
      await load;
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    // The rotation kept the client CA: a certificate is still required after it.
    await expect(httpsGet(`${url}/healthz`, pki.ca)).rejects.toThrow();
    const metrics = (await httpsGet(`${url}/metrics`, pki.ca, clientCert())).body;
    expect(metrics).toMatch(/portcullis_tls_certificate_reloads_total\{listener="admin",result="ok"\} [1-9]/);
  });
});

describe('an optional client certificate on the admin server', () => {
  const dir = makeTempDir('portcullis-admin-optional-');
  let pki: ReturnType<typeof makePki>;
  let t: TestSidecar;

  beforeAll(async () => {
    pki = makePki(dir);
    pki.issue('admin', 'admin-1');
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        admin: {
          tls: { certFile: join(dir, 'admin.crt'), keyFile: join(dir, 'admin.key'), clientCaFile: join(dir, 'ca.crt') },
        },
      },
    });
  });
  afterAll(async () => t?.close());

  it('asks for a certificate but serves a client without one (the kubelet probes present none)', async () => {
    expect((await httpsGet(`https://127.0.0.1:${t.sidecar.adminPort}/healthz`, pki.ca)).status).toBe(200);
    expect(t.logs.some((l) => l['msg'] === 'admin client connected over TLS without a verified certificate')).toBe(
      true,
    );
  });
});

describe('admin.tls keys', () => {
  it('takes the keys grpc.tls takes; requireClientCert without clientCaFile is refused on both listeners', () => {
    const files = { certFile: 'c.crt', keyFile: 'c.key' };
    expect(
      configSchema.parse({ admin: { tls: { ...files, clientCaFile: 'ca.crt', requireClientCert: true } } }).admin.tls,
    ).toEqual({ ...files, clientCaFile: 'ca.crt', requireClientCert: true });
    expect(configSchema.parse({ admin: { tls: files } }).admin.tls?.requireClientCert).toBe(false);
    for (const listener of ['grpc', 'admin']) {
      const result = configSchema.safeParse({ [listener]: { tls: { ...files, requireClientCert: true } } });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]).toMatchObject({
        path: [listener, 'tls', 'requireClientCert'],
        message: expect.stringContaining('clientCaFile'),
      });
    }
  });
});
