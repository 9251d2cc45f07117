// `portcullis serve` on hostile or mistaken configuration: exit 2 with a message naming the file and key,
// never a hang, a crash (exit 1) or a sidecar that starts and then rejects every token.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/captureOutput.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

/** A config dir with an allow-all policy; `lines` are the config's other lines. */
function configWith(lines: string[], files: Record<string, string> = {}): { dir: string; file: string } {
  const dir = makeTempDir('portcullis-cli-config-');
  writeFiles(dir, { 'policies/authz.rego': ALLOW_ALL, ...files });
  writeFiles(dir, {
    'c.yaml': [...lines, `policy: { path: ${join(dir, 'policies')}, watch: false }`, 'logLevel: silent'].join('\n'),
  });
  return { dir, file: join(dir, 'c.yaml') };
}

describe('portcullis serve refuses, with exit 2 naming file and key', () => {
  it('a FIFO as --config (instead of waiting on it forever)', async () => {
    const dir = makeTempDir('portcullis-cli-fifo-');
    execFileSync('mkfifo', [join(dir, 'c.yaml')]);
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'c.yaml')}: is not a regular file (a FIFO)`);
  });

  it('a port above 65535', async () => {
    const { file } = configWith(['grpc: { address: 127.0.0.1:70000 }', 'admin: { address: 127.0.0.1:0 }']);
    const result = await runMain(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:1: grpc.address: port must be between 0 and 65535`);
  });

  it('a listen host that does not resolve', async () => {
    const { file } = configWith(['grpc: { address: "no-such-host.invalid:9191" }', 'admin: { address: 127.0.0.1:0 }']);
    const result = await runMain(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:1: grpc.address: host "no-such-host.invalid" does not resolve`);
  });

  it('a YAML alias bomb', async () => {
    const { file } = configWith([
      'x1: &a [x, x, x, x, x, x, x, x, x, x]',
      'x2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'x3: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    ]);
    const result = await runMain(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: invalid YAML: x3\\[\\d+\\]: aliases expand to too much data`,
      ),
    );
  });

  it('/dev/zero as policy.path', async () => {
    const dir = makeTempDir('portcullis-cli-zero-');
    writeFiles(dir, {
      'c.yaml': 'grpc: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\npolicy: { path: /dev/zero }\n',
    });
    const result = await runMain(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(dir, 'c.yaml')}:3: policy.path: /dev/zero is not a regular file (a character device)`,
    );
  });
});

describe('portcullis serve refuses a jwksFile that can verify no token', () => {
  const provider = (jwksFile: string) =>
    `jwt: { providers: [{ name: p, issuer: "https://i", algorithms: [ES256], jwksFile: ${jwksFile} }] }`;

  it('only a private key', { timeout: 120_000 }, async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'signer' }] });
    const dir = makeTempDir('portcullis-cli-jwks-');
    writeFiles(dir, { 'jwks.json': jwks });
    const { file } = configWith([
      'grpc: { address: 127.0.0.1:0 }',
      'admin: { address: 127.0.0.1:0 }',
      provider(join(dir, 'jwks.json')),
    ]);
    const result = await runMain(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'jwks.json')}: key 0 (kid "signer") holds private key material`);
  });

  it('only a symmetric oct key', { timeout: 120_000 }, async () => {
    const dir = makeTempDir('portcullis-cli-jwks-');
    writeFiles(dir, {
      'jwks.json': JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ', kid: 'hmac' }] }),
    });
    const { file } = configWith([
      'grpc: { address: 127.0.0.1:0 }',
      'admin: { address: 127.0.0.1:0 }',
      provider(join(dir, 'jwks.json')),
    ]);
    const result = await runMain(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(dir, 'jwks.json')}: no key can verify a token: key 0 (kid "hmac") is a symmetric (kty "oct") key`,
    );
  });
});
