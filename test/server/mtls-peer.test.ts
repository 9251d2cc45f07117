// mTLS on the gRPC listener: each decision-log line carries the verified client certificate (`peer`:
// subject, SANs, and the URI SANs apart, where a SPIFFE id sits), in both decision-log formats; a plaintext
// or TLS-only check logs no peer.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRequest, createTestClient } from '../helpers/checkClient.js';
import { makeCa } from '../helpers/pki.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { uriSans } from '../../src/server/grpcServer.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const SPIFFE_ID = 'spiffe://cluster.local/ns/payments/sa/envoy';

describe('the mTLS client identity in the decision log', () => {
  const dir = makeTempDir('portcullis-mtls-peer-');
  const ca = makeCa(dir);
  const server = ca.issue('server', 'server');
  const envoy = ca.issue('envoy', 'envoy-client', [`URI:${SPIFFE_ID}`, 'DNS:envoy.payments.svc']);
  const sidecars: TestSidecar[] = [];
  const start = async (format: 'portcullis' | 'opa') => {
    const t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        decisionLog: { format },
        grpc: {
          tls: { ...server, clientCaFile: ca.caFile, requireClientCert: true },
        },
      },
    });
    sidecars.push(t);
    return t;
  };
  const credentials = () =>
    grpc.credentials.createSsl(readFileSync(ca.caFile), readFileSync(envoy.keyFile), readFileSync(envoy.certFile));
  afterAll(async () => {
    for (const t of sidecars) await t.close();
  });

  it('logs the subject, the SANs and the SPIFFE id of the verified client certificate with each decision', async () => {
    const t = await start('portcullis');
    const client = createTestClient(t.sidecar.grpcPort, credentials());
    try {
      for (let i = 0; i < 3; i++) expect((await client.check(checkRequest({}))).status?.code).toBe(0);
    } finally {
      client.close();
    }
    const decisions = t.logs.filter((l) => l['log'] === 'decision');
    expect(decisions).toHaveLength(3);
    for (const line of decisions) {
      expect(line['peer']).toEqual({
        subject: 'CN=envoy-client',
        san: expect.stringContaining(`URI:${SPIFFE_ID}`),
        uris: [SPIFFE_ID],
      });
    }
  });

  it("carries it in OPA-format decision logs, under Portcullis's own fields", async () => {
    const t = await start('opa');
    const client = createTestClient(t.sidecar.grpcPort, credentials());
    try {
      expect((await client.check(checkRequest({}))).status?.code).toBe(0);
    } finally {
      client.close();
    }
    const event = t.logs.find((l) => l['msg'] === 'Decision Log');
    expect((event?.['portcullis'] as { peer?: unknown } | undefined)?.peer).toMatchObject({
      subject: 'CN=envoy-client',
      uris: [SPIFFE_ID],
    });
  });

  it('logs no peer without mTLS', async () => {
    const t = await startTestSidecar({ files: { 'policies/authz.rego': ALLOW_ALL } });
    sidecars.push(t);
    expect((await t.client.check(checkRequest({}))).status?.code).toBe(0);
    const line = t.logs.find((l) => l['log'] === 'decision');
    expect(line).toBeDefined();
    expect(line?.['peer']).toBeUndefined();
  });

  it('reads URI SANs as Node prints them, quoted ones included', () => {
    expect(uriSans(`DNS:a.example, URI:${SPIFFE_ID}, IP Address:127.0.0.1`)).toEqual([SPIFFE_ID]);
    expect(uriSans('URI:"spiffe://td/a, b", URI:https://x.example/p')).toEqual([
      'spiffe://td/a, b',
      'https://x.example/p',
    ]);
    expect(uriSans(undefined)).toEqual([]);
  });
});
