// crypto.x509.parse_certificates and crypto.x509.parse_and_verify_certificates(_with_options): OPA's own
// test vectors, a golden result, and chains made here with openssl. The golden file
// (fixtures/x509-letsencrypt.json, the certificate of OPA's test case cryptox509parsecertificates-0120) was
// checked field by field against json.Marshal of Go's x509.ParseCertificates for every field the Go
// release used has; the newer fields (Policies, Inhibit*, RequireExplicitPolicy*, PolicyMappings) and
// OPA's URIStrings follow Go 1.24–1.26's parser.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRego } from '../../src/index.js';
import { builtinWireName, customBuiltins } from '../../src/builtins/index.js';
import { goUrlString, ipString, parseGoUrl } from '../../src/builtins/x509AltNames.js';
import { goJsonString } from '../../src/builtins/x509Parse.js';

const fixture = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const call = (name: string, ...args: unknown[]): unknown => customBuiltins[name]!(...args);
/** The exact wire text a compiled module gets back (integers beyond 2^53 as digits). */
const wire = (name: string, ...args: unknown[]): unknown =>
  customBuiltins[builtinWireName(name)]!(...args.map((a) => JSON.stringify(a)));

const LETS_ENCRYPT = fixture('x509-letsencrypt.pem');
// OPA's cryptox509parsecertificates-raw-uris cases: base64 of PEM, with and without a URI SAN.
const SPIFFE_B64 =
  'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIxekNDQVh5Z0F3SUJBZ0lJZGxpT1dVY1NXM3N3Q2dZSUtvWkl6ajBFQXdJd1BURUxNQWtHQTFVRUJoTUMKUjBJeEVEQU9CZ05WQkFvVEIwVjRZVzF3YkdVeEhEQWFCZ05WQkFVVEV6RTFPREV4TnpnNU56UTJPRFkxTmpneQpOalF3SUJjTk1qTXhNVEl3TVRZMU5USTRXaGdQTWpFeU1qRXdNamN4TmpVMU1qaGFNRDB4Q3pBSkJnTlZCQVlUCkFrZENNUkF3RGdZRFZRUUtFd2RGZUdGdGNHeGxNUnd3R2dZRFZRUUZFeE00TlRJM056SXlOREE0TlRJeE5qVXoKTVRFMU1Ga3dFd1lIS29aSXpqMENBUVlJS29aSXpqMERBUWNEUWdBRXp0UDNrQnNpQXY4UUF5eWxUalJZSFlWegpjWTB5YmpBdC9VbWpZb3Fxb0o4SEtIdXF1ckRaUmVwa05qUXdwV3pmZndZZ0xaNk42SisyVUlPdlZ0TDZEcU5rCk1HSXdEZ1lEVlIwUEFRSC9CQVFEQWdlQU1CMEdBMVVkSlFRV01CUUdDQ3NHQVFVRkJ3TUNCZ2dyQmdFRkJRY0QKQVRBTUJnTlZIUk1CQWY4RUFqQUFNQ01HQTFVZEVRUWNNQnFHR0hOd2FXWm1aVG92TDJWNFlXMXdiR1V1WTI5dApMMjl3WVRBS0JnZ3Foa2pPUFFRREFnTkpBREJHQWlFQXlRNDhPd25lTHkzMjZqYitEUjd5RjJhcS94Wnl1cW9qCitUU3ZLVVB5NEU0Q0lRQ0VMUlp3K0dWTjhJR0drVGV4MGxxTDNxY21mWldJbm15VitrbnQ0d3p3L3c9PQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==';
const NO_URIS_B64 =
  'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUNTakNDQWJPZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRMEZBREJDTVFzd0NRWURWUVFHRXdKMWN6RUwKTUFrR0ExVUVDQXdDUTBFeEVEQU9CZ05WQkFvTUIwVjRZVzF3YkdVeEZEQVNCZ05WQkFNTUMyVjRZVzF3YkdVdQpZMjl0TUI0WERUSXpNVEV5T1RFMk5ESXdPRm9YRFRJME1URXlPREUyTkRJd09Gb3dRakVMTUFrR0ExVUVCaE1DCmRYTXhDekFKQmdOVkJBZ01Ba05CTVJBd0RnWURWUVFLREFkRmVHRnRjR3hsTVJRd0VnWURWUVFEREF0bGVHRnQKY0d4bExtTnZiVENCbnpBTkJna3Foa2lHOXcwQkFRRUZBQU9CalFBd2dZa0NnWUVBempOT1puY05DL25MdEZQYwpUNnNlSzZ0ditTbU9GaGk3NVBKRm9sQ0dFZUFiTHJHTzhaUmR2cXY2OStTTk41MUhrNFBJUDUrejk4aHZIdWJQClVtcGdOMVdVM3FKK2tOVTJXL3poR3pLMTdIL2c3YjVJTjRHZmx3bXJlRWZscnRicnZKSGRlRkVhVGtmYnVld0YKVmZvLzRiaG0yYUthczNHcUo3RnlBNDVxeVUwQ0F3RUFBYU5RTUU0d0hRWURWUjBPQkJZRUZOUStDMUVOK0dSYwpGS1dyTll6ZWdnbFc3TE9lTUI4R0ExVWRJd1FZTUJhQUZOUStDMUVOK0dSY0ZLV3JOWXplZ2dsVzdMT2VNQXdHCkExVWRFd1FGTUFNQkFmOHdEUVlKS29aSWh2Y05BUUVOQlFBRGdZRUF1cXdVVWVXbTFJaURRbmphK1hqd1VCaXUKQXBYWEx5NlFZRG9jUkhoRHlJS3BKSWRJOXltNi9RcVhkOFQ2WGlYUTJDbFNJbGxBSTByQWJYNUZvYzNxaWRkUAp0d2huT1pxd3NZdFhUNy9XOHFLSm5FVnhZckJuRmZSdk9SU3ZlOEtwSDErVHQ2elZEYlJ5bENacTR1TTNrZXN2CmJabXlVdlM1bldBVm44ZmhFdUU9Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0=';

describe('crypto.x509.parse_certificates', () => {
  it("answers OPA's test cases", () => {
    const le = call('crypto.x509.parse_certificates', LETS_ENCRYPT) as Array<Record<string, { CommonName: string }>>;
    expect(le.map((c) => c.Subject!.CommonName)).toEqual(['openpolicyagent.org']);
    const spiffe = call('crypto.x509.parse_certificates', SPIFFE_B64) as Array<Record<string, unknown>>;
    expect(spiffe[0]!.URIStrings).toEqual(['spiffe://example.com/opa']);
    const noUris = call('crypto.x509.parse_certificates', NO_URIS_B64) as Array<Record<string, unknown>>;
    expect(noUris[0]!.URIStrings).toBeNull();
  });

  it("gives Go's encoding/json of the certificate, big integers exact", () => {
    const text = wire('crypto.x509.parse_certificates', LETS_ENCRYPT) as string;
    const golden = fixture('x509-letsencrypt.json');
    // Key order and spacing aside, the same text: compare the parsed forms with integers kept as digits.
    const digits = (s: string): unknown => JSON.parse(s.replace(/(?<=[:[,]\s*)(\d{16,})/g, '"$1"'));
    expect(digits(text)).toEqual(digits(golden));
    expect(text).toContain('"SerialNumber":300612263563093021885461398005023342566611');
  });

  it('takes PEM, base64 of PEM and base64 of DER, and refuses other PEM blocks', () => {
    const der = execFileSync('openssl', ['x509', '-outform', 'der'], { input: LETS_ENCRYPT });
    const fromDer = call('crypto.x509.parse_certificates', der.toString('base64')) as unknown[];
    const fromB64Pem = call('crypto.x509.parse_certificates', Buffer.from(LETS_ENCRYPT).toString('base64'));
    expect(fromDer).toEqual(call('crypto.x509.parse_certificates', LETS_ENCRYPT));
    expect(fromB64Pem).toEqual(fromDer);
    const twice = call('crypto.x509.parse_certificates', Buffer.concat([der, der]).toString('base64')) as unknown[];
    expect(twice).toHaveLength(2);
    expect(call('crypto.x509.parse_certificates', LETS_ENCRYPT.replace(/CERTIFICATE/g, 'PUBLIC KEY'))).toBeUndefined();
    expect(call('crypto.x509.parse_certificates', 'not base64!')).toBeUndefined();
    expect(call('crypto.x509.parse_certificates', der.subarray(0, 100).toString('base64'))).toBeUndefined();
    expect(call('crypto.x509.parse_certificates', 42)).toBeUndefined();
  });
});

/** A CA, an intermediate and leaves made with openssl for the chain tests. */
class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'x509-'));
  private run(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }
  pem(name: string): string {
    return readFileSync(join(this.dir, `${name}.pem`), 'utf8');
  }
  root(name: string, extra: string[] = []): void {
    this.run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '30',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
      ...extra,
    );
  }
  /** A certificate for `name` signed by `issuer`, with these extension lines. */
  issue(name: string, issuer: string, ext: string[], days = '10'): void {
    this.run(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    writeFileSync(join(this.dir, `${name}.ext`), `${ext.join('\n')}\n`);
    this.run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.pem`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      days,
      '-extfile',
      `${name}.ext`,
    );
  }
}

describe('crypto.x509.parse_and_verify_certificates', () => {
  const pki = new Pki();
  beforeAll(() => {
    pki.root('root');
    pki.root('other');
    pki.issue('inter', 'root', ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign']);
    pki.issue('server', 'inter', [
      'subjectAltName=DNS:api.example.com,DNS:*.svc.example.com,IP:10.0.0.7',
      'extendedKeyUsage=serverAuth',
    ]);
    pki.issue('client', 'inter', ['subjectAltName=URI:spiffe://example.com/ns/a/sa/b', 'extendedKeyUsage=clientAuth']);
    pki.issue('plain', 'root', ['subjectAltName=DNS:plain.example.com']);
    pki.issue('notca', 'root', ['basicConstraints=critical,CA:FALSE']);
    pki.issue('undernotca', 'notca', ['subjectAltName=DNS:x.example.com']);
  });
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  const verify = (
    ...names: string[]
  ): [boolean, Array<{ Subject: { CommonName: string } } & Record<string, unknown>>] =>
    call('crypto.x509.parse_and_verify_certificates', names.map((n) => pki.pem(n)).join('')) as never;
  const withOptions = (options: unknown, ...names: string[]): unknown =>
    call('crypto.x509.parse_and_verify_certificates_with_options', names.map((n) => pki.pem(n)).join(''), options);

  it('verifies root first, leaf last, and answers the chain leaf first', () => {
    const [ok, chain] = verify('root', 'inter', 'server');
    expect(ok).toBe(true);
    expect(chain.map((c) => c.Subject.CommonName)).toEqual(['server', 'inter', 'root']);
    expect(chain[0]!.URIStrings).toBeNull();
    expect(verify('root', 'plain')[0]).toBe(true);
  });

  it('answers [false, []] for a wrong order, a missing link, a foreign root or a non-CA issuer', () => {
    expect(verify('server', 'inter', 'root')).toEqual([false, []]);
    expect(verify('root', 'server')).toEqual([false, []]);
    expect(verify('other', 'inter', 'server')).toEqual([false, []]);
    expect(verify('root', 'notca', 'undernotca')).toEqual([false, []]);
    expect(verify('server')).toEqual([false, []]);
    expect(call('crypto.x509.parse_and_verify_certificates', 'garbage')).toEqual([false, []]);
    expect(call('crypto.x509.parse_and_verify_certificates', 7)).toBeUndefined();
  });

  it("requires server authentication unless told otherwise, as Go's Verify does", () => {
    expect(verify('root', 'inter', 'client')).toEqual([false, []]);
    const [ok, chain] = withOptions({ KeyUsages: ['KeyUsageClientAuth'] }, 'root', 'inter', 'client') as [
      boolean,
      Array<Record<string, unknown>>,
    ];
    expect(ok).toBe(true);
    // _with_options answers the plain certificates, without OPA's URIStrings.
    expect(chain[0]).not.toHaveProperty('URIStrings');
    expect((chain[0]!.URIs as Array<{ Host: string }>)[0]!.Host).toBe('example.com');
    expect((withOptions({ KeyUsages: ['KeyUsageAny'] }, 'root', 'inter', 'client') as [boolean])[0]).toBe(true);
  });

  it('checks DNSName and CurrentTime', () => {
    const ok = (options: unknown): boolean => (withOptions(options, 'root', 'inter', 'server') as [boolean])[0];
    expect(ok({ DNSName: 'api.example.com' })).toBe(true);
    expect(ok({ DNSName: 'API.Example.com' })).toBe(true);
    expect(ok({ DNSName: 'a.svc.example.com' })).toBe(true);
    expect(ok({ DNSName: 'a.b.svc.example.com' })).toBe(false);
    expect(ok({ DNSName: '10.0.0.7' })).toBe(true);
    expect(ok({ DNSName: '10.0.0.8' })).toBe(false);
    const now = BigInt(Date.now()) * 1_000_000n;
    const day = 86_400_000_000_000n;
    expect(ok({ CurrentTime: Number(now) })).toBe(true);
    expect(ok({ CurrentTime: Number(now + 20n * day) })).toBe(false);
    expect(ok({ CurrentTime: Number(now - 2n * day) })).toBe(false);
    expect(ok({ MaxConstraintComparisons: 10 })).toBe(true);
  });

  it('refuses a CurrentTime or MaxConstraintComparisons not written as a plain integer, as OPA (ParseInt of the text)', async () => {
    const pem = ['root', 'inter', 'server'].map((n) => pki.pem(n)).join('');
    const nowNs = (BigInt(Date.now()) * 1_000_000n).toString();
    const wired = (options: string): unknown =>
      customBuiltins[builtinWireName('crypto.x509.parse_and_verify_certificates_with_options')]!(
        JSON.stringify(pem),
        options,
      );
    expect(wired(`{"CurrentTime":${nowNs}}`)).toMatch(/^\[true,/);
    expect(wired(`{"CurrentTime":${nowNs.slice(0, 4)}e15}`)).toBeUndefined();
    expect(wired('{"CurrentTime":1e18}')).toBeUndefined();
    expect(wired(`{"CurrentTime":${nowNs}.0}`)).toBeUndefined();
    expect(wired('{"CurrentTime":9223372036854775808}')).toBeUndefined();
    expect(wired('{"MaxConstraintComparisons":1e3}')).toBeUndefined();
    expect(wired('{"MaxConstraintComparisons":1000}')).toMatch(/^\[true,/);
    // Compiled from Rego: the literal's text reaches the builtin.
    const source = `package t
exp := crypto.x509.parse_and_verify_certificates_with_options(input.pem, {"CurrentTime": 1.7e18})
plain := crypto.x509.parse_and_verify_certificates_with_options(input.pem, {"CurrentTime": input.now})
`;
    const { wasm } = compileRego([{ path: 't.rego', source }], { entrypoints: ['t/exp', 't/plain'] });
    const policy = await loadPolicy(wasm, undefined, customBuiltins);
    const value = (entrypoint: string): unknown =>
      (policy.evaluate({ pem, now: Number(nowNs) }, entrypoint) as Array<{ result: unknown }>)[0]?.result;
    expect(value('t/exp')).toBeUndefined();
    expect((value('t/plain') as [boolean])[0]).toBe(true);
  });

  it('makes option mistakes errors, as OPA does', () => {
    expect(withOptions({ Unknown: 1 }, 'root', 'inter', 'server')).toBeUndefined();
    expect(withOptions({ KeyUsages: ['KeyUsageNope'] }, 'root', 'inter', 'server')).toBeUndefined();
    expect(withOptions({ DNSName: 5 }, 'root', 'inter', 'server')).toBeUndefined();
    expect(withOptions({ CurrentTime: 1.5 }, 'root', 'inter', 'server')).toBeUndefined();
    expect(withOptions([], 'root', 'inter', 'server')).toBeUndefined();
    expect(withOptions({ CurrentTime: '1' }, 'root', 'inter', 'server')).toBeUndefined();
    expect(withOptions({ MaxConstraintComparisons: 2.5 }, 'root', 'inter', 'server')).toBeUndefined();
    // Certificates that do not parse answer [false, []] before the options are read.
    expect(call('crypto.x509.parse_and_verify_certificates_with_options', 'garbage', { Unknown: 1 })).toEqual([
      false,
      [],
    ]);
  });
});

describe('x509 builtins compiled from Rego', () => {
  it('hands a policy the certificate fields, the serial number exact', async () => {
    const source = `package t
import rego.v1
certs := crypto.x509.parse_certificates(input.pem)
cn := certs[0].Subject.CommonName
names := certs[0].DNSNames
exact_serial if certs[0].SerialNumber == 300612263563093021885461398005023342566611
chain := crypto.x509.parse_and_verify_certificates(input.pem)
`;
    const { wasm } = compileRego([{ path: 't.rego', source }], {
      entrypoints: ['t/cn', 't/names', 't/exact_serial', 't/chain'],
    });
    const policy = await loadPolicy(wasm, undefined, customBuiltins);
    const value = (entrypoint: string): unknown =>
      (policy.evaluate({ pem: LETS_ENCRYPT }, entrypoint) as Array<{ result: unknown }>)[0]?.result;
    expect(value('t/cn')).toBe('openpolicyagent.org');
    expect(value('t/names')).toEqual(['openpolicyagent.org', 'www.openpolicyagent.org']);
    expect(value('t/exact_serial')).toBe(true);
    expect(value('t/chain')).toEqual([false, []]);
  });
});

describe("Go's text forms of certificate values", () => {
  it('writes IP addresses as net.IP does (RFC 5952, the first longest zero run compressed)', () => {
    const v6 = (...groups: number[]): Uint8Array => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    expect(ipString(Uint8Array.from([10, 0, 0, 7]))).toBe('10.0.0.7');
    expect(ipString(v6(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
    expect(ipString(v6(0, 0, 0, 0, 0, 0, 0, 1))).toBe('::1');
    expect(ipString(v6(1, 0, 0, 2, 0, 0, 0, 3))).toBe('1:0:0:2::3');
    expect(ipString(v6(0xfe80, 0, 0, 0, 1, 0, 0, 1))).toBe('fe80::1:0:0:1');
    expect(ipString(v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1))).toBe('2001:db8:0:1:1:1:1:1');
  });

  it('parses the URI spellings certificates carry as url.Parse does, and refuses the others', () => {
    const spiffe = parseGoUrl('spiffe://example.com/ns/a');
    expect(spiffe).toMatchObject({
      Scheme: 'spiffe',
      Host: 'example.com',
      Path: '/ns/a',
      RawPath: '',
      OmitHost: false,
    });
    expect(goUrlString(parseGoUrl('HTTP://up/'))).toBe('http://up/');
    expect(parseGoUrl('urn:uuid:1234')).toMatchObject({ Scheme: 'urn', Opaque: 'uuid:1234', Path: '' });
    expect(parseGoUrl('https://h:8443/a?x=1&y=2#frag')).toMatchObject({
      Host: 'h:8443',
      RawQuery: 'x=1&y=2',
      Fragment: 'frag',
    });
    expect(goUrlString(parseGoUrl('https://h/a?#'))).toBe('https://h/a?');
    expect(() => parseGoUrl('https://h/a%20b')).toThrow(/not reproduced/);
    expect(() => parseGoUrl('https://user@h/')).toThrow(/not reproduced/);
  });

  it('writes bytes that are not UTF-8 as json.Marshal does, one U+FFFD per bad byte', () => {
    expect(goJsonString(Uint8Array.from([0x61, 0xff, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80]))).toBe(
      'a\ufffdé\ufffd\ufffd\ufffd😀',
    );
  });
});
