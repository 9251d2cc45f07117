// The policy input's way into the Wasm instance: JSON text written straight into its memory, the verified
// identity's text reused while the identity object is the same (frozen) one, exact numbers kept, memory grown
// for an input larger than what is free.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactNumber, stringifyInput } from '../../src/input/exactJson.js';
import { LONG_HEADER_VALUE, policyInputJson } from '../../src/input/inputJson.js';
import { loadPolicyFromSettings, type LoadedPolicy } from '../../src/policy/engine.js';

const POLICY = `package envoy.authz

import rego.v1

result := {
  "subject": input.identity.subject,
  "exact": input.identity.claims.big == 9007199254740993,
  "body": count(input.parsed_body),
  "name": input.name,
}

headers := {
  "subject": input.identity.subject,
  "authorization": input.attributes.request.http.headers.authorization,
  "accept": input.attributes.request.http.headers.accept,
}
`;

function identity(subject: string, big: string): object {
  const claims = Object.freeze({ sub: subject, big: new ExactNumber(big) });
  return Object.freeze({ provider: 'p', subject, claims, token_id: null });
}

describe('the policy input as JSON text', () => {
  let dir: string;
  let policy: LoadedPolicy;
  let headersPolicy: LoadedPolicy;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-input-json-'));
    writeFileSync(join(dir, 'authz.rego'), POLICY);
    policy = await loadPolicyFromSettings({ path: dir, entrypoint: 'envoy/authz/result' });
    headersPolicy = await loadPolicyFromSettings({ path: dir, entrypoint: 'envoy/authz/headers' });
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

  describe('long header values', () => {
    const token = `Bearer ${'eyJhbGciOiJSUzI1NiJ9.'.repeat(20)}sig_-x`;
    const request = (headers: Record<string, unknown>) => ({
      attributes: { request: { http: { method: 'GET', headers } } },
      parsed_body: null,
      name: 'n',
    });

    it('writes a long value that needs no escaping as a piece of its own, the same JSON as stringified', () => {
      expect(token.length).toBeGreaterThanOrEqual(LONG_HEADER_VALUE);
      const headers = { accept: 'x', authorization: token, 'x-request-id': 'r' };
      const input = request(headers);
      const before = JSON.stringify(input);
      const pieces = policyInputJson(input);
      expect(pieces).toContain(token);
      expect(pieces.join('')).toBe(stringifyInput(input));
      expect(JSON.stringify(input)).toBe(before);
      const alice = identity('alice', '9007199254740993');
      const withIdentity = { ...request({ authorization: token }), identity: alice };
      expect(policyInputJson(withIdentity)).toContain(token);
      expect(JSON.parse(policyInputJson(withIdentity).join(''))).toEqual(JSON.parse(stringifyInput(withIdentity)));
    });

    it('stringifies values that need escaping, short values, and inputs where it cannot swap the value', () => {
      for (const value of [
        `${token}"quoted"`,
        `${token}\\`,
        `${token}\u0001`,
        `${token}é`,
        `${token}\ud800`,
        token.slice(0, LONG_HEADER_VALUE - 1),
      ]) {
        const input = request({ authorization: value });
        expect(policyInputJson(input), JSON.stringify(value)).toEqual([stringifyInput(input)]);
      }
      // another header holding the marker's text: the marker no longer says where the value goes
      const marker = '@portcullis:long-header-value@';
      const spoofed = request({ 'x-a': marker, authorization: token });
      expect(policyInputJson(spoofed)).toEqual([stringifyInput(spoofed)]);
      expect(JSON.parse(policyInputJson(spoofed).join('')).attributes.request.http.headers['x-a']).toBe(marker);
      const frozen = request(Object.freeze({ authorization: token }));
      expect(policyInputJson(frozen)).toEqual([stringifyInput(frozen)]);
      const readOnly = request(Object.defineProperty({}, 'authorization', { value: token, enumerable: true }));
      expect(policyInputJson(readOnly)).toEqual([stringifyInput(readOnly)]);
    });

    it('reaches the policy whole', () => {
      const alice = identity('alice', '9007199254740993');
      for (let i = 0; i < 2; i++) {
        expect(
          headersPolicy.evaluate({ ...request({ authorization: token, accept: `a${i}` }), identity: alice }),
        ).toEqual({
          defined: true,
          value: { subject: 'alice', authorization: token, accept: `a${i}` },
        });
      }
    });
  });
});
