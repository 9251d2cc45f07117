// Signed bundles: OPA's file digests (structured documents hashed on their value, numbers as written), a
// signature laid out by hand with jose the way `opa build --signing-key` writes it, every refusal (unsigned,
// tampered, unlisted file, missing file, wrong key, wrong scope, algorithm confusion), `policy build
// --signing-key`, and a sidecar that activates a signed bundle and refuses a tampered one or one signed with
// another key.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { readBundleFiles } from '@portcullis/rego-wasm/bundle';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashBundleFile } from '../../src/bundle/fileHash.js';
import { loadVerificationSettings, type VerificationSettings } from '../../src/bundle/keys.js';
import { globToRegExp, verifyBundleSignature } from '../../src/bundle/signature.js';
import { policyBuild } from '../../src/cli/policy.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import {
  compileDataDrivenPolicy,
  DATA_DRIVEN_POLICY,
  eventually,
  makeBundle,
  metricValue,
  startBundleServer,
  type BundleServer,
} from './helpers.js';

const encode = (text: string) => new TextEncoder().encode(text);
const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe("OPA's file digests", () => {
  it('hashes data.json and .manifest on their value (sorted keys, no whitespace, numbers as written)', () => {
    const pretty = '{\n  "b": 1.50,\n  "a": [true, "x</>", null],\n  "\u00fc": {"z": 1e3, "y": "\u2028"}\n}\n';
    // Written out by hand: keys in UTF-8 byte order, Go's string escaping (no HTML escaping, U+2028 escaped).
    const canonical = '{"a":[true,"x</>",null],"b":1.50,"\u00fc":{"y":"\\u2028","z":1e3}}';
    expect(hashBundleFile('data.json', encode(pretty), 'SHA-256')).toBe(sha256(canonical));
    expect(hashBundleFile('nested/dir/data.json', encode(pretty), 'SHA-256')).toBe(sha256(canonical));
    expect(hashBundleFile('.manifest', encode('{"roots": [""], "revision": "r"}'), 'SHA-256')).toBe(
      sha256('{"revision":"r","roots":[""]}'),
    );
    // Anything else is hashed as bytes, whitespace included.
    expect(hashBundleFile('other.json', encode(pretty), 'SHA-256')).toBe(sha256(pretty));
    expect(hashBundleFile('policy.rego', encode(DATA_DRIVEN_POLICY), 'SHA-512')).toBe(
      createHash('sha512').update(DATA_DRIVEN_POLICY).digest('hex'),
    );
  });

  it.each([
    // Already in Go's order with plain numbers: the native encoder's text.
    ['{ "a": 1, "b": [2, 3.5], "c": "\u2028" }', '{"a":1,"b":[2,3.5],"c":"\\u2028"}'],
    // Array-index keys, which JavaScript enumerates first, in byte order all the same.
    ['{"10": 1, "9": 2, "1": 3, "a": 0}', '{"1":3,"10":1,"9":2,"a":0}'],
    ['{"b": 1, "__proto__": {"x": -0.5}}', '{"__proto__":{"x":-0.5},"b":1}'],
    // Characters beyond the Basic Multilingual Plane sort after U+FFFF in UTF-8, before it in UTF-16.
    ['{"\uffff": 1, "\ud83d\ude00": 2}', '{"\uffff":1,"\ud83d\ude00":2}'],
    ['[1, 1.0, 100, 1e2, -0]', '[1,1.0,100,1e2,-0]'],
  ])('hashes %s as %s', (text, canonical) => {
    expect(hashBundleFile('data.json', encode(text), 'SHA-256')).toBe(sha256(canonical));
  });

  it("matches exclude patterns as Go's filepath.Match does", () => {
    expect(globToRegExp('*.md').test('README.md')).toBe(true);
    expect(globToRegExp('*.md').test('docs/README.md')).toBe(false);
    expect(globToRegExp('docs/?.txt').test('docs/a.txt')).toBe(true);
    expect(globToRegExp('[^a]b').test('cb')).toBe(true);
    expect(globToRegExp('[^a]b').test('ab')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('verifying .signatures.json', () => {
  // An opa build layout: names without a leading slash, Rego sources, pretty data.json.
  const files = new Map<string, Uint8Array>([
    ['data.json', encode('{\n  "config": {"open": true}\n}\n')],
    ['envoy/authz/policy.rego', encode(DATA_DRIVEN_POLICY)],
    ['.manifest', encode('{"revision":"signed-1","roots":[""]}')],
  ]);
  const listed = [
    { name: 'data.json', hash: sha256('{"config":{"open":true}}'), algorithm: 'SHA-256' },
    { name: 'envoy/authz/policy.rego', hash: sha256(DATA_DRIVEN_POLICY), algorithm: 'SHA-256' },
    { name: '.manifest', hash: sha256('{"revision":"signed-1","roots":[""]}'), algorithm: 'SHA-256' },
  ];
  let settings: VerificationSettings;

  beforeAll(async () => {
    settings = await loadVerificationSettings({
      keys: {
        main: { algorithm: 'RS256', key: pem(rsa.publicKey) },
        ec: { algorithm: 'ES256', key: pem(ec.publicKey) },
        hmac: { algorithm: 'HS256', key: 'shared-secret' },
      },
      exclude: [],
    });
  });

  async function jwt(
    payload: Record<string, unknown>,
    header: Record<string, unknown>,
    key: KeyObject | Uint8Array,
  ): Promise<string> {
    return new CompactSign(encode(JSON.stringify(payload))).setProtectedHeader(header as { alg: string }).sign(key);
  }
  const withSignatures = (tokens: string[], extra: Array<[string, Uint8Array]> = []) =>
    new Map([...files, ...extra, ['.signatures.json', encode(JSON.stringify({ signatures: tokens }, null, ' '))]]);

  it('accepts a signature laid out as opa build writes it (key chosen by the deprecated keyid claim)', async () => {
    const token = await jwt({ files: listed, keyid: 'main' }, { alg: 'RS256' }, rsa.privateKey);
    expect(await verifyBundleSignature(withSignatures([token]), settings)).toEqual({
      ok: true,
      keyId: 'main',
      files: 3,
    });
  });

  it('chooses the key by the kid header, and by verification.keyId over both', async () => {
    const token = await jwt({ files: listed }, { alg: 'ES256', kid: 'ec' }, ec.privateKey);
    expect(await verifyBundleSignature(withSignatures([token]), settings)).toMatchObject({ ok: true, keyId: 'ec' });
    const forced = await verifyBundleSignature(withSignatures([token]), { ...settings, keyId: 'main' });
    expect(forced).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify with key "main"/) });
    const hmac = await jwt({ files: listed }, { alg: 'HS256', kid: 'hmac' }, encode('shared-secret'));
    expect(await verifyBundleSignature(withSignatures([hmac]), settings)).toMatchObject({ ok: true });
  });

  it.each([
    ['unsigned', async () => files, /not signed/],
    [
      'a tampered file',
      async () => {
        const token = await jwt({ files: listed, keyid: 'main' }, { alg: 'RS256' }, rsa.privateKey);
        const tampered = withSignatures([token]);
        tampered.set('data.json', encode('{"config": {"open": false}}'));
        return tampered;
      },
      /data\.json: digest mismatch/,
    ],
    [
      'a file the signature does not list',
      async () =>
        withSignatures(
          [await jwt({ files: listed, keyid: 'main' }, { alg: 'RS256' }, rsa.privateKey)],
          [['extra/data.json', encode('{"config": {"open": false}}')]],
        ),
      /extra\/data\.json is in the bundle but not in its signature/,
    ],
    [
      'a listed file missing from the bundle',
      async () =>
        withSignatures([
          await jwt(
            { files: [...listed, { name: 'gone.rego', hash: sha256('x'), algorithm: 'SHA-256' }], keyid: 'main' },
            { alg: 'RS256' },
            rsa.privateKey,
          ),
        ]),
      /lists gone\.rego, missing from the bundle/,
    ],
    [
      'a signature by another key',
      async () => withSignatures([await jwt({ files: listed }, { alg: 'RS256', kid: 'main' }, otherRsa.privateKey)]),
      /does not verify with key "main"/,
    ],
    [
      'an unknown key id',
      async () => withSignatures([await jwt({ files: listed }, { alg: 'RS256', kid: 'nope' }, rsa.privateKey)]),
      /names the key "nope", which verification.keys lacks/,
    ],
    [
      'no key id at all',
      async () => withSignatures([await jwt({ files: listed }, { alg: 'RS256' }, rsa.privateKey)]),
      /names no key/,
    ],
    [
      'a wrong scope',
      async () =>
        withSignatures([await jwt({ files: listed, scope: 'write' }, { alg: 'RS256', kid: 'main' }, rsa.privateKey)]),
      /scope mismatch/,
    ],
    [
      'HS256 made with the RSA public key as the secret (algorithm confusion)',
      async () =>
        withSignatures([await jwt({ files: listed }, { alg: 'HS256', kid: 'main' }, encode(pem(rsa.publicKey)))]),
      /does not verify with key "main"/,
    ],
    [
      'two JWTs',
      async () => {
        const token = await jwt({ files: listed }, { alg: 'RS256', kid: 'main' }, rsa.privateKey);
        return withSignatures([token, token]);
      },
      /exactly one is expected/,
    ],
  ])('refuses %s', async (_name, make, reason) => {
    const outcome = await verifyBundleSignature(await make(), settings);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.reason).toMatch(reason);
  });

  it('leaves files matching verification.exclude out of the check', async () => {
    const token = await jwt({ files: listed }, { alg: 'RS256', kid: 'main' }, rsa.privateKey);
    const bundle = withSignatures([token], [['README.md', encode('# notes')]]);
    expect((await verifyBundleSignature(bundle, settings)).ok).toBe(false);
    expect(await verifyBundleSignature(bundle, { ...settings, exclude: ['*.md'] })).toMatchObject({ ok: true });
  });
});

describe('portcullis policy build --signing-key', () => {
  it('writes a bundle whose signature verifies with the public key and names the key id', async () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'authz.rego'), DATA_DRIVEN_POLICY);
    writeFileSync(join(dir, 'src', 'data.json'), '{"config": {"open": true}}');
    writeFileSync(join(dir, 'signer.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const out: string[] = [];
    const args = [join(dir, 'src'), '-o', join(dir, 'signed.tar.gz'), '--signing-key', join(dir, 'signer.pem')];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    expect(await policyBuild([...args, '--signing-alg', 'ES256', '--signing-key-id', 'ec'], io), out.join('')).toBe(0);
    const files = await readBundleFiles(new Uint8Array(readFileSync(join(dir, 'signed.tar.gz'))));
    const settings = await loadVerificationSettings({
      keys: { ec: { algorithm: 'ES256', key: pem(ec.publicKey) } },
      exclude: [],
    });
    expect(await verifyBundleSignature(files, settings)).toEqual({ ok: true, keyId: 'ec', files: 3 });
    // RS256 (the default) with an EC key is a usage error, exit 2.
    expect(await policyBuild([...args], io)).toBe(2);
    expect(out.join('')).toMatch(/cannot make RS256 signatures/);
  });
});

describe('a sidecar with policy.bundle.verification', () => {
  const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;
  let wasm: Uint8Array;
  let t: TestSidecar | undefined;
  let s: BundleServer | undefined;
  beforeAll(async () => {
    wasm = await compileDataDrivenPolicy();
  });
  afterEach(async () => {
    await t?.close();
    await s?.close();
  });

  it('activates a signed bundle, refuses a tampered one and one signed with another key, keeping the good one', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'signer.pub.pem'), pem(rsa.publicKey));
    s = await startBundleServer();
    const sign = { key: rsa.privateKey, algorithm: 'RS256' as const, keyId: 'main' };
    s.serve(await makeBundle(wasm, { revision: 'signed', open: true, sign }), '"s1"');
    t = await startTestSidecar({
      config: {
        policy: {
          bundle: {
            url: s.url,
            polling: { minSeconds: 0.05, maxSeconds: 0.1 },
            verification: {
              keyId: 'main',
              keys: { main: { algorithm: 'RS256', keyFile: join(dir, 'signer.pub.pem') } },
            },
          },
        },
      },
    });
    const adminUrl = t.adminUrl;
    const revision = async () =>
      ((await (await fetch(`${adminUrl}/v1/policy`)).json()) as { revision?: string }).revision;
    const refusals = () =>
      t!.logs
        .filter((l) => l['msg'] === 'policy bundle refused; keeping the policy in force')
        .map((l) => String(l['reason']))
        .join('\n');
    await eventually(async () => (await revision()) === 'signed', 'the signed bundle');
    expect(status(await t.client.check(checkRequest()))).toBe(200);

    s.serve(await makeBundle(wasm, { revision: 'tampered', open: false, sign, tamper: true }), '"s2"');
    await eventually(() => /data\.json: digest mismatch/.test(refusals()), 'the tampered bundle refused');
    s.serve(
      await makeBundle(wasm, { revision: 'other', open: false, sign: { ...sign, key: otherRsa.privateKey } }),
      '"s3"',
    );
    await eventually(
      () => /does not verify with key "main"/.test(refusals()),
      'the bundle signed by another key refused',
    );
    s.serve(await makeBundle(wasm, { revision: 'unsigned', open: false }), '"s4"');
    await eventually(() => /not signed/.test(refusals()), 'the unsigned bundle refused');
    expect(
      await metricValue(adminUrl, /portcullis_bundle_fetches_total\{result="refused"\} (\d+)/),
    ).toBeGreaterThanOrEqual(3);
    expect(await revision()).toBe('signed');
    expect(status(await t.client.check(checkRequest()))).toBe(200);
  });

  it('refuses a signed bundle when no verification is configured, as OPA does', async () => {
    s = await startBundleServer();
    s.serve(
      await makeBundle(wasm, { revision: 'signed', open: true, sign: { key: rsa.privateKey, algorithm: 'RS256' } }),
      '"s1"',
    );
    t = await startTestSidecar({
      config: { policy: { bundle: { url: s.url, polling: { minSeconds: 0.05, maxSeconds: 0.1 } } } },
    });
    const adminUrl = t.adminUrl;
    await eventually(
      async () => (await metricValue(adminUrl, /portcullis_bundle_fetches_total\{result="refused"\} (\d+)/)) >= 1,
      'a refusal',
    );
    expect((await fetch(`${adminUrl}/readyz`)).status).toBe(503);
  });
});
