// Certificate chain verification as Go's x509.Certificate.Verify does it (Go 1.24–1.26), which OPA's
// crypto.x509.parse_and_verify_certificates* call with the first certificate as the only root, the last
// as the leaf and the ones between as intermediates. Chains are built in Go's order (roots before
// intermediates, candidates by authority/subject key id match), so the chain returned is Go's chains[0].
// Signatures are checked with node:crypto under Go's rules: SHA-1 and MD5 signatures are refused, RSA keys
// below 1024 bits are refused, DSA is unsupported. Name constraints and explicit-policy requirements are
// not reproduced: a chain that carries them fails the call rather than get a guessed answer.
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { NotReproducedError } from './args.js';
import { stringifyExactJson } from './exact.js';
import { ecSpki, ExtKeyUsage, PublicKeyAlgorithm, SignatureAlgorithm, type Certificate } from './x509Parse.js';

/** Why a chain does not verify (OPA answers [false, []]). */
export class VerifyError extends Error {}

/** Verification options, as OPA's extractVerifyOpts reads them. */
export interface VerifyOptions {
  readonly dnsName?: string;
  /** Nanoseconds since the epoch; the current time when absent. */
  readonly currentTimeNs?: bigint;
  readonly keyUsages?: readonly number[];
}

const notReproduced = (detail: string): never => {
  throw new NotReproducedError('crypto.x509', `${detail} is not reproduced exactly`);
};
const hexOf = (b: Uint8Array | null): string => (b === null ? '' : Buffer.from(b).toString('hex'));

class Pool {
  private readonly byName = new Map<string, Certificate[]>();
  private readonly raws = new Set<string>();
  constructor(certs: readonly Certificate[]) {
    for (const c of certs) {
      const key = hexOf(c.raw);
      if (this.raws.has(key)) continue;
      this.raws.add(key);
      const name = hexOf(c.rawSubject);
      this.byName.set(name, [...(this.byName.get(name) ?? []), c]);
    }
  }
  contains(c: Certificate): boolean {
    return this.raws.has(hexOf(c.raw));
  }
  /** findPotentialParents: matching key ids first, then one key id missing, then mismatching ones. */
  potentialParents(c: Certificate): Certificate[] {
    const matching: Certificate[] = [];
    const one: Certificate[] = [];
    const mismatch: Certificate[] = [];
    for (const candidate of this.byName.get(hexOf(c.rawIssuer)) ?? []) {
      const skid = candidate.subjectKeyId ?? new Uint8Array(0);
      const akid = c.authorityKeyId ?? new Uint8Array(0);
      if (hexOf(skid) === hexOf(akid)) matching.push(candidate);
      else if ((skid.length === 0 && akid.length > 0) || (skid.length > 0 && akid.length === 0)) one.push(candidate);
      else mismatch.push(candidate);
    }
    return [...matching, ...one, ...mismatch];
  }
}

const HASH: Record<number, string> = {
  [SignatureAlgorithm.SHA256WithRSA]: 'sha256',
  [SignatureAlgorithm.SHA384WithRSA]: 'sha384',
  [SignatureAlgorithm.SHA512WithRSA]: 'sha512',
  [SignatureAlgorithm.SHA256WithRSAPSS]: 'sha256',
  [SignatureAlgorithm.SHA384WithRSAPSS]: 'sha384',
  [SignatureAlgorithm.SHA512WithRSAPSS]: 'sha512',
  [SignatureAlgorithm.ECDSAWithSHA256]: 'sha256',
  [SignatureAlgorithm.ECDSAWithSHA384]: 'sha384',
  [SignatureAlgorithm.ECDSAWithSHA512]: 'sha512',
};
const PSS_SALT: Record<number, number> = {
  [SignatureAlgorithm.SHA256WithRSAPSS]: 32,
  [SignatureAlgorithm.SHA384WithRSAPSS]: 48,
  [SignatureAlgorithm.SHA512WithRSAPSS]: 64,
};

function keyAlgorithmOf(sigAlg: number): number | undefined {
  if (sigAlg >= SignatureAlgorithm.SHA256WithRSA && sigAlg <= SignatureAlgorithm.SHA512WithRSA)
    return PublicKeyAlgorithm.RSA;
  if (sigAlg >= SignatureAlgorithm.SHA256WithRSAPSS && sigAlg <= SignatureAlgorithm.SHA512WithRSAPSS)
    return PublicKeyAlgorithm.RSA;
  if (sigAlg >= SignatureAlgorithm.ECDSAWithSHA256 && sigAlg <= SignatureAlgorithm.ECDSAWithSHA512)
    return PublicKeyAlgorithm.ECDSA;
  if (sigAlg === SignatureAlgorithm.PureEd25519) return PublicKeyAlgorithm.Ed25519;
  // MD2/MD5/SHA-1 are insecure to Go's verifier, DSA is unsupported, unknown algorithms too.
  return undefined;
}

const jwkInt = (v: unknown): string => {
  let h = BigInt(v as number | bigint).toString(16);
  if (h.length % 2) h = `0${h}`;
  return Buffer.from(h, 'hex').toString('base64url');
};

/** The parent's key from the values Go parsed (its SPKI may carry bytes Go ignores and OpenSSL refuses). */
function publicKeyObject(c: Certificate): KeyObject {
  const pub = c.json.PublicKey;
  if (c.publicKeyAlgorithm === PublicKeyAlgorithm.Ed25519) {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(String(pub), 'base64').toString('base64url') },
      format: 'jwk',
    });
  }
  if (c.publicKeyAlgorithm === PublicKeyAlgorithm.RSA) {
    const { N, E } = pub as { N: unknown; E: unknown };
    return createPublicKey({ key: { kty: 'RSA', n: jwkInt(N), e: jwkInt(E) }, format: 'jwk' });
  }
  const { X, Y } = pub as { X: unknown; Y: unknown };
  const size = ecSize(c.curve);
  const point = Buffer.concat([Buffer.from([4]), fixed(X, size), fixed(Y, size)]);
  return createPublicKey({ key: Buffer.from(ecSpki(c.curve!, point)), format: 'der', type: 'spki' });
}

const ecSize = (curve: readonly number[] | undefined): number =>
  ({ '1.3.132.0.33': 28, '1.2.840.10045.3.1.7': 32, '1.3.132.0.34': 48, '1.3.132.0.35': 66 })[curve?.join('.') ?? ''] ??
  0;

function fixed(v: unknown, size: number): Buffer {
  const h = BigInt(v as number | bigint)
    .toString(16)
    .padStart(size * 2, '0');
  return Buffer.from(h, 'hex');
}

/** checkSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature, parent.PublicKey, allowSHA1=false). */
function signatureValid(c: Certificate, parent: Certificate): boolean {
  const keyAlg = keyAlgorithmOf(c.signatureAlgorithm);
  if (keyAlg === undefined || keyAlg !== parent.publicKeyAlgorithm) return false;
  const key = publicKeyObject(parent);
  const data = Buffer.from(c.rawTbs);
  const sig = Buffer.from(c.signature);
  try {
    if (keyAlg === PublicKeyAlgorithm.Ed25519) return cryptoVerify(null, data, key, sig);
    if (keyAlg === PublicKeyAlgorithm.ECDSA) {
      return cryptoVerify(HASH[c.signatureAlgorithm]!, data, { key, dsaEncoding: 'der' }, sig);
    }
    // Go's crypto/rsa refuses keys below 1024 bits and exponents that are even, below 2 or above 2^31-1.
    const pub = parent.json.PublicKey as { N: number | bigint; E: number | bigint };
    const n = BigInt(pub.N);
    const e = BigInt(pub.E);
    if (n.toString(2).length < 1024 || e < 2n || e % 2n === 0n || e > 2147483647n) return false;
    const salt = PSS_SALT[c.signatureAlgorithm];
    if (salt !== undefined) {
      return cryptoVerify(
        HASH[c.signatureAlgorithm]!,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt },
        sig,
      );
    }
    return cryptoVerify(HASH[c.signatureAlgorithm]!, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
  } catch {
    return false;
  }
}

/** CheckSignatureFrom. */
function checkSignatureFrom(c: Certificate, parent: Certificate): boolean {
  if ((parent.version === 3 && !parent.basicConstraintsValid) || (parent.basicConstraintsValid && !parent.isCA)) {
    return false;
  }
  if (parent.keyUsage !== 0 && (parent.keyUsage & 32) === 0) return false;
  if (parent.publicKeyAlgorithm === PublicKeyAlgorithm.Unknown) return false;
  return signatureValid(c, parent);
}

type CertType = 'leaf' | 'intermediate' | 'root';

/** isValid. */
function isValid(c: Certificate, certType: CertType, chain: readonly Certificate[], nowNs: bigint): boolean {
  if (c.unhandledCritical.length > 0) return false;
  if (nowNs < BigInt(c.notBefore.unix) * 1_000_000_000n || nowNs > BigInt(c.notAfter.unix) * 1_000_000_000n) {
    return false;
  }
  if (certType !== 'leaf' && c.hasNameConstraints) notReproduced('verification under name constraints');
  if (certType === 'intermediate' && (!c.basicConstraintsValid || !c.isCA)) return false;
  if (c.basicConstraintsValid && c.maxPathLen >= 0 && chain.length - 1 > c.maxPathLen) return false;
  return true;
}

const SAN_OID = '2.5.29.17';

/** alreadyInChain: same subject, same key, and the same SAN extension (or none on both). */
function alreadyInChain(candidate: Certificate, chain: readonly Certificate[]): boolean {
  const san = (c: Certificate): string | undefined => {
    const e = c.extensions.find((x) => x.id.join('.') === SAN_OID);
    return e ? hexOf(e.value) : undefined;
  };
  const candidateSan = san(candidate);
  for (const cert of chain) {
    if (hexOf(candidate.rawSubject) !== hexOf(cert.rawSubject)) continue;
    if (stringifyExactJson(candidate.json.PublicKey) !== stringifyExactJson(cert.json.PublicKey)) continue;
    const certSan = san(cert);
    if (candidateSan === undefined && certSan === undefined) return true;
    if (candidateSan === undefined || certSan === undefined) return false;
    if (candidateSan === certSan) return true;
  }
  return false;
}

const MAX_SIGNATURE_CHECKS = 100;

function buildChains(
  chain: readonly Certificate[],
  roots: Pool,
  intermediates: Pool,
  nowNs: bigint,
  checks: { n: number },
): Certificate[][] {
  const c = chain[chain.length - 1]!;
  const chains: Certificate[][] = [];
  const consider = (certType: CertType, candidate: Certificate): void => {
    if (!candidate.hasPublicKey || alreadyInChain(candidate, chain)) return;
    if (candidate.publicKeyAlgorithm === PublicKeyAlgorithm.DSA) notReproduced('a DSA certificate in a chain');
    if (++checks.n > MAX_SIGNATURE_CHECKS) notReproduced('a chain search this large');
    if (!checkSignatureFrom(c, candidate)) return;
    if (!isValid(candidate, certType, chain, nowNs)) return;
    if (certType === 'root') chains.push([...chain, candidate]);
    else chains.push(...buildChains([...chain, candidate], roots, intermediates, nowNs, checks));
  };
  for (const root of roots.potentialParents(c)) consider('root', root);
  for (const intermediate of intermediates.potentialParents(c)) consider('intermediate', intermediate);
  return chains;
}

// ---- host names (VerifyHostname) ---------------------------------------------------------------------

const lowerAscii = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function validHostname(host: string, isPattern: boolean): boolean {
  if (!isPattern && host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host === '*') return false;
  return host.split('.').every((part, i) => {
    if (part === '') return false;
    if (isPattern && i === 0 && part === '*') return true;
    return [...part].every((ch, j) => /[a-zA-Z0-9_]/.test(ch) || (ch === '-' && j !== 0));
  });
}

function matchExactly(a: string, b: string): boolean {
  if (a === '' || a === '.' || b === '' || b === '.') return false;
  return lowerAscii(a) === lowerAscii(b);
}

function matchHostnames(pattern: string, host: string): boolean {
  pattern = lowerAscii(pattern);
  host = lowerAscii(host.endsWith('.') ? host.slice(0, -1) : host);
  if (pattern.length === 0 || host.length === 0) return false;
  const p = pattern.split('.');
  const h = host.split('.');
  if (p.length !== h.length) return false;
  return p.every((part, i) => (i === 0 && part === '*') || part === h[i]);
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** net.ParseIP as 16 bytes, or undefined when Go reads the text as a host name. */
function parseIp(s: string): Uint8Array | undefined {
  if (V4.test(s)) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...s.split('.').map(Number)]);
  if (!isIPv6(s) || s.includes('%')) return undefined;
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    if (!V4.test(v4[1]!)) return undefined;
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (g: string): number[] => (g === '' ? [] : g.split(':').map((x) => parseInt(x, 16)));
  const h = groups(halves[0]!);
  const r = halves.length === 2 ? groups(halves[1]!) : [];
  const all = halves.length === 2 ? [...h, ...Array<number>(Math.max(8 - h.length - r.length, 0)).fill(0), ...r] : h;
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

const as16 = (ip: Uint8Array): string =>
  hexOf(ip.length === 4 ? Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip]) : ip);

function verifyHostname(c: Certificate, h: string): boolean {
  const candidateIp = h.length >= 3 && h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  const ip = parseIp(candidateIp);
  if (ip) return c.ipAddresses.some((x) => as16(x) === hexOf(ip));
  const name = lowerAscii(h);
  const validName = validHostname(name, false);
  return c.dnsNames.some((match) =>
    validName && validHostname(match, true) ? matchHostnames(match, name) : matchExactly(match, name),
  );
}

// ---- key usage ---------------------------------------------------------------------------------------

function chainAllowsKeyUsage(chain: readonly Certificate[], keyUsages: readonly number[]): boolean {
  const usages = [...keyUsages];
  let remaining = usages.length;
  for (let i = chain.length - 1; i >= 0; i--) {
    const cert = chain[i]!;
    if (cert.extKeyUsage.length === 0 && cert.unknownExtKeyUsage.length === 0) continue;
    if (cert.extKeyUsage.includes(ExtKeyUsage.Any)) continue;
    for (let j = 0; j < usages.length; j++) {
      if (usages[j] === -1) continue;
      if (cert.extKeyUsage.includes(usages[j]!)) continue;
      usages[j] = -1;
      if (--remaining === 0) return false;
    }
  }
  return true;
}

/** verifyX509CertificateChain: the first chain Go's Verify returns, leaf first. */
export function verifyChain(certs: readonly Certificate[], opts: VerifyOptions): Certificate[] {
  if (certs.length < 2) throw new VerifyError('must supply at least two certificates to be able to verify');
  const roots = new Pool(certs.slice(0, 1));
  const intermediates = new Pool(certs.slice(1, -1));
  const leaf = certs[certs.length - 1]!;
  const nowNs = opts.currentTimeNs ?? BigInt(Date.now()) * 1_000_000n;
  if (!isValid(leaf, 'leaf', [], nowNs)) throw new VerifyError('leaf not valid');
  if (opts.dnsName && !verifyHostname(leaf, opts.dnsName)) throw new VerifyError('host name mismatch');
  const candidates = roots.contains(leaf) ? [[leaf]] : buildChains([leaf], roots, intermediates, nowNs, { n: 0 });
  if (candidates.length === 0) throw new VerifyError('unknown authority');
  for (const chain of candidates) {
    if (chain.some((c) => c.requireExplicitPolicy || c.hasPolicyMappings)) {
      notReproduced('policy validation with explicit policies or policy mappings');
    }
  }
  const keyUsages = opts.keyUsages ?? [];
  if (keyUsages.includes(ExtKeyUsage.Any)) return candidates[0]!;
  const wanted = keyUsages.length === 0 ? [ExtKeyUsage.ServerAuth] : keyUsages;
  const chains = candidates.filter((chain) => chainAllowsKeyUsage(chain, wanted));
  if (chains.length === 0) throw new VerifyError('incompatible key usage');
  return chains[0]!;
}
