// The `portcullis` command as users run it: exit codes and messages as the README documents them, in child processes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';
import { freePort, spawnCli } from '../helpers/process.js';
import { runMain } from '../helpers/captureOutput.js';
import { createTestClient, checkRequest } from '../helpers/checkClient.js';
import { createTestIssuer } from '../helpers/tokens.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

function configDir(files: Record<string, string>): string {
  const dir = makeTempDir('portcullis-cli-');
  writeFiles(dir, files);
  return dir;
}

describe('portcullis serve: start-up failures exit 2 with a message naming file, line and key', () => {
  it('an unknown key', async () => {
    const dir = configDir({ 'c.yaml': 'grpc:\n  address: 127.0.0.1:0\nadmin:\n  adress: 127.0.0.1:0\n' });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'c.yaml')}:4: admin.adress: unknown key`);
  });

  it('a wrong type', async () => {
    const dir = configDir({ 'c.yaml': 'grpc:\n  maxReceiveMessageBytes: lots\n' });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/c\.yaml:2: grpc\.maxReceiveMessageBytes: .*number/);
  });

  it('invalid YAML', async () => {
    const dir = configDir({ 'c.yaml': 'grpc: {address: 127.0.0.1:0\n' });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/c\.yaml:\d+: invalid YAML/);
  });

  it('a config file that does not exist (named by PORTCULLIS_CONFIG)', async () => {
    process.env['PORTCULLIS_CONFIG'] = '/nonexistent/portcullis.yaml';
    const result = await runMain(['serve']).finally(() => delete process.env['PORTCULLIS_CONFIG']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read config file /nonexistent/portcullis.yaml');
  });

  it('a policy that does not compile, naming the .rego file and line', { timeout: 120_000 }, async () => {
    const dir = configDir({
      'policies/authz.rego': 'package envoy.authz\n\nimport rego.v1\n\nallow if {\n  input.x ==\n}\n',
    });
    writeFiles(dir, {
      'c.yaml': `grpc: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\npolicy: { path: ${join(dir, 'policies')}, watch: false }\n`,
    });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'policies', 'authz.rego')}:`);
  });
});

describe('portcullis serve: key files are input too', () => {
  it('a jwksFile that is not a JSON Web Key Set exits 2 naming the file', { timeout: 120_000 }, async () => {
    const dir = configDir({ 'policies/authz.rego': ALLOW_ALL, 'jwks.json': 'not json' });
    writeFiles(dir, {
      'c.yaml': [
        'grpc: { address: 127.0.0.1:0 }',
        'admin: { address: 127.0.0.1:0 }',
        `jwt: { providers: [{ name: p, issuer: "https://i", algorithms: [ES256], jwksFile: ${join(dir, 'jwks.json')} }] }`,
        `policy: { path: ${join(dir, 'policies')}, watch: false }`,
        'logLevel: silent',
      ].join('\n'),
    });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(dir, 'jwks.json'));
  });
});

describe('portcullis usage', () => {
  it('--help exits 0 and lists the commands', async () => {
    const result = await runMain(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/serve/);
    expect(result.stdout).toMatch(/revoke/);
    expect(result.stdout).toMatch(/policy/);
  });

  it('serve --help and revoke --help exit 0', async () => {
    expect((await runMain(['serve', '--help'])).stdout).toContain('--config');
    const revoke = await runMain(['revoke', '--help']);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain('--jti');
  });

  it('an unknown command exits 2', async () => {
    expect((await runMain(['frobnicate'])).code).toBe(2);
  });

  it('an unknown option exits 2', async () => {
    expect((await runMain(['serve', '--confg', 'x.yaml'])).code).toBe(2);
  });

  it('revoke without --jti or --sub exits 2', async () => {
    const result = await runMain(['revoke']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--jti');
  });

  it('revoke --jti without --exp exits 2', async () => {
    expect((await runMain(['revoke', '--jti', 'abc'])).code).toBe(2);
  });
});

/** The sidecar's portcullis_checks_in_flight gauge, read from its admin /metrics. */
async function checksInFlight(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const match = /^portcullis_checks_in_flight (\d+)/m.exec(text);
  return match === null ? 0 : Number(match[1]);
}

describe('a running sidecar', () => {
  // A child process from source (tsx) compiling its policy: slow on a busy machine, hence the long timeout.
  it(
    'revokes a token through `portcullis revoke`, and on SIGTERM finishes the in-flight check and exits 0',
    { timeout: 180_000 },
    async () => {
      const issuer = await createTestIssuer();
      // A second IdP whose JWKS endpoint the test controls: it fails until armed, then holds one fetch open,
      // which keeps a check in flight for as long as the test wants.
      const slowIssuer = await createTestIssuer('https://slow-idp.test');
      let armed = false;
      let releaseHeld: (() => void) | undefined;
      let resolveHeld: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        resolveHeld = resolve;
      });
      const jwksServer: Server = createServer((_req, res) => {
        if (!armed || releaseHeld !== undefined) {
          res.writeHead(503).end();
          return;
        }
        releaseHeld = () => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(slowIssuer.jwks));
        };
        resolveHeld();
      });
      await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
      const jwksPort = (jwksServer.address() as AddressInfo).port;

      const grpcPort = await freePort();
      const adminPort = await freePort();
      const dir = configDir({ 'policies/authz.rego': ALLOW_ALL });
      writeFiles(dir, {
        'jwks.json': JSON.stringify(issuer.jwks),
        'c.yaml': [
          `grpc: { address: 127.0.0.1:${grpcPort} }`,
          `admin: { address: 127.0.0.1:${adminPort}, token: \${ADMIN_TOKEN} }`,
          // No shutdown delay: this test is about finishing the in-flight check (test/e2e/shutdown.test.ts has the delay).
          'shutdown: { delaySeconds: 0 }',
          'jwt:',
          '  providers:',
          `    - { name: t, issuer: "${issuer.issuer}", audiences: [${issuer.audience}], algorithms: [ES256], jwksFile: ${join(dir, 'jwks.json')} }`,
          `    - { name: slow, issuer: "${slowIssuer.issuer}", audiences: [${slowIssuer.audience}], algorithms: [ES256], jwksUri: "http://127.0.0.1:${jwksPort}/jwks" }`,
          `policy: { path: ${join(dir, 'policies')}, watch: false }`,
        ].join('\n'),
      });
      const serve = spawnCli(['serve', '--config', join(dir, 'c.yaml')], { ADMIN_TOKEN: 'tok-123' });
      const client = createTestClient(grpcPort);
      try {
        await serve.waitForOutput(/portcullis serving/);
        const token = await issuer.sign({ sub: 'zoe', jti: 'cli-jti' });
        const request = checkRequest({ headers: { authorization: `Bearer ${token}` } });
        expect((await client.check(request)).status?.code).toBe(0);

        const exp = String(Math.floor(Date.now() / 1000) + 600);
        const admin = `http://127.0.0.1:${adminPort}`;
        const revoked = await runMain([
          'revoke',
          '--jti',
          'cli-jti',
          '--exp',
          exp,
          '--admin',
          admin,
          '--token',
          'tok-123',
        ]);
        expect(revoked.code).toBe(0);
        expect((await client.check(request)).deniedResponse?.status?.code).toBe(401);
        const refused = await runMain(['revoke', '--sub', 'zoe', '--admin', admin, '--token', 'wrong']);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain('401');

        // Start a check that waits on the held JWKS fetch. The sidecar refetches at most once a second while
        // it has no keys, so a check sent too soon after its last attempt answers 503 at once: send again.
        // A check counts as in flight once the sidecar's own checks_in_flight gauge says so (not by timing).
        armed = true;
        let heldFetch = false;
        void held.then(() => {
          heldFetch = true;
        });
        const slowRequest = checkRequest({
          headers: { authorization: `Bearer ${await slowIssuer.sign({ sub: 'yan' })}` },
        });
        let inFlight: Promise<unknown> | undefined;
        let settled = false;
        while (inFlight === undefined) {
          let answered = false;
          const attempt = client.check(slowRequest).finally(() => {
            answered = true;
          });
          while (!answered && !(heldFetch && (await checksInFlight(admin)) >= 1)) {
            await new Promise((r) => setTimeout(r, 50));
          }
          if (answered) {
            await new Promise((r) => setTimeout(r, 300));
          } else {
            inFlight = attempt.finally(() => {
              settled = true;
            });
          }
        }
        serve.child.kill('SIGTERM');
        await serve.waitForOutput(/draining/);
        expect(settled).toBe(false);
        releaseHeld?.();
        const answer = (await inFlight) as { status?: { code?: number } };
        expect(answer.status?.code).toBe(0);
        expect(await serve.exited).toBe(0);
        expect(serve.stdout()).toContain('portcullis stopped');
      } finally {
        client.close();
        jwksServer.close();
        jwksServer.closeAllConnections();
        if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
      }
    },
  );
});
