import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { expandEnv } from '../../src/config/env.js';
import { richConfigYaml } from '../helpers/configExamples.js';
import { makeTempDir } from '../helpers/sidecar.js';

function configError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfigText(text, 'portcullis.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('expandEnv', () => {
  it('expands ${VAR} and ${VAR:-default}, and $$ to a literal $', () => {
    expect(expandEnv('a=${A} b=${B:-two} c=$${A}', { A: 'one' })).toBe('a=one b=two c=${A}');
  });
  it('uses the default when the variable is set but empty', () => {
    expect(expandEnv('${A:-x}', { A: '' })).toBe('x');
  });
});

describe('loadConfig', () => {
  it('gives the embedded defaults without a file', async () => {
    const { config, file } = await loadConfig({ env: {} });
    expect(file).toBeNull();
    // Check on loopback only (no token oracle on the pod IP); admin on every interface for probes.
    expect(config.grpc.address).toBe('127.0.0.1:9191');
    expect(config.admin.address).toBe('0.0.0.0:9192');
    expect(config.shutdown).toEqual({ delaySeconds: 5, timeoutSeconds: 10 });
    expect(config.policy.path).toBe('./policies');
    expect(config.redis).toBeUndefined();
  });

  it('reads the file named by PORTCULLIS_CONFIG', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'grpc: { address: 127.0.0.1:7000 }\n');
    const { config } = await loadConfig({ env: { PORTCULLIS_CONFIG: file } });
    expect(config.grpc.address).toBe('127.0.0.1:7000');
  });

  it('prefers --config over PORTCULLIS_CONFIG', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'a.yaml'), 'grpc: { address: 127.0.0.1:7001 }\n');
    const { config } = await loadConfig({
      file: join(dir, 'a.yaml'),
      env: { PORTCULLIS_CONFIG: join(dir, 'missing.yaml') },
    });
    expect(config.grpc.address).toBe('127.0.0.1:7001');
  });

  it('names the file when it cannot be read', async () => {
    await expect(loadConfig({ file: '/nonexistent/portcullis.yaml', env: {} })).rejects.toThrow(
      /cannot read config file \/nonexistent\/portcullis.yaml/,
    );
  });

  it('expands environment variables, typing unquoted values as YAML would', () => {
    const config = parseConfigText(
      [
        'admin: { token: "${TOKEN}" }',
        'rateLimits:',
        '  - { name: r, key: [source.address], limit: ${LIMIT:-100}, periodSeconds: 60 }',
        'decisionLog: { includeInput: ${WITH_INPUT:-false} }',
      ].join('\n'),
      'c.yaml',
      { TOKEN: 's3cret: with #hash', WITH_INPUT: 'true' },
    );
    expect(config.admin.token).toBe('s3cret: with #hash');
    expect(config.rateLimits[0]?.limit).toBe(100);
    expect(config.decisionLog.includeInput).toBe(true);
  });

  it('leaves a key unset when its only content is an unset ${VAR}', () => {
    const config = parseConfigText(
      'admin: { address: 127.0.0.1:9999, token: ${PORTCULLIS_ADMIN_TOKEN} }\n',
      'c.yaml',
      {},
    );
    expect(config.admin.token).toBeUndefined();
    expect(config.admin.address).toBe('127.0.0.1:9999');
  });
});

describe('bad config files', () => {
  it('names an unknown key with its path and line', () => {
    const error = configError('grpc:\n  address: 0.0.0.0:9191\n  adress: 1.2.3.4:1\n');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('portcullis.yaml:3: grpc.adress: unknown key');
  });

  it('names an unknown top-level section', () => {
    expect(configError('grpc: {}\nratelimits: []\n').message).toContain('portcullis.yaml:2: ratelimits: unknown key');
  });

  it('names a wrong type with its path and line', () => {
    const error = configError('redis:\n  url: redis://127.0.0.1:6379\n  commandTimeoutMs: fast\n');
    expect(error.message).toMatch(/portcullis\.yaml:3: redis\.commandTimeoutMs: .*number/);
    expect(error.issues[0]?.keyPath).toBe('redis.commandTimeoutMs');
  });

  it('names an item inside a list', () => {
    const error = configError(
      'rateLimits:\n  - name: ok\n    key: [source.address]\n    limit: 1\n    periodSeconds: 1\n  - name: bad\n    key: [nonsense]\n    limit: 1\n    periodSeconds: 1\n',
    );
    expect(error.message).toContain('portcullis.yaml:7: rateLimits[1].key[0]');
  });

  it('names an enum value that is not allowed', () => {
    expect(configError('redis: { url: "redis://x:1", onError: maybe }\n').message).toContain('redis.onError');
  });

  it('reports invalid YAML with its line', () => {
    const error = configError('grpc:\n  address: [unclosed\nadmin: {}\n');
    expect(error.code).toBe('CONFIG_YAML');
    expect(error.message).toMatch(/^portcullis\.yaml:\d+: invalid YAML/);
  });

  it('refuses duplicate keys', () => {
    expect(configError('grpc: {}\ngrpc: {}\n').code).toBe('CONFIG_YAML');
  });

  it('reports a cross-field rule (jwt.required without providers)', () => {
    expect(configError('jwt: { required: true }\n').message).toContain('jwt.required is true but no jwt.providers');
  });
});

describe('a configuration using every usual section', () => {
  it('loads as written (flow maps, ${VAR}, lower-case methods)', () => {
    const text = richConfigYaml({
      adminToken: '${PORTCULLIS_ADMIN_TOKEN}',
      policy: '  path: ./policies\n  entrypoint: envoy/authz/allow\n  data: ./policies/data.json\n  watch: true',
    });
    const withToken = parseConfigText(text, 'design.yaml', { PORTCULLIS_ADMIN_TOKEN: 'tok' });
    expect(withToken.admin.token).toBe('tok');
    expect(withToken.jwt.providers[0]?.forwardClaims).toEqual({ 'x-user-id': 'sub' });
    expect(withToken.rateLimits[0]?.when?.methods).toEqual(['POST']);
    expect(withToken.jwt.providers[0]?.from).toHaveLength(2);
    expect(parseConfigText(text, 'design.yaml', {}).admin.token).toBeUndefined();
  });
});

describe('the shipped envoy/portcullis.yaml', () => {
  it('loads with its production defaults and follows its environment overrides', async () => {
    const file = new URL('../../envoy/portcullis.yaml', import.meta.url).pathname;
    const { config } = await loadConfig({ file, env: {} });
    expect(config.grpc.address).toBe('127.0.0.1:9191');
    expect(config.admin.token).toBeUndefined();
    expect(config.policy.watch).toBe(false);
    const overridden = await loadConfig({
      file,
      env: { PORTCULLIS_POLICY_WATCH: 'true', PORTCULLIS_ADMIN_TOKEN: 't' },
    });
    expect(overridden.config.policy.watch).toBe(true);
    expect(overridden.config.admin.token).toBe('t');
  });
});
