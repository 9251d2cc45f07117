// policy.bundle's configuration: defaults, and the mistakes refused at start-up (exit 2) with their key path.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';

const parse = (bundle: Record<string, unknown>) => configSchema.safeParse({ policy: { bundle } });
const firstIssue = (bundle: Record<string, unknown>) => {
  const result = parse(bundle);
  return result.success ? null : `${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message}`;
};

describe('policy.bundle config', () => {
  it("takes OPA's polling defaults and no verification", () => {
    const result = parse({ url: 'https://bundles.example.com/authz.tar.gz' });
    expect(result.success && result.data.policy.bundle).toMatchObject({
      polling: { minSeconds: 60, maxSeconds: 120 },
      headers: {},
    });
    expect(result.success && result.data.policy.bundle?.verification).toBeUndefined();
  });

  it.each([
    [{ url: 'ftp://x/b.tar.gz' }, /url: expected an http/],
    [
      { url: 'https://x/b', polling: { minSeconds: 30, maxSeconds: 10 } },
      /polling.minSeconds: minSeconds must not exceed/,
    ],
    [{ url: 'https://x/b', headers: { 'bad header': 'v' } }, /headers.bad header: /],
    [{ url: 'https://x/b', headers: { 'x-a': 'v\r\nx-b: smuggled' } }, /line breaks/],
    [
      { url: 'https://x/b', bearerToken: 't', headers: { Authorization: 'Basic x' } },
      /bearerToken or an Authorization header/,
    ],
    [{ url: 'https://x/b', tls: { certFile: 'c.pem' } }, /certFile and keyFile together/],
    [{ url: 'https://x/b', verification: { keys: {} } }, /name at least one key/],
    [{ url: 'https://x/b', verification: { keyId: 'b', keys: { a: { key: 'k' } } } }, /keyId: keyId must name one of/],
    [{ url: 'https://x/b', verification: { keys: { a: { algorithm: 'none', key: 'k' } } } }, /algorithm/],
    [{ url: 'https://x/b', verification: { keys: { a: { key: 'k', keyFile: 'f' } } } }, /exactly one of key/],
  ])('refuses %j', (bundle, message) => {
    expect(firstIssue(bundle)).toMatch(message);
  });

  it('never echoes the bearer token in an error', () => {
    const result = configSchema.safeParse({ policy: { bundle: { url: 'nope', bearerToken: 'tok-secret-1' } } });
    expect(JSON.stringify(result.error?.issues)).not.toContain('tok-secret-1');
  });
});
