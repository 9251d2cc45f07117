// The engine never evaluates a policy without its input: an input the Wasm runtime cannot load is an
// evaluation error (503 policy_error in the pipeline), so a deny-list policy cannot turn it into an allow.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFromSettings, type LoadedPolicy } from '../../src/policy/engine.js';
import { PolicyEvaluationError } from '../../src/policy/errors.js';

const DENY_LIST = `package envoy.authz

import rego.v1

default allow := false

allow if not deny

deny if "admin" in input.parsed_path
`;

function nested(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

describe('an input the policy engine cannot load', () => {
  let dir: string;
  let policy: LoadedPolicy;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-engine-'));
    writeFileSync(join(dir, 'authz.rego'), DENY_LIST);
    policy = await loadPolicyFromSettings({ path: dir, entrypoint: 'envoy/authz/allow' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is an evaluation error, never an evaluation with an undefined input', () => {
    const input = { parsed_path: ['admin', 'x'], parsed_body: nested(600) };
    expect(() => policy.evaluate(input)).toThrow(PolicyEvaluationError);
    expect(() => policy.evaluate(input)).toThrow(/input is not JSON or is nested deeper than 512 levels/);
  });

  it('leaves the next evaluation unaffected', () => {
    expect(policy.evaluate({ parsed_path: ['admin', 'x'], parsed_body: nested(100) })).toEqual({
      defined: true,
      value: false,
    });
    expect(policy.evaluate({ parsed_path: ['public'] })).toEqual({ defined: true, value: true });
  });
});
