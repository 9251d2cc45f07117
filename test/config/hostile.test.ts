// Configuration that would hang, flood or mislead: files that are not regular files, error lists of 100,000
// entries, alias bombs, ports out of range, hosts that do not resolve. Each ends with a ConfigError that
// names the file, the line and the key, in bounded time and a message of bounded size.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { MAX_REPORTED_ISSUES, loadConfig, parseConfigText } from '../../src/config/load.js';
import { makeTempDir } from '../helpers/sidecar.js';

async function loadError(text: string): Promise<ConfigError & { file: string }> {
  const dir = makeTempDir('portcullis-hostile-');
  const file = join(dir, 'c.yaml');
  writeFileSync(file, text);
  const error = await loadConfig({ file, env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'a ConfigError').toBeInstanceOf(ConfigError);
  return Object.assign(error as ConfigError, { file });
}

function parseError(text: string): ConfigError {
  try {
    parseConfigText(text, 'c.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('files that are not regular files', () => {
  it('refuses a FIFO as the config file instead of blocking on it', async () => {
    const dir = makeTempDir('portcullis-fifo-');
    const fifo = join(dir, 'c.yaml');
    execFileSync('mkfifo', [fifo]);
    await expect(loadConfig({ file: fifo, env: {} })).rejects.toThrow(
      `cannot read config file ${fifo}: is not a regular file (a FIFO)`,
    );
  });

  it('refuses /dev/zero as policy.path, naming the file, line and key', async () => {
    const error = await loadError('grpc: { address: 127.0.0.1:0 }\npolicy:\n  path: /dev/zero\n');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(
      `${error.file}:3: policy.path: /dev/zero is not a regular file (a character device)`,
    );
  });

  it('refuses a FIFO as policy.data and as a jwksFile', async () => {
    const dir = makeTempDir('portcullis-fifo-');
    execFileSync('mkfifo', [join(dir, 'data.json')]);
    execFileSync('mkfifo', [join(dir, 'jwks.json')]);
    const error = await loadError(
      [
        `policy: { data: ${join(dir, 'data.json')} }`,
        `jwt: { providers: [{ name: p, issuer: "https://i", algorithms: [ES256], jwksFile: ${join(dir, 'jwks.json')} }] }`,
      ].join('\n'),
    );
    expect(error.message).toContain(
      `${error.file}:1: policy.data: ${join(dir, 'data.json')} is not a regular file (a FIFO)`,
    );
    expect(error.message).toContain(
      `${error.file}:2: jwt.providers[0].jwksFile: ${join(dir, 'jwks.json')} is not a regular file (a FIFO)`,
    );
  });

  it('refuses a config file larger than 4 MiB', async () => {
    const error = await loadError(`# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    expect(error.code).toBe('CONFIG_READ');
    expect(error.message).toMatch(/is \d+ bytes, more than the 4194304 allowed/);
  });
});

describe('error lists are capped', () => {
  it('lists 20 of 100,000 unknown keys with their lines and counts the rest', () => {
    const text = `grpc:\n${Array.from({ length: 100_000 }, (_, i) => `  k${i}: 1`).join('\n')}\n`;
    const error = parseError(text);
    expect(error.issues).toHaveLength(100_000);
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(1 + MAX_REPORTED_ISSUES + 1);
    expect(lines[1]).toBe('  c.yaml:2: grpc.k0: unknown key (check the spelling against the configuration reference)');
    expect(lines.at(-1)).toBe(`  ... and ${100_000 - MAX_REPORTED_ISSUES} more problems`);
  });

  it('summarises 20,000 bad rate limits in a message of a few kilobytes', () => {
    const text = `rateLimits:\n${Array.from({ length: 20_000 }, (_, i) => `  - { name: r${i}, key: [source.address], limit: 0, periodSeconds: 1 }`).join('\n')}\n`;
    const error = parseError(text);
    expect(error.message.length).toBeLessThan(4096);
    expect(error.message).toContain('c.yaml:2: rateLimits[0].limit');
    expect(error.message).toContain(`... and ${20_000 - MAX_REPORTED_ISSUES} more problems`);
  });

  it('still refuses a duplicate key, naming it and its line', () => {
    const error = parseError('grpc:\n  address: 127.0.0.1:1\nadmin: {}\ngrpc: {}\n');
    expect(error.code).toBe('CONFIG_YAML');
    expect(error.message).toBe('c.yaml:4: invalid YAML: grpc: duplicate key (map keys must be unique)');
  });
});

describe('YAML aliases', () => {
  it('refuses an alias bomb, naming the line and key', () => {
    const text = [
      'logLevel: info',
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    const error = parseError(text);
    expect(error.code).toBe('CONFIG_YAML');
    expect(error.message).toMatch(/^c\.yaml:5: invalid YAML: d\[9\]: aliases expand to too much data/);
  });

  it('refuses an alias without an anchor, naming the line and key', () => {
    const error = parseError('grpc:\n  address: 127.0.0.1:1\nadmin:\n  address: *nowhere\n');
    expect(error.code).toBe('CONFIG_YAML');
    expect(error.message).toBe(
      'c.yaml:4: invalid YAML: admin.address: alias *nowhere names no anchor defined before it',
    );
  });
});

describe('addresses', () => {
  it('refuses a port above 65535 with its key and line', () => {
    const error = parseError('grpc:\n  address: 127.0.0.1:70000\n');
    expect(error.message).toContain('c.yaml:2: grpc.address: port must be between 0 and 65535');
  });

  it('refuses a listen host that does not resolve, naming the file, line and key', async () => {
    const error = await loadError('grpc: { address: 127.0.0.1:0 }\nadmin:\n  address: no-such-host.invalid:9192\n');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${error.file}:3: admin.address: host "no-such-host.invalid" does not resolve`);
  });
});

describe('redis URLs', () => {
  it('refuses a port above 65535 with file, line and key, without printing the password', () => {
    const error = parseError('redis:\n  url: "redis://default:hunter2@127.0.0.1:70000"\n');
    expect(error.message).toContain('c.yaml:2: redis.url: not a valid URL');
    expect(error.message).not.toContain('hunter2');
  });
});
