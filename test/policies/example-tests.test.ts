// The shipped policies' Rego unit tests (policies/authz_test.rego for the default policy with its data.json,
// policies/examples/*/policy_test.rego), run by `portcullis policy test` on the compiled Wasm, as a policy
// author runs them.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyTest } from '../../src/cli/policyTest.js';
import { capture } from '../cli/capture.js';
import { policiesDir } from './harness.js';

describe('policies/ unit tests', () => {
  it('policy test policies/ passes every test_ rule', async () => {
    const io = capture();
    const code = await policyTest(['--format', 'json', policiesDir], io);
    const records = JSON.parse(io.out) as Array<{ package: string; name: string; fail?: boolean; error?: unknown }>;
    const failing = records
      .filter((r) => r.fail === true || r.error !== undefined)
      .map((r) => `${r.package}.${r.name}`);
    expect(failing, io.err).toEqual([]);
    expect(code).toBe(0);
    // The default policy and every example carry tests.
    expect(new Set(records.map((r) => r.package))).toEqual(
      new Set([
        'data.envoy.authz_test',
        'data.examples.allowlist_test',
        'data.examples.openapi_operations_test',
        'data.examples.rbac_test',
        'data.examples.tenant_isolation_test',
        'data.examples.upstream_headers_test',
      ]),
    );
  });

  it('a broken example policy fails its tests (the suite can fail)', async () => {
    const io = capture();
    // Only the rbac tests, against the allowlist policy's package: every rbac.allow is undefined.
    expect(
      await policyTest(
        ['--run', 'rbac_test.test_reader_reads_reports', join(policiesDir, 'examples', 'rbac', 'policy_test.rego')],
        io,
      ),
    ).toBe(1);
    expect(io.out).toMatch(/test_reader_reads_reports: FAIL/);
  });

  it('every example directory has its policy_test.rego', () => {
    const examples = readdirSync(join(policiesDir, 'examples'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.filter((name) => !existsSync(join(policiesDir, 'examples', name, 'policy_test.rego')))).toEqual([]);
  });
});
