// `portcullis serve` loads its config in a child process (src/config/loadInChild.ts). What comes back must be
// what loadConfig gives in-process: the same Config, value for value (a structured clone keeps undefined and
// Infinity, and the schema produces plain data), and the same ConfigError (code, message, file, issues).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { loadConfigInChild } from '../../src/config/loadInChild.js';
import { richConfigYaml } from '../helpers/configExamples.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const RICH = richConfigYaml({
  adminToken: 'secret-token',
  policy: '  path: ./policy.wasm\n  entrypoint: envoy/authz/allow\n  watch: true',
});

async function inChildError(file: string): Promise<unknown> {
  return loadConfigInChild({ file }).then(
    () => new Error('expected the child to refuse the config'),
    (error: unknown) => error,
  );
}

describe('loadConfigInChild', () => {
  it('gives the Config loadConfig gives, defaults and transforms included', async () => {
    const dir = makeTempDir('portcullis-config-child-');
    writeFiles(dir, { 'rich.yaml': RICH, 'policy.wasm': 'not read here', 'small.yaml': 'logLevel: debug\n' });
    for (const name of ['rich.yaml', 'small.yaml']) {
      const file = join(dir, name);
      expect(await loadConfigInChild({ file })).toStrictEqual(await loadConfig({ file }));
    }
  });

  it('refuses what loadConfig refuses, with the same ConfigError', async () => {
    const dir = makeTempDir('portcullis-config-child-');
    writeFiles(dir, {
      'unknown.yaml': 'grpc: { address: nope }\nfoo: 1\n',
      'yaml.yaml': 'grpc: [\n',
      'duplicate.yaml': 'logLevel: info\nlogLevel: debug\n',
    });
    for (const name of ['unknown.yaml', 'yaml.yaml', 'duplicate.yaml', 'missing.yaml']) {
      const file = join(dir, name);
      const inProcess = await loadConfig({ file }).then(
        () => new Error('expected loadConfig to refuse the config'),
        (error: unknown) => error,
      );
      const fromChild = await inChildError(file);
      expect(inProcess).toBeInstanceOf(ConfigError);
      expect(fromChild).toBeInstanceOf(ConfigError);
      const { code, message, file: named, issues } = inProcess as ConfigError;
      expect(fromChild).toMatchObject({ code, message, file: named, issues });
    }
  });
});
