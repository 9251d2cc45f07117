// The policy input's way into the Wasm instance: JSON text written straight into its memory, the verified
// identity's text reused while the identity object is the same (frozen) one, exact numbers kept, memory grown
// for an input larger than what is free.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactNumber, stringifyInput } from '../../src/input/exactJson.js';
import { policyInputJson } from '../../src/input/inputJson.js';
import { loadPolicyFromSettings, type LoadedPolicy } from '../../src/policy/engine.js';

const POLICY = `package envoy.authz

import rego.v1

result := {
  "subject": input.identity.subject,
  "exact": input.identity.claims.big == 9007199254740993,
  "body": count(input.parsed_body),
  "name": input.name,
}
`;

function identity(subject: string, big: string): object {
  const claims = Object.freeze({ sub: subject, big: new ExactNumber(big) });
  return Object.freeze({ provider: 'p', subject, claims, token_id: null });
}

describe('the policy input as JSON text', () => {
  let dir: string;
  let policy: LoadedPolicy;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-input-json-'));
    writeFileSync(join(dir, 'authz.rego'), POLICY);
    policy = await loadPolicyFromSettings({ path: dir, entrypoint: 'envoy/authz/result' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reuses a frozen identity for as long as it is the same object, and never for another one', () => {
    const alice = identity('alice', '9007199254740993');
    for (let i = 0; i < 3; i++) {
      expect(policy.evaluate({ name: `n${i}`, parsed_body: 'ab', identity: alice })).toEqual({
        defined: true,
        value: { subject: 'alice', exact: true, body: 2, name: `n${i}` },
      });
    }
    const bob = identity('bob', '9007199254740992');
    expect(policy.evaluate({ name: 'n', parsed_body: 'abc', identity: bob })).toEqual({
      defined: true,
      value: { subject: 'bob', exact: false, body: 3, name: 'n' },
    });
  });

  it('is the same JSON as the whole input stringified, unfrozen identities included', () => {
    const alice = identity('alice', '9007199254740993');
    const input = { name: 'ünïcödé ✓', parsed_body: null, identity: alice };
    expect(JSON.parse(policyInputJson(input).join(''))).toEqual(JSON.parse(JSON.stringify(input)));
    expect(policyInputJson(input).join('')).toContain('"big":9007199254740993');
    const unfrozen = { name: 'x', identity: { subject: 'carol', claims: {} } };
    expect(policyInputJson(unfrozen)).toEqual([JSON.stringify(unfrozen)]);
    expect(policyInputJson({ identity: alice }).join('')).toBe(stringifyInput({ identity: alice }));
  });

  it('grows the memory for an input larger than what is free, and the next evaluation is unaffected', () => {
    const alice = identity('alice', '9007199254740993');
    const big = 'é'.repeat(3_000_000); // 6 MB of UTF-8
    expect(policy.evaluate({ name: 'big', parsed_body: big, identity: alice })).toEqual({
      defined: true,
      value: { subject: 'alice', exact: true, body: 3_000_000, name: 'big' },
    });
    expect(policy.evaluate({ name: 'small', parsed_body: 'x', identity: alice })).toEqual({
      defined: true,
      value: { subject: 'alice', exact: true, body: 1, name: 'small' },
    });
  });
});
