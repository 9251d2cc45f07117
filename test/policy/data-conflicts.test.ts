// Base data that conflicts with a rule is refused at load, as OPA refuses it ("conflicting rule for data
// path ... found"), so a reload with such data keeps the policy already serving instead of failing every
// request; data beside the rules loads and merges with them.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPolicyFromSettings } from '../../src/policy/engine.js';
import { PolicyLoadError } from '../../src/policy/errors.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.user in data.envoy.authz.users

limits.max := 3
`;

const dirs: string[] = [];
function policyDir(data: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-conflict-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'authz.rego'), POLICY);
  mkdirSync(join(dir, 'envoy'), { recursive: true });
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('base data beside rules at load', () => {
  it('loads data beside the rules, and rules read it', async () => {
    const dir = policyDir({ envoy: { authz: { users: ['ann'], limits: { min: 1 } } } });
    const policy = await loadPolicyFromSettings({ path: dir, entrypoint: 'envoy/authz/allow' });
    expect(policy.evaluate({ user: 'ann' })).toEqual({ defined: true, value: true });
  });

  it.each([
    ['at a rule path', { envoy: { authz: { allow: true } } }, 'envoy/authz/allow'],
    ['below a rule path', { envoy: { authz: { limits: { max: { x: 1 } } } } }, 'envoy/authz/limits/max'],
    ['a non-object above a rule', { envoy: { authz: 'x' } }, 'envoy/authz/allow'],
  ])('refuses data %s, naming the path', async (_, data, path) => {
    const load = loadPolicyFromSettings({ path: policyDir(data), entrypoint: 'envoy/authz/allow' });
    await expect(load).rejects.toThrow(PolicyLoadError);
    await expect(load).rejects.toThrow(`conflicting rule for data path ${path} found`);
  });

  it('checks policy.data merged over the directory data too', async () => {
    const dir = policyDir({ envoy: { authz: { users: [] } } });
    const extra = join(dir, 'extra.json');
    writeFileSync(extra, JSON.stringify({ envoy: { authz: { limits: 5 } } }));
    await expect(loadPolicyFromSettings({ path: dir, entrypoint: 'envoy/authz/allow', data: extra })).rejects.toThrow(
      /conflicting rule for data path envoy\/authz\/limits\/max found: its data \(with policy.data/,
    );
  });
});
