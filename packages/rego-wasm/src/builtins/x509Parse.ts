// X.509 certificates parsed as Go's crypto/x509.ParseCertificates parses them (Go 1.24–1.26, the
// releases OPA 1.x is built with), and written as encoding/json writes an x509.Certificate: OPA's
// crypto.x509.parse_certificates hands policies exactly that JSON. Every check Go makes that fails the
// parse fails it here too; a value this file cannot reproduce with certainty (an exotic URI spelling, a
// string that is not valid UTF-8) fails the call rather than be approximated.
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { BuiltinArgError, NotReproducedError } from './args.js';
import {
  bitAt,
  ctx,
  ctxC,
  Der,
  encodeElement,
  integerValue,
  oidArcs,
  oidArcsBig,
  readTime,
  rightAlign,
  TAG,
  type GoTime,
} from './der.js';
import { exactInt } from './exact.js';
import { goUrlString, ipString, parseGoUrl, type GoUrl } from './x509AltNames.js';

const fail = (detail: string): never => {
  throw new BuiltinArgError('crypto.x509', detail);
};
const notReproduced = (detail: string): never => {
  throw new NotReproducedError('crypto.x509', `${detail} is not reproduced exactly`);
};
const must = <T>(v: T | undefined, detail: string): T => (v === undefined ? fail(detail) : v);
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const dotted = (oid: readonly (number | bigint)[]): string => oid.join('.');

/**
 * A string Go holds as raw bytes, as json.Marshal writes it: each byte that does not start a valid UTF-8
 * sequence (utf8.DecodeRuneInString's rules: no overlong forms, no surrogates, nothing past U+10FFFF)
 * becomes U+FFFD.
 */
export function goJsonString(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const size = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    // The second byte's range depends on the first (utf8.acceptRanges); later ones are 0x80–0xBF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    let ok = size > 0 && i + size <= b.length && b[i + 1]! >= lo && b[i + 1]! <= hi;
    for (let k = 2; ok && k < size; k++) ok = b[i + k]! >= 0x80 && b[i + k]! <= 0xbf;
    if (!ok) {
      out += '\ufffd';
      i++;
      continue;
    }
    out += Buffer.from(b.subarray(i, i + size)).toString('utf8');
    i += size;
  }
  return out;
}

// ---- names ----------------------------------------------------------------------------------------

function isPrintable(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x27 && b <= 0x29) ||
    (b >= 0x2b && b <= 0x2f) ||
    b === 0x20 ||
    b === 0x3a ||
    b === 0x3d ||
    b === 0x3f ||
    b === 0x2a ||
    b === 0x26
  );
}

const isIA5 = (b: Uint8Array): boolean => b.every((x) => x < 0x80);

/** parseASN1String: the string types Go reads in names. */
function asn1String(tag: number, v: Uint8Array): string | undefined {
  switch (tag) {
    case TAG.T61String:
      // Go releases differ on bytes above 0x7F here (raw bytes, later Latin-1): only ASCII is certain.
      return v.every((b) => b < 0x80) ? Buffer.from(v).toString('latin1') : notReproduced('a T61String beyond ASCII');
    case TAG.PrintableString:
      return v.every(isPrintable) ? Buffer.from(v).toString('latin1') : undefined;
    case TAG.UTF8String:
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(v);
      } catch {
        return undefined;
      }
    case TAG.BMPString: {
      if (v.length % 2 !== 0) return undefined;
      let end = v.length;
      if (end >= 2 && v[end - 1] === 0 && v[end - 2] === 0) end -= 2;
      const units: number[] = [];
      for (let i = 0; i < end; i += 2) {
        const p = (v[i]! << 8) | v[i + 1]!;
        // Go releases differ on surrogates and noncharacters here: they are not answered.
        if (p === 0xfffe || p === 0xffff || (p >= 0xfdd0 && p <= 0xfdef) || (p >= 0xd800 && p <= 0xdfff)) {
          return notReproduced('a BMPString with surrogates or noncharacters');
        }
        units.push(p);
      }
      return String.fromCharCode(...units);
    }
    case TAG.IA5String:
      return isIA5(v) ? Buffer.from(v).toString('latin1') : undefined;
    case TAG.NumericString:
      return v.every((b) => (b >= 0x30 && b <= 0x39) || b === 0x20) ? Buffer.from(v).toString('latin1') : undefined;
    default:
      return undefined;
  }
}

const STRING_TAGS = new Set<number>([
  TAG.T61String,
  TAG.PrintableString,
  TAG.UTF8String,
  TAG.BMPString,
  TAG.IA5String,
  TAG.NumericString,
]);

/** The attribute value of a name: Go 1.24–1.26 read only the string types (parseASN1String). */
function attributeValue(der: Der): string {
  const value = must(der.readAny(), 'x509: invalid RDNSequence: invalid attribute value');
  if (!STRING_TAGS.has(value.tag))
    return fail(`x509: invalid RDNSequence: invalid attribute value: unsupported string type: ${value.tag}`);
  return must(asn1String(value.tag, value.content), 'x509: invalid RDNSequence: invalid attribute value');
}

export interface Atv {
  readonly type: number[];
  readonly value: unknown;
  /** A Go string (the name fields take only these; []byte values are base64 text here but not strings). */
  readonly isString: boolean;
}

/** parseName: the RDNSequence of a DER Name. */
function parseName(full: Uint8Array): Atv[][] {
  const raw = must(new Der(full).read(TAG.SEQUENCE), 'x509: invalid RDNSequence');
  const rdns: Atv[][] = [];
  while (!raw.empty()) {
    const set = must(raw.read(TAG.SET), 'x509: invalid RDNSequence');
    const rdn: Atv[] = [];
    while (!set.empty()) {
      const atv = must(set.read(TAG.SEQUENCE), 'x509: invalid RDNSequence: invalid attribute');
      const type = must(atv.readOid(), 'x509: invalid RDNSequence: invalid attribute type');
      rdn.push({ type, value: attributeValue(atv), isString: true });
    }
    rdns.push(rdn);
  }
  return rdns;
}

/** pkix.Name after FillFromRDNSequence, as JSON. */
export function nameJson(rdns: Atv[][]): Record<string, unknown> {
  const lists: Record<string, string[] | null> = {
    Country: null,
    Organization: null,
    OrganizationalUnit: null,
    Locality: null,
    Province: null,
    StreetAddress: null,
    PostalCode: null,
  };
  let serialNumber = '';
  let commonName = '';
  const names: Array<Record<string, unknown>> = [];
  const add = (k: string, v: string): void => {
    (lists[k] ??= []).push(v);
  };
  for (const rdn of rdns) {
    for (const atv of rdn) {
      names.push({ Type: atv.type, Value: atv.value });
      if (!atv.isString || typeof atv.value !== 'string') continue;
      const t = atv.type;
      if (t.length !== 4 || t[0] !== 2 || t[1] !== 5 || t[2] !== 4) continue;
      switch (t[3]) {
        case 3:
          commonName = atv.value;
          break;
        case 5:
          serialNumber = atv.value;
          break;
        case 6:
          add('Country', atv.value);
          break;
        case 7:
          add('Locality', atv.value);
          break;
        case 8:
          add('Province', atv.value);
          break;
        case 9:
          add('StreetAddress', atv.value);
          break;
        case 10:
          add('Organization', atv.value);
          break;
        case 11:
          add('OrganizationalUnit', atv.value);
          break;
        case 17:
          add('PostalCode', atv.value);
          break;
      }
    }
  }
  return {
    ...lists,
    SerialNumber: serialNumber,
    CommonName: commonName,
    Names: names.length > 0 ? names : null,
    ExtraNames: null,
  };
}

// ---- algorithms and keys ----------------------------------------------------------------------------

export interface AlgorithmIdentifier {
  readonly oid: number[];
  /** The parameters element, identifier and length included (empty when absent). */
  readonly params: Uint8Array;
}

export function parseAI(der: Der): AlgorithmIdentifier {
  const oid = must(der.readOid(), 'x509: malformed OID');
  if (der.empty()) return { oid, params: new Uint8Array(0) };
  const p = must(der.readAny(), 'x509: malformed parameters');
  return { oid, params: p.full };
}

export const SignatureAlgorithm = {
  Unknown: 0,
  MD2WithRSA: 1,
  MD5WithRSA: 2,
  SHA1WithRSA: 3,
  SHA256WithRSA: 4,
  SHA384WithRSA: 5,
  SHA512WithRSA: 6,
  DSAWithSHA1: 7,
  DSAWithSHA256: 8,
  ECDSAWithSHA1: 9,
  ECDSAWithSHA256: 10,
  ECDSAWithSHA384: 11,
  ECDSAWithSHA512: 12,
  SHA256WithRSAPSS: 13,
  SHA384WithRSAPSS: 14,
  SHA512WithRSAPSS: 15,
  PureEd25519: 16,
} as const;

const SIGNATURE_OIDS: Record<string, number> = {
  '1.2.840.113549.1.1.2': SignatureAlgorithm.MD2WithRSA,
  '1.2.840.113549.1.1.4': SignatureAlgorithm.MD5WithRSA,
  '1.2.840.113549.1.1.5': SignatureAlgorithm.SHA1WithRSA,
  '1.3.14.3.2.29': SignatureAlgorithm.SHA1WithRSA,
  '1.2.840.113549.1.1.11': SignatureAlgorithm.SHA256WithRSA,
  '1.2.840.113549.1.1.12': SignatureAlgorithm.SHA384WithRSA,
  '1.2.840.113549.1.1.13': SignatureAlgorithm.SHA512WithRSA,
  '1.2.840.10040.4.3': SignatureAlgorithm.DSAWithSHA1,
  '2.16.840.1.101.3.4.3.2': SignatureAlgorithm.DSAWithSHA256,
  '1.2.840.10045.4.1': SignatureAlgorithm.ECDSAWithSHA1,
  '1.2.840.10045.4.3.2': SignatureAlgorithm.ECDSAWithSHA256,
  '1.2.840.10045.4.3.3': SignatureAlgorithm.ECDSAWithSHA384,
  '1.2.840.10045.4.3.4': SignatureAlgorithm.ECDSAWithSHA512,
  '1.3.101.112': SignatureAlgorithm.PureEd25519,
};

const NULL_BYTES = '0500';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const HASH_OIDS: Record<string, [number, number]> = {
  '2.16.840.1.101.3.4.2.1': [SignatureAlgorithm.SHA256WithRSAPSS, 32],
  '2.16.840.1.101.3.4.2.2': [SignatureAlgorithm.SHA384WithRSAPSS, 48],
  '2.16.840.1.101.3.4.2.3': [SignatureAlgorithm.SHA512WithRSAPSS, 64],
};

/** The three RSASSA-PSS shapes Go recognises (MGF1 over the same hash, salt = hash size, trailer 1). */
function pssAlgorithm(params: Uint8Array): number {
  const seq = new Der(params).read(TAG.SEQUENCE);
  if (!seq) return SignatureAlgorithm.Unknown;
  const hashSeq = seq.read(ctxC(0))?.read(TAG.SEQUENCE);
  const mgfSeq = seq.read(ctxC(1))?.read(TAG.SEQUENCE);
  const salt = seq.read(ctxC(2))?.readInt64();
  let trailer = 1n;
  if (seq.peekTag(ctxC(3))) {
    const t = seq.read(ctxC(3))?.readInt64();
    if (t === undefined) return SignatureAlgorithm.Unknown;
    trailer = t;
  }
  if (!hashSeq || !mgfSeq || salt === undefined || !seq.empty()) return SignatureAlgorithm.Unknown;
  const hash = parseOptionalAI(hashSeq);
  const mgf = parseOptionalAI(mgfSeq);
  if (!hash || !mgf) return SignatureAlgorithm.Unknown;
  const mgfHashSeq = new Der(mgf.params).read(TAG.SEQUENCE);
  const mgfHash = mgfHashSeq ? parseOptionalAI(mgfHashSeq) : undefined;
  if (!mgfHash) return SignatureAlgorithm.Unknown;
  const nullOrAbsent = (p: Uint8Array): boolean => p.length === 0 || hex(p) === NULL_BYTES;
  if (
    !nullOrAbsent(hash.params) ||
    dotted(mgf.oid) !== '1.2.840.113549.1.1.8' ||
    dotted(mgfHash.oid) !== dotted(hash.oid) ||
    !nullOrAbsent(mgfHash.params) ||
    trailer !== 1n
  ) {
    return SignatureAlgorithm.Unknown;
  }
  const known = HASH_OIDS[dotted(hash.oid)];
  return known && BigInt(known[1]) === salt ? known[0] : SignatureAlgorithm.Unknown;
}

function parseOptionalAI(der: Der): AlgorithmIdentifier | undefined {
  try {
    const ai = parseAI(der);
    return der.empty() ? ai : undefined;
  } catch {
    return undefined;
  }
}

/** getSignatureAlgorithmFromAI. */
export function signatureAlgorithm(ai: AlgorithmIdentifier): number {
  const oid = dotted(ai.oid);
  if (oid === '1.3.101.112' && ai.params.length !== 0) return SignatureAlgorithm.Unknown;
  if (oid === '1.2.840.113549.1.1.10') return pssAlgorithm(ai.params);
  return SIGNATURE_OIDS[oid] ?? SignatureAlgorithm.Unknown;
}

export const PublicKeyAlgorithm = { Unknown: 0, RSA: 1, DSA: 2, ECDSA: 3, Ed25519: 4 } as const;

const PUBLIC_KEY_OIDS: Record<string, number> = {
  '1.2.840.113549.1.1.1': PublicKeyAlgorithm.RSA,
  '1.2.840.10040.4.1': PublicKeyAlgorithm.DSA,
  '1.2.840.10045.2.1': PublicKeyAlgorithm.ECDSA,
  '1.3.101.112': PublicKeyAlgorithm.Ed25519,
};

const CURVES: Record<string, number> = {
  '1.3.132.0.33': 28,
  '1.2.840.10045.3.1.7': 32,
  '1.3.132.0.34': 48,
  '1.3.132.0.35': 66,
};

/** getPublicKeyAlgorithmFromOID. */
export function publicKeyAlgorithmOf(ai: AlgorithmIdentifier): number {
  return PUBLIC_KEY_OIDS[dotted(ai.oid)] ?? PublicKeyAlgorithm.Unknown;
}

const ID_EC_PUBLIC_KEY = Uint8Array.from([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);

/** A SubjectPublicKeyInfo holding only this named curve and point. */
export function ecSpki(curve: readonly number[], point: Uint8Array): Uint8Array {
  const oid = encodeElement(TAG.OID, oidBytes(curve));
  const algorithm = encodeElement(TAG.SEQUENCE, Uint8Array.from([...ID_EC_PUBLIC_KEY, ...oid]));
  const bits = encodeElement(TAG.BIT_STRING, Uint8Array.from([0, ...point]));
  return encodeElement(TAG.SEQUENCE, Uint8Array.from([...algorithm, ...bits]));
}

function oidBytes(arcs: readonly number[]): Uint8Array {
  const out: number[] = [];
  const base128 = (v: number): void => {
    const parts = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) parts.unshift((v & 0x7f) | 0x80);
    out.push(...parts);
  };
  base128(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) base128(a);
  return Uint8Array.from(out);
}

const bigOf = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${hex(b)}`));

/** parsePublicKey, as the JSON of the Go key value (*rsa.PublicKey, *ecdsa.PublicKey, ...). */
export function publicKeyJson(ai: AlgorithmIdentifier, key: Uint8Array): unknown {
  const oid = dotted(ai.oid);
  switch (PUBLIC_KEY_OIDS[oid]) {
    case PublicKeyAlgorithm.RSA: {
      if (hex(ai.params) !== NULL_BYTES) fail('x509: RSA key missing NULL parameters');
      const der = must(new Der(key).read(TAG.SEQUENCE), 'x509: invalid RSA public key');
      const n = must(der.readBigInt(), 'x509: invalid RSA modulus');
      const e = must(der.readInt64(), 'x509: invalid RSA public exponent');
      if (n <= 0n) fail('x509: RSA modulus is not a positive number');
      if (e <= 0n) fail('x509: RSA public exponent is not a positive number');
      return { N: exactInt(n), E: exactInt(e) };
    }
    case PublicKeyAlgorithm.ECDSA: {
      const curve = must(new Der(ai.params).readOid(), 'x509: invalid ECDSA parameters');
      const size = must(CURVES[dotted(curve)], 'x509: unsupported elliptic curve');
      if (key.length !== 1 + 2 * size || key[0] !== 4) fail('x509: invalid ECDSA public key');
      // On the curve? Asked of OpenSSL with a key of just these parts (Go ignores what else the SPKI holds).
      try {
        createPublicKey({ key: Buffer.from(ecSpki(curve, key)), format: 'der', type: 'spki' });
      } catch {
        fail('x509: invalid ECDSA public key');
      }
      // elliptic.Curve values have no exported fields: encoding/json writes {}.
      return {
        Curve: {},
        X: exactInt(bigOf(key.subarray(1, 1 + size))),
        Y: exactInt(bigOf(key.subarray(1 + size))),
      };
    }
    case PublicKeyAlgorithm.Ed25519:
      if (ai.params.length !== 0) fail('x509: Ed25519 key encoded with illegal parameters');
      if (key.length !== 32) fail('x509: wrong Ed25519 public key size');
      return b64(key);
    case PublicKeyAlgorithm.DSA: {
      const y = must(new Der(key).readBigInt(), 'x509: invalid DSA public key');
      const p = new Der(ai.params).read(TAG.SEQUENCE);
      const P = p?.readBigInt();
      const Q = p?.readBigInt();
      const G = p?.readBigInt();
      if (P === undefined || Q === undefined || G === undefined) return fail('x509: invalid DSA parameters');
      if (y <= 0n || P <= 0n || Q <= 0n || G <= 0n) fail('x509: zero or negative DSA parameter');
      return { P: exactInt(P), Q: exactInt(Q), G: exactInt(G), Y: exactInt(y) };
    }
    default:
      return null;
  }
}

// ---- extensions -------------------------------------------------------------------------------------

export const ExtKeyUsage = {
  Any: 0,
  ServerAuth: 1,
  ClientAuth: 2,
  CodeSigning: 3,
  EmailProtection: 4,
  IPSECEndSystem: 5,
  IPSECTunnel: 6,
  IPSECUser: 7,
  TimeStamping: 8,
  OCSPSigning: 9,
  MicrosoftServerGatedCrypto: 10,
  NetscapeServerGatedCrypto: 11,
  MicrosoftCommercialCodeSigning: 12,
  MicrosoftKernelCodeSigning: 13,
} as const;

const EKU_OIDS: Record<string, number> = {
  '2.5.29.37.0': ExtKeyUsage.Any,
  '1.3.6.1.5.5.7.3.1': ExtKeyUsage.ServerAuth,
  '1.3.6.1.5.5.7.3.2': ExtKeyUsage.ClientAuth,
  '1.3.6.1.5.5.7.3.3': ExtKeyUsage.CodeSigning,
  '1.3.6.1.5.5.7.3.4': ExtKeyUsage.EmailProtection,
  '1.3.6.1.5.5.7.3.5': ExtKeyUsage.IPSECEndSystem,
  '1.3.6.1.5.5.7.3.6': ExtKeyUsage.IPSECTunnel,
  '1.3.6.1.5.5.7.3.7': ExtKeyUsage.IPSECUser,
  '1.3.6.1.5.5.7.3.8': ExtKeyUsage.TimeStamping,
  '1.3.6.1.5.5.7.3.9': ExtKeyUsage.OCSPSigning,
  '1.3.6.1.4.1.311.10.3.3': ExtKeyUsage.MicrosoftServerGatedCrypto,
  '2.16.840.1.113730.4.1': ExtKeyUsage.NetscapeServerGatedCrypto,
  '1.3.6.1.4.1.311.2.1.22': ExtKeyUsage.MicrosoftCommercialCodeSigning,
  '1.3.6.1.4.1.311.61.1.1': ExtKeyUsage.MicrosoftKernelCodeSigning,
};

export interface Extension {
  readonly id: number[];
  readonly critical: boolean;
  readonly value: Uint8Array;
}

function parseExtension(der: Der): Extension {
  const id = must(der.readOid(), 'x509: malformed extension OID field');
  let critical = false;
  if (der.peekTag(TAG.BOOLEAN)) critical = must(der.readBoolean(), 'x509: malformed extension critical field');
  const value = must(der.readElement(TAG.OCTET_STRING), 'x509: malformed extension value field').content;
  return { id, critical, value };
}

export interface Sans {
  dns: string[] | null;
  email: string[] | null;
  ip: Uint8Array[] | null;
  uri: GoUrl[] | null;
}

/** domainNameValid (SAN URI hosts and name constraints). */
function domainNameValid(s: string, constraint: boolean): boolean {
  if (s.length === 0) return true;
  if (s.endsWith('.')) return false;
  if (constraint && s.startsWith('.')) s = s.slice(1);
  let lastDot = -1;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && (s.charCodeAt(i) < 33 || s.charCodeAt(i) > 126)) return false;
    if (i === s.length || s[i] === '.') {
      const labelLen = lastDot >= 0 ? i - (lastDot + 1) : i;
      if (labelLen === 0) return false;
      lastDot = i;
    }
  }
  return true;
}

/** parseSANExtension. */
export function parseSans(value: Uint8Array): Sans {
  const out: Sans = { dns: null, email: null, ip: null, uri: null };
  const der = must(new Der(value).read(TAG.SEQUENCE), 'x509: invalid subject alternative names');
  while (!der.empty()) {
    const san = must(der.readAny(), 'x509: invalid subject alternative name');
    const data = san.content;
    switch (san.tag ^ 0x80) {
      case 1:
        if (!isIA5(data)) fail('x509: SAN rfc822Name is malformed');
        (out.email ??= []).push(Buffer.from(data).toString('latin1'));
        break;
      case 2:
        if (!isIA5(data)) fail('x509: SAN dNSName is malformed');
        (out.dns ??= []).push(Buffer.from(data).toString('latin1'));
        break;
      case 6: {
        if (!isIA5(data)) fail('x509: SAN uniformResourceIdentifier is malformed');
        const uri = parseGoUrl(Buffer.from(data).toString('latin1'));
        if (uri.Host.length > 0 && !domainNameValid(uri.Host, false)) fail('x509: cannot parse URI: invalid domain');
        (out.uri ??= []).push(uri);
        break;
      }
      case 7:
        if (data.length === 16) {
          if (data.subarray(0, 10).every((b) => b === 0) && data[10] === 0xff && data[11] === 0xff) {
            fail('x509: SAN iPAddress contains IPv4-mapped IPv6 address');
          }
        } else if (data.length !== 4) fail(`x509: cannot parse IP address of length ${data.length}`);
        (out.ip ??= []).push(data);
        break;
    }
  }
  return out;
}

function isValidIPMask(mask: Uint8Array): boolean {
  let seenZero = false;
  for (const b of mask) {
    if (seenZero) {
      if (b !== 0) return false;
      continue;
    }
    if ([0x00, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe].includes(b)) seenZero = true;
    else if (b !== 0xff) return false;
  }
  return true;
}

interface Subtrees {
  dns: string[] | null;
  ips: Array<{ IP: string; Mask: string }> | null;
  emails: string[] | null;
  uris: string[] | null;
}

/** parseNameConstraintsExtension: the subtrees, and whether a name form Go does not handle appeared. */
function parseNameConstraints(e: Extension): { permitted: Subtrees; excluded: Subtrees; unhandled: boolean } {
  const outer = new Der(e.value);
  const top = outer.read(TAG.SEQUENCE);
  const permitted = top?.readOptional(ctxC(0));
  const excluded = top?.readOptional(ctxC(1));
  if (!top || !outer.empty() || !permitted || !excluded || !top.empty()) {
    return fail('x509: invalid NameConstraints extension');
  }
  if (!permitted.present && !excluded.present) fail('x509: empty name constraints extension');
  if ((permitted.present && permitted.der.empty()) || (excluded.present && excluded.der.empty())) {
    fail('x509: empty name constraints subtree sequence');
  }
  let unhandled = false;
  const values = (subtrees: Der): Subtrees => {
    const out: Subtrees = { dns: null, ips: null, emails: null, uris: null };
    while (!subtrees.empty()) {
      const seq = must(subtrees.read(TAG.SEQUENCE), 'x509: invalid NameConstraints extension');
      const v = must(seq.readAny(), 'x509: invalid NameConstraints extension');
      const text = Buffer.from(v.content).toString('latin1');
      switch (v.tag) {
        case ctx(2):
          if (!isIA5(v.content)) fail('x509: invalid constraint value');
          if (!domainNameValid(text, true)) fail('x509: failed to parse dnsName constraint');
          (out.dns ??= []).push(text);
          break;
        case ctx(7): {
          const l = v.content.length;
          if (l !== 8 && l !== 32) fail(`x509: IP constraint contained value of length ${l}`);
          const ip = v.content.subarray(0, l / 2);
          const mask = v.content.subarray(l / 2);
          if (!isValidIPMask(mask)) fail('x509: IP constraint contained invalid mask');
          if (l === 32 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) {
            fail('x509: IP constraint contained IPv4-mapped IPv6 address');
          }
          (out.ips ??= []).push({ IP: ipString(ip), Mask: b64(mask) });
          break;
        }
        case ctx(1):
          if (!isIA5(v.content)) fail('x509: invalid constraint value');
          // A mailbox constraint goes through Go's RFC 2821 parser, which is not reproduced here.
          if (text.includes('@')) notReproduced('a mailbox name constraint');
          if (!domainNameValid(text, true)) fail('x509: failed to parse rfc822Name constraint');
          (out.emails ??= []).push(text);
          break;
        case ctx(6):
          if (!isIA5(v.content)) fail('x509: invalid constraint value');
          if (isIP(text) !== 0) fail('x509: failed to parse URI constraint: cannot be IP address');
          if (!domainNameValid(text, true)) fail('x509: failed to parse URI constraint');
          (out.uris ??= []).push(text);
          break;
        default:
          unhandled = true;
      }
    }
    return out;
  };
  return { permitted: values(permitted.der), excluded: values(excluded.der), unhandled };
}

// ---- the certificate --------------------------------------------------------------------------------

/** What chain verification reads, next to the JSON OPA returns. */
export interface Certificate {
  readonly raw: Uint8Array;
  readonly rawTbs: Uint8Array;
  readonly rawSubject: Uint8Array;
  readonly rawIssuer: Uint8Array;
  readonly rawSpki: Uint8Array;
  readonly signature: Uint8Array;
  readonly signatureAlgorithm: number;
  readonly publicKeyAlgorithm: number;
  readonly hasPublicKey: boolean;
  /** The named curve of an ECDSA key (its OID arcs). */
  readonly curve: readonly number[] | undefined;
  readonly version: number;
  readonly notBefore: GoTime;
  readonly notAfter: GoTime;
  readonly keyUsage: number;
  readonly extensions: readonly Extension[];
  readonly unhandledCritical: readonly number[][];
  readonly extKeyUsage: readonly number[];
  readonly unknownExtKeyUsage: readonly number[][];
  readonly basicConstraintsValid: boolean;
  readonly isCA: boolean;
  readonly maxPathLen: number;
  readonly subjectKeyId: Uint8Array | null;
  readonly authorityKeyId: Uint8Array | null;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly Uint8Array[];
  readonly uris: readonly GoUrl[];
  readonly hasNameConstraints: boolean;
  readonly requireExplicitPolicy: boolean;
  readonly hasPolicyMappings: boolean;
  /** encoding/json of the x509.Certificate. */
  readonly json: Record<string, unknown>;
}

const bytesOrNull = (b: Uint8Array | null): string | null => (b === null ? null : b64(b));

/** parseCertificate on the element at the start of `der`; the caller moves past `raw`. */
export function parseCertificate(der: Uint8Array): Certificate {
  const input0 = new Der(der);
  const rawElement = must(input0.readElement(TAG.SEQUENCE), 'x509: malformed certificate');
  const raw = rawElement.full;
  const input = new Der(rawElement.content);
  const tbsElement = must(input.readElement(TAG.SEQUENCE), 'x509: malformed tbs certificate');
  const tbs = new Der(tbsElement.content);

  let version = 0n;
  if (tbs.peekTag(ctxC(0))) {
    const explicit = must(tbs.read(ctxC(0)), 'x509: malformed version');
    version = must(explicit.readInt64(), 'x509: malformed version');
    if (!explicit.empty()) fail('x509: malformed version');
  }
  if (version < 0n || version > 2n) fail('x509: malformed version');
  const v = Number(version) + 1;

  const serial = must(tbs.readBigInt(), 'x509: malformed serial number');
  if (serial < 0n) fail('x509: negative serial number');

  const sigAIElement = must(tbs.readElement(TAG.SEQUENCE), 'x509: malformed signature algorithm identifier');
  const outerSigAI = must(input.readElement(TAG.SEQUENCE), 'x509: malformed algorithm identifier');
  if (hex(outerSigAI.content) !== hex(sigAIElement.content)) {
    fail("x509: inner and outer signature algorithm identifiers don't match");
  }
  const sigAlg = signatureAlgorithm(parseAI(new Der(sigAIElement.content)));

  const issuerElement = must(tbs.readElement(TAG.SEQUENCE), 'x509: malformed issuer');
  const issuer = nameJson(parseName(issuerElement.full));

  const validity = must(tbs.read(TAG.SEQUENCE), 'x509: malformed validity');
  const notBefore = must(readTime(validity), 'x509: malformed validity');
  const notAfter = must(readTime(validity), 'x509: malformed validity');

  const subjectElement = must(tbs.readElement(TAG.SEQUENCE), 'x509: malformed issuer');
  const subject = nameJson(parseName(subjectElement.full));

  const spkiElement = must(tbs.readElement(TAG.SEQUENCE), 'x509: malformed spki');
  const spki = new Der(spkiElement.content);
  const pkAI = parseAI(must(spki.read(TAG.SEQUENCE), 'x509: malformed public key algorithm identifier'));
  const pkAlg = publicKeyAlgorithmOf(pkAI);
  const spk = must(spki.readBitString(), 'x509: malformed subjectPublicKey');
  const publicKey = pkAlg === PublicKeyAlgorithm.Unknown ? null : publicKeyJson(pkAI, rightAlign(spk));

  const extensions: Extension[] = [];
  if (v > 1) {
    if (!tbs.skipOptional(ctx(1))) fail('x509: malformed issuerUniqueID');
    if (!tbs.skipOptional(ctx(2))) fail('x509: malformed subjectUniqueID');
    if (v === 3) {
      const opt = must(tbs.readOptional(ctxC(3)), 'x509: malformed extensions');
      if (opt.present) {
        const seen = new Set<string>();
        const exts = must(opt.der.read(TAG.SEQUENCE), 'x509: malformed extensions');
        while (!exts.empty()) {
          const ext = parseExtension(must(exts.read(TAG.SEQUENCE), 'x509: malformed extension'));
          const id = dotted(ext.id);
          if (seen.has(id)) fail(`x509: certificate contains duplicate extension with OID "${id}"`);
          seen.add(id);
          extensions.push(ext);
        }
      }
    }
  }
  const signature = rightAlign(must(input.readBitString(), 'x509: malformed signature'));

  // processExtensions
  let keyUsage = 0;
  let basicConstraintsValid = false;
  let isCA = false;
  let maxPathLen = 0;
  let sans: Sans = { dns: null, email: null, ip: null, uri: null };
  let permitted: Subtrees = { dns: null, ips: null, emails: null, uris: null };
  let excluded: Subtrees = { dns: null, ips: null, emails: null, uris: null };
  let permittedCritical = false;
  let crlDistributionPoints: string[] | null = null;
  let authorityKeyId: Uint8Array | null = null;
  let subjectKeyId: Uint8Array | null = null;
  let extKeyUsage: number[] | null = null;
  let unknownExtKeyUsage: number[][] | null = null;
  let policies: string[] | null = null;
  let policyIdentifiers: number[][] | null = null;
  let policyMappings: Array<Record<string, string>> | null = null;
  let inhibitAnyPolicy = 0;
  let inhibitPolicyMapping = 0;
  let inhibitPolicyMappingZero = false;
  let requireExplicitPolicy = 0;
  let requireExplicitPolicyZero = false;
  let inhibitAnyPolicyZero = false;
  let ocspServer: string[] | null = null;
  let issuingCertificateURL: string[] | null = null;
  let unhandledCritical: number[][] | null = null;
  let hasNameConstraints = false;

  for (const e of extensions) {
    let unhandled = false;
    const id = e.id;
    if (id.length === 4 && id[0] === 2 && id[1] === 5 && id[2] === 29) {
      switch (id[3]) {
        case 15: {
          const bits = must(new Der(e.value).readBitString(), 'x509: invalid key usage');
          keyUsage = 0;
          for (let i = 0; i < 9; i++) if (bitAt(bits, i) !== 0) keyUsage |= 1 << i;
          break;
        }
        case 19: {
          const der = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid basic constraints');
          isCA = false;
          if (der.peekTag(TAG.BOOLEAN)) isCA = must(der.readBoolean(), 'x509: invalid basic constraints');
          maxPathLen = -1;
          if (der.peekTag(TAG.INTEGER)) {
            const mpl = must(der.readBigInt(), 'x509: invalid basic constraints');
            if (mpl < 0n || mpl > (1n << 63n) - 1n) fail('x509: invalid basic constraints');
            if (mpl > BigInt(Number.MAX_SAFE_INTEGER)) notReproduced('a path length beyond 2^53');
            maxPathLen = Number(mpl);
          }
          basicConstraintsValid = true;
          break;
        }
        case 17:
          sans = parseSans(e.value);
          if (!sans.dns && !sans.email && !sans.ip && !sans.uri) unhandled = true;
          break;
        case 30: {
          const nc = parseNameConstraints(e);
          hasNameConstraints = true;
          unhandled = nc.unhandled;
          permitted = nc.permitted;
          excluded = nc.excluded;
          permittedCritical = e.critical;
          break;
        }
        case 31: {
          const val = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid CRL distribution points');
          while (!val.empty()) {
            const dp = must(val.read(TAG.SEQUENCE), 'x509: invalid CRL distribution point');
            const name = must(dp.readOptional(ctxC(0)), 'x509: invalid CRL distribution point');
            if (!name.present) continue;
            const full = must(name.der.read(ctxC(0)), 'x509: invalid CRL distribution point');
            while (!full.empty()) {
              if (!full.peekTag(ctx(6))) break;
              const uri = must(full.readElement(ctx(6)), 'x509: invalid CRL distribution point');
              (crlDistributionPoints ??= []).push(goJsonString(uri.content));
            }
          }
          break;
        }
        case 35: {
          if (e.critical) fail('x509: authority key identifier incorrectly marked critical');
          const akid = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid authority key identifier');
          authorityKeyId = null;
          if (akid.peekTag(ctx(0))) {
            authorityKeyId = must(akid.readElement(ctx(0)), 'x509: invalid authority key identifier').content;
          }
          break;
        }
        case 36: {
          const val = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid policy constraints extension');
          if (val.peekTag(ctx(0))) {
            const n = must(val.readInt64(ctx(0)), 'x509: invalid policy constraints extension');
            requireExplicitPolicy = Number(n);
            requireExplicitPolicyZero = n === 0n;
          }
          if (val.peekTag(ctx(1))) {
            const n = must(val.readInt64(ctx(1)), 'x509: invalid policy constraints extension');
            inhibitPolicyMapping = Number(n);
            inhibitPolicyMappingZero = n === 0n;
          }
          if (!Number.isSafeInteger(requireExplicitPolicy) || !Number.isSafeInteger(inhibitPolicyMapping)) {
            notReproduced('a policy constraint beyond 2^53');
          }
          break;
        }
        case 37: {
          const der = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid extended key usages');
          extKeyUsage = null;
          unknownExtKeyUsage = null;
          while (!der.empty()) {
            const eku = must(der.readOid(), 'x509: invalid extended key usages');
            const known = EKU_OIDS[dotted(eku)];
            if (known !== undefined) (extKeyUsage ??= []).push(known);
            else (unknownExtKeyUsage ??= []).push(eku);
          }
          break;
        }
        case 14: {
          if (e.critical) fail('x509: subject key identifier incorrectly marked critical');
          subjectKeyId = must(
            new Der(e.value).readElement(TAG.OCTET_STRING),
            'x509: invalid subject key identifier',
          ).content;
          break;
        }
        case 32: {
          const der = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid certificate policies');
          const seen = new Set<string>();
          policies = null;
          policyIdentifiers = [];
          while (!der.empty()) {
            const cp = must(der.read(TAG.SEQUENCE), 'x509: invalid certificate policies');
            const oidBytes = must(cp.readElement(TAG.OID), 'x509: invalid certificate policies').content;
            if (seen.has(hex(oidBytes))) fail('x509: invalid certificate policies');
            seen.add(hex(oidBytes));
            const arcs = must(oidArcsBig(oidBytes), 'x509: invalid certificate policies');
            (policies ??= []).push(dotted(arcs));
            const small = oidArcs(oidBytes);
            if (small) policyIdentifiers.push(small);
          }
          break;
        }
        case 33: {
          const val = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid policy mappings extension');
          while (!val.empty()) {
            const s = must(val.read(TAG.SEQUENCE), 'x509: invalid policy mappings extension');
            const issuerOid = must(s.readElement(TAG.OID), 'x509: invalid policy mappings extension').content;
            const subjectOid = must(s.readElement(TAG.OID), 'x509: invalid policy mappings extension').content;
            // OID.MarshalText of an OID that is not minimally encoded is an error in Go: json.Marshal fails.
            const i = must(oidArcsBig(issuerOid), 'x509: invalid policy mapping OID');
            const j = must(oidArcsBig(subjectOid), 'x509: invalid policy mapping OID');
            (policyMappings ??= []).push({ IssuerDomainPolicy: dotted(i), SubjectDomainPolicy: dotted(j) });
          }
          break;
        }
        case 54: {
          const n = must(new Der(e.value).readInt64(), 'x509: invalid inhibit any policy extension');
          if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
            notReproduced('an inhibitAnyPolicy beyond 2^53');
          }
          inhibitAnyPolicy = Number(n);
          inhibitAnyPolicyZero = n === 0n;
          break;
        }
        default:
          unhandled = true;
      }
    } else if (dotted(id) === '1.3.6.1.5.5.7.1.1') {
      if (e.critical) fail('x509: authority info access incorrectly marked critical');
      const val = must(new Der(e.value).read(TAG.SEQUENCE), 'x509: invalid authority info access');
      while (!val.empty()) {
        const aia = must(val.read(TAG.SEQUENCE), 'x509: invalid authority info access');
        const method = must(aia.readOid(), 'x509: invalid authority info access');
        if (!aia.peekTag(ctx(6))) continue;
        const loc = must(aia.readElement(ctx(6)), 'x509: invalid authority info access').content;
        const m = dotted(method);
        if (m === '1.3.6.1.5.5.7.48.1') (ocspServer ??= []).push(goJsonString(loc));
        else if (m === '1.3.6.1.5.5.7.48.2') (issuingCertificateURL ??= []).push(goJsonString(loc));
      }
    } else {
      unhandled = true;
    }
    if (e.critical && unhandled) (unhandledCritical ??= []).push(e.id);
  }

  const json: Record<string, unknown> = {
    Raw: b64(raw),
    RawTBSCertificate: b64(tbsElement.full),
    RawSubjectPublicKeyInfo: b64(spkiElement.full),
    RawSubject: b64(subjectElement.full),
    RawIssuer: b64(issuerElement.full),
    Signature: b64(signature),
    SignatureAlgorithm: sigAlg,
    PublicKeyAlgorithm: pkAlg,
    PublicKey: publicKey,
    Version: v,
    SerialNumber: exactInt(serial),
    Issuer: issuer,
    Subject: subject,
    NotBefore: notBefore.json,
    NotAfter: notAfter.json,
    KeyUsage: keyUsage,
    Extensions:
      extensions.length === 0 ? null : extensions.map((e) => ({ Id: e.id, Critical: e.critical, Value: b64(e.value) })),
    ExtraExtensions: null,
    UnhandledCriticalExtensions: unhandledCritical,
    ExtKeyUsage: extKeyUsage,
    UnknownExtKeyUsage: unknownExtKeyUsage,
    BasicConstraintsValid: basicConstraintsValid,
    IsCA: isCA,
    MaxPathLen: maxPathLen,
    MaxPathLenZero: basicConstraintsValid && maxPathLen === 0,
    SubjectKeyId: bytesOrNull(subjectKeyId),
    AuthorityKeyId: bytesOrNull(authorityKeyId),
    OCSPServer: ocspServer,
    IssuingCertificateURL: issuingCertificateURL,
    DNSNames: sans.dns,
    EmailAddresses: sans.email,
    IPAddresses: sans.ip?.map(ipString) ?? null,
    URIs: sans.uri,
    PermittedDNSDomainsCritical: permittedCritical,
    PermittedDNSDomains: permitted.dns,
    ExcludedDNSDomains: excluded.dns,
    PermittedIPRanges: permitted.ips,
    ExcludedIPRanges: excluded.ips,
    PermittedEmailAddresses: permitted.emails,
    ExcludedEmailAddresses: excluded.emails,
    PermittedURIDomains: permitted.uris,
    ExcludedURIDomains: excluded.uris,
    CRLDistributionPoints: crlDistributionPoints,
    PolicyIdentifiers: policyIdentifiers,
    Policies: policies,
    InhibitAnyPolicy: inhibitAnyPolicy,
    InhibitAnyPolicyZero: inhibitAnyPolicyZero,
    InhibitPolicyMapping: inhibitPolicyMapping,
    InhibitPolicyMappingZero: inhibitPolicyMappingZero,
    RequireExplicitPolicy: requireExplicitPolicy,
    RequireExplicitPolicyZero: requireExplicitPolicyZero,
    PolicyMappings: policyMappings,
  };

  return {
    raw,
    rawTbs: tbsElement.full,
    rawSubject: subjectElement.full,
    rawIssuer: issuerElement.full,
    rawSpki: spkiElement.full,
    signature,
    signatureAlgorithm: sigAlg,
    publicKeyAlgorithm: pkAlg,
    hasPublicKey: publicKey !== null,
    curve: pkAlg === PublicKeyAlgorithm.ECDSA ? new Der(pkAI.params).readOid() : undefined,
    version: v,
    notBefore,
    notAfter,
    keyUsage,
    extensions,
    unhandledCritical: unhandledCritical ?? [],
    extKeyUsage: extKeyUsage ?? [],
    unknownExtKeyUsage: unknownExtKeyUsage ?? [],
    basicConstraintsValid,
    isCA,
    maxPathLen,
    subjectKeyId,
    authorityKeyId,
    dnsNames: sans.dns ?? [],
    ipAddresses: sans.ip ?? [],
    uris: sans.uri ?? [],
    hasNameConstraints,
    requireExplicitPolicy: requireExplicitPolicy !== 0 || requireExplicitPolicyZero,
    hasPolicyMappings: policyMappings !== null,
    json,
  };
}

/** x509.ParseCertificates: concatenated DER certificates. */
export function parseCertificates(der: Uint8Array): Certificate[] {
  const certs: Certificate[] = [];
  let rest = der;
  while (rest.length > 0) {
    const cert = parseCertificate(rest);
    certs.push(cert);
    rest = rest.subarray(cert.raw.length);
  }
  return certs;
}

/** The certificates' JSON with the URIStrings field OPA adds (parse_certificates, parse_and_verify_certificates). */
export function extendedJson(cert: Certificate): Record<string, unknown> {
  return { ...cert.json, URIStrings: cert.json.URIs === null ? null : cert.uris.map(goUrlString) };
}

export { integerValue, NotReproducedError };
