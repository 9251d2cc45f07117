// crypto.x509.parse_certificates and crypto.x509.parse_and_verify_certificates(_with_options): OPA's
// inputs (PEM text, base64 of PEM, base64 of concatenated DER), its errors, and its results (the
// encoding/json of Go's x509.Certificate, x509Parse.ts; chains verified as Go does, x509Verify.ts).
import { BuiltinArgError, str, typeName } from './args.js';
import { RegoObject, RegoSet } from './values.js';
import { goBytes, pemDecode, stdBase64, bytesOf } from './pem.js';
import { ExtKeyUsage, NotReproducedError, extendedJson, parseCertificates, type Certificate } from './x509Parse.js';
import { VerifyError, verifyChain, type VerifyOptions } from './x509Verify.js';
import { INT64_MAX, INT64_MIN } from './exact.js';

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
        if (typeof v === 'bigint') currentTimeNs = v;
        else if (typeof v === 'number' && Number.isInteger(v)) currentTimeNs = BigInt(v);
        else return fail(WITH_OPTIONS, "'CurrentTime' should be a valid int64 number");
        if (currentTimeNs < INT64_MIN || currentTimeNs > INT64_MAX) {
          return fail(WITH_OPTIONS, "'CurrentTime' should be a valid int64 number");
        }
        break;
      }
      case 'MaxConstraintComparisons':
        // Only name-constraint checks read it, and chains with name constraints are not verified here.
        if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) {
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

export const x509Builtins = {
  'crypto.x509.parse_certificates': (input: unknown) =>
    certsFromString('crypto.x509.parse_certificates', str('crypto.x509.parse_certificates', input)).map(extendedJson),
  'crypto.x509.parse_and_verify_certificates': (input: unknown) =>
    parseAndVerify('crypto.x509.parse_and_verify_certificates', input, () => ({}), true),
  [WITH_OPTIONS]: (input: unknown, options: unknown) =>
    parseAndVerify(WITH_OPTIONS, input, () => verifyOptions(options), false),
};
