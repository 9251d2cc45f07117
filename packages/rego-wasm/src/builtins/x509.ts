// crypto.x509.* and crypto.parse_private_keys: OPA's inputs (PEM text, base64 of PEM, base64 of DER), its
// errors, and its results: the encoding/json of Go's x509.Certificate (x509Parse.ts), chains verified as
// Go does (x509Verify.ts), x509.CertificateRequest (x509Csr.ts), private keys and tls.Certificate
// (x509Keys.ts).
import { BuiltinArgError, str, typeName } from './args.js';
import { RegoObject, RegoSet } from './values.js';
import { goBytes, pemDecode, stdBase64, bytesOf } from './pem.js';
import {
  ExtKeyUsage,
  NotReproducedError,
  extendedJson,
  parseCertificate,
  parseCertificates,
  type Certificate,
} from './x509Parse.js';
import { parseCertificateRequest } from './x509Csr.js';
import { parseEc, parsePkcs1, parsePkcs8, type PrivateKey } from './x509Keys.js';
import { VerifyError, verifyChain, type VerifyOptions } from './x509Verify.js';
import { INT64_MAX, INT64_MIN, NumberText } from './exact.js';

const fail = (builtin: string, detail: string): never => {
  throw new BuiltinArgError(builtin, detail);
};

/** getX509CertsFromPem: every block must be a CERTIFICATE; their DER is parsed as one concatenation. */
function certsFromPem(builtin: string, text: string): Certificate[] {
  const parts: Uint8Array[] = [];
  let rest = text;
  while (rest.length > 0) {
    const next = pemDecode(rest);
    if (!next) break;
    if (next.block.type !== 'CERTIFICATE')
      fail(builtin, `PEM block type is '${next.block.type}', expected CERTIFICATE`);
    parts.push(next.block.bytes);
    rest = next.rest;
  }
  return parseCertificates(Buffer.concat(parts));
}

/** getX509CertsFromString: PEM, or base64 of PEM, or base64 of DER. */
export function certsFromString(builtin: string, input: string): Certificate[] {
  const text = goBytes(input);
  if (text.startsWith('-----BEGIN')) return certsFromPem(builtin, text);
  const der = stdBase64(text) ?? fail(builtin, 'illegal base64 data');
  const decoded = Buffer.from(der).toString('latin1');
  if (decoded.startsWith('-----BEGIN')) return certsFromPem(builtin, decoded);
  return parseCertificates(bytesOf(decoded));
}

const KEY_USAGES: Record<string, number> = {
  KeyUsageAny: ExtKeyUsage.Any,
  KeyUsageServerAuth: ExtKeyUsage.ServerAuth,
  KeyUsageClientAuth: ExtKeyUsage.ClientAuth,
  KeyUsageCodeSigning: ExtKeyUsage.CodeSigning,
  KeyUsageEmailProtection: ExtKeyUsage.EmailProtection,
  KeyUsageIPSECEndSystem: ExtKeyUsage.IPSECEndSystem,
  KeyUsageIPSECTunnel: ExtKeyUsage.IPSECTunnel,
  KeyUsageIPSECUser: ExtKeyUsage.IPSECUser,
  KeyUsageTimeStamping: ExtKeyUsage.TimeStamping,
  KeyUsageOCSPSigning: ExtKeyUsage.OCSPSigning,
  KeyUsageMicrosoftServerGatedCrypto: ExtKeyUsage.MicrosoftServerGatedCrypto,
  KeyUsageNetscapeServerGatedCrypto: ExtKeyUsage.NetscapeServerGatedCrypto,
  KeyUsageMicrosoftCommercialCodeSigning: ExtKeyUsage.MicrosoftCommercialCodeSigning,
  KeyUsageMicrosoftKernelCodeSigning: ExtKeyUsage.MicrosoftKernelCodeSigning,
};

const WITH_OPTIONS = 'crypto.x509.parse_and_verify_certificates_with_options';

const isRegoNumber = (v: unknown): v is number | bigint | NumberText =>
  typeof v === 'number' || typeof v === 'bigint' || v instanceof NumberText;

/**
 * OPA reads these options with ast.Number's Int64, strconv.ParseInt of the number's text: only a plain integer
 * within int64 passes, so 1e18 and 1.0 are errors although they are whole. The wire hands this builtin every
 * number not written as a plain integer as its NumberText (index.ts).
 */
function int64AsWritten(v: number | bigint | NumberText): bigint | undefined {
  let n: bigint;
  if (v instanceof NumberText) {
    if (!/^-?\d+$/.test(v.text)) return undefined;
    n = BigInt(v.text);
  } else if (typeof v === 'bigint') n = v;
  else if (Number.isInteger(v)) n = BigInt(v);
  else return undefined;
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** extractVerifyOpts: each key OPA knows, with its type checks; any other string key is an error. */
function verifyOptions(options: unknown): VerifyOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options) || options instanceof RegoSet) {
    return fail(WITH_OPTIONS, `operand 2 must be object but got ${typeName(options)}`);
  }
  // Keys that are not strings are skipped, as OPA skips them.
  const entries =
    options instanceof RegoObject
      ? options.entries.filter((e): e is readonly [string, unknown] => typeof e[0] === 'string')
      : Object.entries(options);
  let dnsName: string | undefined;
  let currentTimeNs: bigint | undefined;
  let keyUsages: number[] | undefined;
  for (const [k, v] of entries) {
    switch (k) {
      case 'DNSName':
        if (typeof v !== 'string') return fail(WITH_OPTIONS, "'DNSName' should be a string");
        dnsName = v.replace(/^"+|"+$/g, '');
        break;
      case 'CurrentTime': {
        if (!isRegoNumber(v)) return fail(WITH_OPTIONS, "'CurrentTime' should be a number");
        currentTimeNs = int64AsWritten(v);
        if (currentTimeNs === undefined) return fail(WITH_OPTIONS, "'CurrentTime' should be a valid int64 number");
        break;
      }
      case 'MaxConstraintComparisons':
        // Only name-constraint checks read it, and chains with name constraints are not verified here.
        if (!isRegoNumber(v)) return fail(WITH_OPTIONS, "'MaxConstraintComparisons' should be a number");
        if (int64AsWritten(v) === undefined) {
          return fail(WITH_OPTIONS, "'MaxConstraintComparisons' should be a valid number");
        }
        break;
      case 'KeyUsages': {
        const items = v instanceof RegoSet ? v.items : Array.isArray(v) ? v : undefined;
        if (!items) return fail(WITH_OPTIONS, "'KeyUsages' should be an Array or Set");
        const invalid: string[] = [];
        keyUsages = [];
        for (const item of items) {
          if (typeof item !== 'string') continue;
          const name = item.replace(/^"+|"+$/g, '');
          const usage = KEY_USAGES[name];
          if (usage === undefined) invalid.push(name);
          else keyUsages.push(usage);
        }
        if (invalid.length > 0)
          return fail(WITH_OPTIONS, `invalid entries for 'KeyUsages' found: ${invalid.join(' ')}`);
        break;
      }
      default:
        return fail(WITH_OPTIONS, 'invalid key option');
    }
  }
  return {
    ...(dnsName !== undefined ? { dnsName } : {}),
    ...(currentTimeNs !== undefined ? { currentTimeNs } : {}),
    ...(keyUsages !== undefined ? { keyUsages } : {}),
  };
}

/** [true, chain] or [false, []]; only an input that is not a string or a result not reproduced is an error. */
function parseAndVerify(builtin: string, input: unknown, options: () => VerifyOptions, extended: boolean): unknown {
  const text = str(builtin, input);
  let certs: Certificate[];
  try {
    certs = certsFromString(builtin, text);
  } catch (err) {
    // Go's parse failed: OPA answers [false, []]. A value not reproduced here stays an error.
    if (err instanceof NotReproducedError) throw err;
    return [false, []];
  }
  const opts = options();
  try {
    const chain = verifyChain(certs, opts);
    return [true, chain.map((c) => (extended ? extendedJson(c) : c.json))];
  } catch (err) {
    if (err instanceof VerifyError) return [false, []];
    throw err;
  }
}

const KEYS = 'crypto.parse_private_keys';

/** getPrivateKeysFromPEMData: RSA PRIVATE KEY, PRIVATE KEY and EC PRIVATE KEY blocks; others skipped. */
function privateKeys(input: string): PrivateKey[] {
  let text = goBytes(input);
  const decoded = stdBase64(text);
  if (decoded) text = Buffer.from(decoded).toString('latin1');
  const keys: PrivateKey[] = [];
  let rest = text;
  while (rest.length > 0) {
    const next = pemDecode(rest);
    if (!next) break;
    rest = next.rest;
    const der = next.block.bytes;
    if (next.block.type === 'RSA PRIVATE KEY') keys.push(parsePkcs1(der));
    else if (next.block.type === 'PRIVATE KEY') keys.push(parsePkcs8(der));
    else if (next.block.type === 'EC PRIVATE KEY') keys.push(parseEc(der));
  }
  return keys;
}

const KEYPAIR = 'crypto.x509.parse_keypair';

/** tls.parsePrivateKey: PKCS #1, then PKCS #8, then SEC 1. */
function tlsPrivateKey(der: Uint8Array): PrivateKey {
  for (const parse of [parsePkcs1, parsePkcs8, parseEc]) {
    try {
      return parse(der);
    } catch (err) {
      if (err instanceof NotReproducedError) throw err;
    }
  }
  return fail(KEYPAIR, 'tls: failed to parse private key');
}

/** PEM text, or base64 of PEM, or base64 of DER wrapped in a PEM block of this type (getTLSx509KeyPairFromString). */
function pemOrDer(text: string, type: string): string {
  let bytes = goBytes(text);
  if (!bytes.startsWith('-----BEGIN ')) {
    const decoded = stdBase64(bytes) ?? fail(KEYPAIR, 'illegal base64 data');
    bytes = Buffer.from(decoded).toString('latin1');
  }
  if (bytes.startsWith('-----BEGIN')) return bytes;
  const body = Buffer.from(bytes, 'latin1').toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;
}

/** tls.X509KeyPair, as the JSON of the tls.Certificate (Leaf filled, as Go 1.23+ does). */
function keyPair(certText: string, keyText: string): Record<string, unknown> {
  const certPem = pemOrDer(certText, 'CERTIFICATE');
  const keyPem = pemOrDer(keyText, 'PRIVATE KEY');
  const ders: Uint8Array[] = [];
  for (let rest = certPem, next = pemDecode(rest); next; rest = next.rest, next = pemDecode(rest)) {
    if (next.block.type === 'CERTIFICATE') ders.push(next.block.bytes);
  }
  if (ders.length === 0) fail(KEYPAIR, 'tls: failed to find any PEM data in certificate input');
  let keyDer: Uint8Array | undefined;
  for (let rest = keyPem, next = pemDecode(rest); ; rest = next.rest, next = pemDecode(rest)) {
    if (!next) return fail(KEYPAIR, 'tls: failed to find any PEM data in key input');
    if (next.block.type === 'PRIVATE KEY' || next.block.type.endsWith(' PRIVATE KEY')) {
      keyDer = next.block.bytes;
      break;
    }
  }
  const leaf = parseCertificate(ders[0]!);
  if (leaf.raw.length !== ders[0]!.length) fail(KEYPAIR, 'x509: trailing data');
  const key = tlsPrivateKey(keyDer);
  const pub = leaf.json.PublicKey as Record<string, unknown> | string | null;
  const matches =
    leaf.publicKeyAlgorithm === 1
      ? key.kind === 'rsa' && key.publicId.split(':')[1] === String((pub as { N: unknown }).N)
      : leaf.publicKeyAlgorithm === 3
        ? key.kind === 'ecdsa' &&
          key.publicId.endsWith(`:${String((pub as { X: unknown }).X)}:${String((pub as { Y: unknown }).Y)}`)
        : leaf.publicKeyAlgorithm === 4
          ? key.kind === 'ed25519' && key.publicId === `ed25519:${Buffer.from(pub as string, 'base64').toString('hex')}`
          : fail(KEYPAIR, 'tls: unknown public key algorithm');
  if (!matches) fail(KEYPAIR, 'tls: private key does not match public key');
  return {
    Certificate: ders.map((d) => Buffer.from(d).toString('base64')),
    PrivateKey: key.json,
    SupportedSignatureAlgorithms: null,
    OCSPStaple: null,
    SignedCertificateTimestamps: null,
    Leaf: leaf.json,
  };
}

const CSR = 'crypto.x509.parse_certificate_request';

/** A PEM CERTIFICATE REQUEST, or base64 of one or of its DER. */
function certificateRequest(input: string): Record<string, unknown> {
  let bytes = goBytes(input);
  if (!bytes.startsWith('-----BEGIN CERTIFICATE REQUEST-----')) {
    bytes = Buffer.from(stdBase64(bytes) ?? fail(CSR, 'illegal base64 data')).toString('latin1');
  }
  const block = pemDecode(bytes);
  if (block && block.block.type !== 'CERTIFICATE REQUEST') fail(CSR, 'invalid PEM-encoded certificate signing request');
  return parseCertificateRequest(block ? block.block.bytes : bytesOf(bytes));
}

export const x509Builtins = {
  'crypto.x509.parse_certificates': (input: unknown) =>
    certsFromString('crypto.x509.parse_certificates', str('crypto.x509.parse_certificates', input)).map(extendedJson),
  'crypto.x509.parse_and_verify_certificates': (input: unknown) =>
    parseAndVerify('crypto.x509.parse_and_verify_certificates', input, () => ({}), true),
  [WITH_OPTIONS]: (input: unknown, options: unknown) =>
    parseAndVerify(WITH_OPTIONS, input, () => verifyOptions(options), false),
  [CSR]: (input: unknown) => certificateRequest(str(CSR, input)),
  [KEYPAIR]: (cert: unknown, key: unknown) => keyPair(str(KEYPAIR, cert), str(KEYPAIR, key)),
  [KEYS]: (input: unknown) => {
    const text = str(KEYS, input);
    if (text === '') return null;
    return privateKeys(text).map((k) => k.json);
  },
};
