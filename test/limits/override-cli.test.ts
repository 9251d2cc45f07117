// `portcullis override` against a real sidecar's admin API: set, list, delete, and usage errors (exit 2).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { override, overrideRequest } from '../../src/cli/override.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

describe('portcullis override', () => {
  let sidecar: TestSidecar;
  beforeAll(async () => {
    sidecar = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        admin: { token: 'adm' },
        rateLimits: [{ name: 'per-pair', key: ['header.x-a', 'header.x-b'], limit: 5, periodSeconds: 60 }],
      },
    });
  });
  afterAll(async () => {
    await sidecar?.close();
  });

  async function run(options: Parameters<typeof override>[0]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
    try {
      const code = await override({ admin: sidecar.adminUrl, token: 'adm', ...options }, {});
      return { code, out, err };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  }

  it('sets, lists and deletes an override of a two-part key', async () => {
    expect((await run({ rule: 'per-pair', key: ['a', 'b'], limit: '50' })).code).toBe(0);
    const listed = await run({ list: true });
    expect(JSON.parse(listed.out)).toEqual({ overrides: [{ rule: 'per-pair', key: ['a', 'b'], limit: 50 }] });
    expect((await run({ rule: 'per-pair', key: ['a', 'b'], delete: true })).code).toBe(0);
    expect(JSON.parse((await run({ list: true })).out)).toEqual({ overrides: [] });
  });

  it('exits 1 when the admin API refuses (unknown rule, wrong token) and 2 on bad usage', async () => {
    expect((await run({ rule: 'nope', key: ['a'], limit: '1' })).code).toBe(1);
    expect((await run({ list: true, token: 'wrong' })).code).toBe(1);
    expect((await run({ rule: 'per-pair', key: ['a', 'b'] })).code).toBe(2);
    expect(() => overrideRequest({ rule: 'r', key: ['k'], limit: 'ten' })).toThrow(/--limit/);
    expect(overrideRequest({ rule: 'r', key: ['k'], limit: '3', until: '1900000000' })).toEqual({
      method: 'POST',
      body: { rule: 'r', key: ['k'], limit: 3, until: 1900000000 },
    });
  });
});
