// policy.watch: a changed policy is swapped in; a broken one keeps the last good policy and is counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';

const allowPath = (segment: string) => `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "${segment}"
`;

const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;

/** Polls until `probe` holds; the deadline only bounds a hung test, nothing is asserted about speed. */
async function eventually(probe: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('policy hot reload', () => {
  let t: TestSidecar;
  const revision = async () => ((await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as { revision: string }).revision;
  const metric = async (pattern: RegExp) => {
    const match = pattern.exec(await (await fetch(`${t.adminUrl}/metrics`)).text());
    return match === null ? 0 : Number(match[1]);
  };

  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': allowPath('v1') },
      config: { policy: { watch: true } },
    });
  });
  afterAll(async () => t?.close());

  it('swaps in a changed policy without a restart', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/v1' })))).toBe(200);
    const before = await revision();
    t.write('policies/authz.rego', allowPath('v2'));
    await eventually(async () => (await revision()) !== before, 'the new revision');
    expect(status(await t.client.check(checkRequest({ path: '/v2' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/v1' })))).toBe(403);
    expect(await metric(/portcullis_policy_reloads_total\{result="success"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  });

  it('keeps the last good policy when the new one does not compile, and counts the error', async () => {
    const good = await revision();
    t.write('policies/authz.rego', 'package envoy.authz\n\nallow if {{{ broken\n');
    await eventually(
      async () => (await metric(/portcullis_policy_reloads_total\{result="error"\} (\d+)/)) >= 1,
      'the reload error to be counted',
    );
    expect(await revision()).toBe(good);
    expect(status(await t.client.check(checkRequest({ path: '/v2' })))).toBe(200);
    const logged = t.logs.find((l) => l['msg'] === 'policy reload failed; keeping the last good policy');
    expect(JSON.stringify(logged?.['err'])).toContain('authz.rego');
  });

  it('recovers when the policy is fixed again', async () => {
    t.write('policies/authz.rego', allowPath('v3'));
    await eventually(async () => status(await t.client.check(checkRequest({ path: '/v3' }))) === 200, 'the fixed policy');
  });
});

describe('policy hot reload of policy.data', () => {
  let t: TestSidecar;
  const DATA_POLICY = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.parsed_path[0] in data.open\n';
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': DATA_POLICY, 'data.json': JSON.stringify({ open: ['a'] }) },
      config: { policy: { watch: true, data: 'data.json' } },
    });
  });
  afterAll(async () => t?.close());

  it('puts a replaced policy.data file in force', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/a' })))).toBe(200);
    t.write('data.json', JSON.stringify({ open: ['b'] }));
    await eventually(async () => status(await t.client.check(checkRequest({ path: '/b' }))) === 200, 'the new data');
    expect(status(await t.client.check(checkRequest({ path: '/a' })))).toBe(403);
  });
});
