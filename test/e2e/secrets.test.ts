// No credential reaches a log line or an error message: a Redis URL's password, a jwksUri's userinfo, a
// token in the query string wherever the request path appears in the decision log's input copy.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/captureOutput.js';
import { checkRequest } from '../helpers/checkClient.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { makeTempDir, startTestSidecar, writeFiles, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

describe('the decision log with includeInput', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      config: {
        decisionLog: { includeInput: true },
      },
      options: { loadPolicy: functionPolicy(() => true) },
    });
  });
  afterAll(async () => t?.close());

  it('redacts a query-string token in :path, path, query, x-envoy-original-path, referer and parsed_query alike', async () => {
    await t.client.check(
      checkRequest({
        path: '/orders?access_token=SECRET1&page=2&client_secret=SECRET6',
        headers: {
          'x-envoy-original-path': '/api/orders?access_token=SECRET2&page=2',
          referer: 'https://app.example/list?api_key=SECRET3#access_token=SECRET4',
          'x-forwarded-uri': '/orders?X-Amz-Signature=SECRET5',
        },
      }),
    );
    const line = t.logs.filter((l) => l['log'] === 'decision').at(-1);
    const text = JSON.stringify(line);
    for (const secret of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4', 'SECRET5', 'SECRET6'])
      expect(text, secret).not.toContain(secret);
    // What is not a credential stays readable.
    expect(text).toContain('/api/orders?access_token=[redacted]&page=2');
    expect(line?.['input']).toMatchObject({
      parsed_query: { page: ['2'], access_token: ['[redacted]'], client_secret: ['[redacted]'] },
    });
  });
});

describe('a jwksUri with credentials', () => {
  let server: Server;
  let issuer: TestIssuer;
  let failFirst = true;
  const seenAuthorization: Array<string | undefined> = [];
  beforeAll(async () => {
    issuer = await createTestIssuer('https://basic.test');
    server = createServer((req, res) => {
      seenAuthorization.push(req.headers.authorization);
      if (failFirst) {
        failFirst = false;
        res.writeHead(503).end();
        return;
      }
      const expected = `Basic ${Buffer.from('alice:s3cr@t/pw').toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is fetched with HTTP Basic authentication, and logged with *** for the credentials when a fetch fails', async () => {
    const port = (server.address() as AddressInfo).port;
    const t = await startTestSidecar({
      config: {
        jwt: {
          providers: [
            {
              name: 'basic',
              issuer: issuer.issuer,
              audiences: ['orders-api'],
              algorithms: ['ES256'],
              jwksUri: `http://alice:s3cr%40t%2Fpw@127.0.0.1:${port}/jwks`,
            },
          ],
        },
      },
      options: { loadPolicy: functionPolicy(() => true) },
    });
    try {
      const token = await issuer.sign({ sub: 'u' });
      let status = 0;
      for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
        const res = await t.client.check(checkRequest({ headers: { authorization: `Bearer ${token}` } }));
        status = res.deniedResponse?.status?.code ?? 200;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, 'a token verified with keys fetched behind Basic authentication').toBe(200);
      const failure = t.logs.find((l) => String(l['msg']).startsWith('jwks fetch failed'));
      expect(failure?.['jwksUri']).toBe(`http://***@127.0.0.1:${port}/jwks`);
      const text = JSON.stringify(t.logs);
      expect(text).not.toContain('s3cr');
      expect(seenAuthorization.at(-1)).toMatch(/^Basic /);
    } finally {
      await t.close();
    }
  });
});

describe('portcullis serve with a Redis URL holding a password', () => {
  it('exits 2 naming redis.url, without printing the password', { timeout: 120_000 }, async () => {
    const dir = makeTempDir('portcullis-secrets-');
    writeFiles(dir, {
      'policies/authz.rego': ALLOW_ALL,
      'c.yaml': [
        'grpc: { address: 127.0.0.1:0 }',
        'admin: { address: 127.0.0.1:0 }',
        'redis: { url: "redis://default:hunter2-secret@127.0.0.1:6379/notadb" }',
        `policy: { path: ${join(dir, 'policies')}, watch: false }`,
        'logLevel: silent',
      ].join('\n'),
    });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('redis.url');
    expect(result.stderr).toContain('redis://***@127.0.0.1:6379/notadb');
    expect(result.stderr).not.toContain('hunter2');
  });
});
