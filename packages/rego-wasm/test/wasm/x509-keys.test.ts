// crypto.parse_private_keys, crypto.x509.parse_keypair and crypto.x509.parse_certificate_request on keys,
// certificates and requests made here with openssl. Expected numbers come from node:crypto's JWK export of
// the same keys; the shapes (field names, null for absent lists) were checked against json.Marshal of Go's
// values.
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinWireName, customBuiltins } from '../../src/builtins/index.js';
import { NumberText, parseExactJson } from '../../src/builtins/exact.js';

const dir = mkdtempSync(join(tmpdir(), 'x509-keys-'));
const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
};
const file = (name: string): string => readFileSync(join(dir, name), 'utf8');
/** Integers of any size as BigInt (RSA moduli are beyond a double's range: the wire keeps them as text). */
const bigInts = (v: unknown): unknown => {
  if (v instanceof NumberText) return BigInt(v.text);
  if (Array.isArray(v)) return v.map(bigInts);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bigInts(x)]));
  return v;
};
/** The builtin's answer as a compiled module gets it: big integers exact. */
const exact = (name: string, ...args: unknown[]): unknown => {
  const text = customBuiltins[builtinWireName(name)]!(...args.map((a) => JSON.stringify(a)));
  return text === undefined ? undefined : bigInts(parseExactJson(text as string));
};
const big = (b64url: unknown): bigint => BigInt(`0x${Buffer.from(String(b64url), 'base64url').toString('hex')}`);
const num = (v: bigint): bigint | number => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

beforeAll(() => {
  openssl('genrsa', '-traditional', '-out', 'rsa.key', '2048');
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key');
  openssl('genpkey', '-algorithm', 'ed25519', '-out', 'ed.key');
  openssl('pkcs8', '-topk8', '-nocrypt', '-in', 'ec.key', '-out', 'ec8.key');
  openssl('req', '-x509', '-key', 'ec.key', '-out', 'ec.pem', '-days', '2', '-subj', '/CN=pair');
  openssl('req', '-x509', '-key', 'rsa.key', '-out', 'rsa.pem', '-days', '2', '-subj', '/CN=rsa');
  writeFileSync(
    join(dir, 'csr.cnf'),
    '[req]\ndistinguished_name=dn\nreq_extensions=ext\nattributes=attr\n[dn]\n[attr]\nchallengePassword=secret123\n' +
      '[ext]\nsubjectAltName=DNS:a.example.com,IP:10.0.0.1,URI:spiffe://td/x,email:x@y.z\n' +
      'keyUsage=critical,digitalSignature\n',
  );
  openssl(
    'req',
    '-new',
    '-key',
    'rsa.key',
    '-out',
    'r.csr',
    '-config',
    'csr.cnf',
    '-subj',
    '/C=US/O=Org/OU=Unit/CN=req.example.com/emailAddress=me@example.com',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('crypto.parse_private_keys', () => {
  it("gives Go's *rsa.PrivateKey, *ecdsa.PrivateKey and ed25519.PrivateKey values", () => {
    const pem = file('rsa.key') + file('ec.key') + file('ed.key') + file('ec8.key');
    const keys = exact('crypto.parse_private_keys', pem) as unknown[];
    const rsa = createPrivateKey(file('rsa.key')).export({ format: 'jwk' });
    expect(keys[0]).toEqual({
      N: big(rsa.n),
      E: 65537,
      D: big(rsa.d),
      Primes: [big(rsa.p), big(rsa.q)],
      Precomputed: { Dp: big(rsa.dp), Dq: big(rsa.dq), Qinv: big(rsa.qi), CRTValues: [] },
    });
    const ec = createPrivateKey(file('ec.key')).export({ format: 'jwk' });
    const ecKey = { Curve: {}, X: num(big(ec.x)), Y: num(big(ec.y)), D: num(big(ec.d)) };
    expect(keys[1]).toEqual(ecKey);
    const ed = createPrivateKey(file('ed.key')).export({ format: 'jwk' });
    const seedAndPublic = Buffer.concat([
      Buffer.from(String(ed.d), 'base64url'),
      Buffer.from(String(ed.x), 'base64url'),
    ]);
    expect(keys[2]).toBe(seedAndPublic.toString('base64'));
    // The same EC key wrapped in PKCS #8.
    expect(keys[3]).toEqual(ecKey);
  });

  it('takes base64 of PEM, skips other blocks, and answers null for "" and [] for no keys', () => {
    const b64 = Buffer.from(file('ec.key')).toString('base64');
    expect((exact('crypto.parse_private_keys', b64) as unknown[]).length).toBe(1);
    expect((exact('crypto.parse_private_keys', file('ec.pem') + file('ec.key')) as unknown[]).length).toBe(1);
    expect(exact('crypto.parse_private_keys', '')).toBeNull();
    expect(exact('crypto.parse_private_keys', 'no pem here')).toEqual([]);
    // A block whose DER is cut short is an error, not a skipped block.
    const cut = file('ec.key').replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
    expect(exact('crypto.parse_private_keys', cut)).toBeUndefined();
  });
});

describe('crypto.x509.parse_keypair', () => {
  it('answers tls.Certificate: the DER chain, the key and the parsed leaf', () => {
    const pair = exact('crypto.x509.parse_keypair', file('ec.pem'), file('ec.key')) as Record<string, unknown>;
    const der = execFileSync('openssl', ['x509', '-outform', 'der'], { input: file('ec.pem') });
    expect(pair.Certificate).toEqual([der.toString('base64')]);
    expect(pair.PrivateKey).toEqual((exact('crypto.parse_private_keys', file('ec.key')) as unknown[])[0]);
    const { URIStrings: _, ...leaf } = (
      exact('crypto.x509.parse_certificates', file('ec.pem')) as Array<Record<string, unknown>>
    )[0]!;
    expect(pair.Leaf).toEqual(leaf);
    expect(pair.SupportedSignatureAlgorithms).toBeNull();
    expect(pair.OCSPStaple).toBeNull();
  });

  it('takes base64 of DER and of PEM, and refuses a key that does not match', () => {
    const der = execFileSync('openssl', ['x509', '-outform', 'der'], { input: file('ec.pem') });
    const keyDer = execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-outform', 'der'], {
      input: file('ec.key'),
    });
    const fromDer = exact('crypto.x509.parse_keypair', der.toString('base64'), keyDer.toString('base64'));
    expect(fromDer).toEqual(exact('crypto.x509.parse_keypair', file('ec.pem'), file('ec.key')));
    expect(exact('crypto.x509.parse_keypair', file('ec.pem'), file('rsa.key'))).toBeUndefined();
    expect(exact('crypto.x509.parse_keypair', file('rsa.pem'), file('rsa.key'))).toBeDefined();
    expect(exact('crypto.x509.parse_keypair', file('ec.pem'), 'not base64!')).toBeUndefined();
  });
});

describe('crypto.x509.parse_certificate_request', () => {
  it("answers Go's x509.CertificateRequest", () => {
    const csr = exact('crypto.x509.parse_certificate_request', file('r.csr')) as Record<string, unknown>;
    expect(csr.Version).toBe(0);
    expect(csr.SignatureAlgorithm).toBe(4);
    expect(csr.PublicKeyAlgorithm).toBe(1);
    expect(csr.Subject).toMatchObject({
      Country: ['US'],
      Organization: ['Org'],
      OrganizationalUnit: ['Unit'],
      Locality: null,
      CommonName: 'req.example.com',
    });
    expect((csr.Subject as { Names: unknown[] }).Names).toContainEqual({
      Type: [1, 2, 840, 113549, 1, 9, 1],
      Value: 'me@example.com',
    });
    expect(csr.DNSNames).toEqual(['a.example.com']);
    expect(csr.EmailAddresses).toEqual(['x@y.z']);
    expect(csr.IPAddresses).toEqual(['10.0.0.1']);
    expect((csr.URIs as Array<{ Scheme: string; Host: string; Path: string }>)[0]).toMatchObject({
      Scheme: 'spiffe',
      Host: 'td',
      Path: '/x',
    });
    expect(
      (csr.Extensions as Array<{ Id: number[]; Critical: boolean }>).map((e) => [e.Id.join('.'), e.Critical]),
    ).toEqual([
      ['2.5.29.17', false],
      ['2.5.29.15', true],
    ]);
    // Go keeps the extension request as an attribute too: a critical extension's value reads as null there
    // (a BOOLEAN is not a type encoding/asn1 puts in an `any`), and challengePassword does not parse at all.
    const attrs = csr.Attributes as Array<{ Type: number[]; Value: Array<Array<{ Type: number[]; Value: unknown }>> }>;
    expect(attrs.map((a) => a.Type.join('.'))).toEqual(['1.2.840.113549.1.9.14']);
    expect(attrs[0]!.Value[0]!.map((v) => v.Value === null)).toEqual([false, true]);
    expect(csr.ExtraExtensions).toBeNull();
  });

  it('takes base64 of PEM or DER and refuses other blocks', () => {
    const der = execFileSync('openssl', ['req', '-outform', 'der'], { input: file('r.csr') });
    const fromDer = exact('crypto.x509.parse_certificate_request', der.toString('base64'));
    expect(fromDer).toEqual(exact('crypto.x509.parse_certificate_request', file('r.csr')));
    expect(exact('crypto.x509.parse_certificate_request', Buffer.from(file('r.csr')).toString('base64'))).toEqual(
      fromDer,
    );
    expect(
      exact('crypto.x509.parse_certificate_request', Buffer.from(file('ec.pem')).toString('base64')),
    ).toBeUndefined();
    expect(exact('crypto.x509.parse_certificate_request', 'garbage')).toBeUndefined();
  });
});
