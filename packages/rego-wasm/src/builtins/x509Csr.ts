// Certificate signing requests as Go's x509.ParseCertificateRequest parses them (through encoding/asn1,
// Go 1.24–1.26) and as encoding/json writes the x509.CertificateRequest: what OPA's
// crypto.x509.parse_certificate_request returns. Subject values follow encoding/asn1's rules for an
// `any` (strings, integers, OIDs, bit and octet strings; other types become null), which differ from the
// certificate parser's; the deprecated Attributes field is reproduced the way Go fills it.
import { BuiltinArgError, NotReproducedError } from './args.js';
import { ctxC, Der, readTime, rightAlign, TAG, type Element } from './der.js';
import { exactInt } from './exact.js';
import { ipString } from './x509AltNames.js';
import {
  b64,
  nameJson,
  parseAI,
  parseSans,
  publicKeyJson,
  publicKeyAlgorithmOf,
  signatureAlgorithm,
  type Atv,
} from './x509Parse.js';

const fail = (detail: string): never => {
  throw new BuiltinArgError('crypto.x509.parse_certificate_request', detail);
};
const notReproduced = (detail: string): never => {
  throw new NotReproducedError('crypto.x509.parse_certificate_request', `${detail} is not reproduced exactly`);
};
const must = <T>(v: T | undefined, detail: string): T => (v === undefined ? fail(detail) : v);
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const STRING_TAGS = new Set<number>([
  TAG.PrintableString,
  TAG.NumericString,
  TAG.IA5String,
  TAG.T61String,
  TAG.UTF8String,
  TAG.BMPString,
]);

function isPrintable(b: number): boolean {
  return /[A-Za-z0-9 '()+,\-./:=?*&]/.test(String.fromCharCode(b));
}

/** encoding/asn1's parse of a primitive universal element into an `any`; null for the types it skips. */
function anyValue(e: Element): unknown {
  const v = e.content;
  switch (e.tag) {
    case TAG.PrintableString:
      return v.every(isPrintable) ? latin1(v) : fail('asn1: syntax error: PrintableString contains invalid character');
    case TAG.NumericString:
      return v.every((b) => (b >= 0x30 && b <= 0x39) || b === 0x20)
        ? latin1(v)
        : fail('asn1: syntax error: NumericString contains invalid character');
    case TAG.IA5String:
      return v.every((b) => b < 0x80) ? latin1(v) : fail('asn1: syntax error: IA5String contains invalid character');
    case TAG.T61String:
    case TAG.UTF8String:
      try {
        // T61String keeps its raw bytes in Go; json.Marshal writes them as they are when they are UTF-8.
        return new TextDecoder('utf-8', { fatal: true }).decode(v);
      } catch {
        return e.tag === TAG.UTF8String
          ? fail('asn1: syntax error: invalid UTF-8 string')
          : notReproduced('T61String text');
      }
    case TAG.INTEGER: {
      const n = new Der(e.full).readInt64();
      return exactInt(must(n, 'asn1: structure error: integer too large'));
    }
    case TAG.BIT_STRING: {
      const bs = must(new Der(e.full).readBitString(), 'asn1: syntax error: invalid BIT STRING');
      return { Bytes: b64(bs.bytes), BitLength: bs.bitLength };
    }
    case TAG.OID:
      return must(new Der(e.full).readOid(), 'asn1: syntax error: invalid OBJECT IDENTIFIER');
    case TAG.UTCTime:
      return must(readTime(new Der(e.full)), 'asn1: time did not serialize back to the original value').json;
    case TAG.GeneralizedTime:
      if (v.includes(0x2e)) return notReproduced('a fractional GeneralizedTime');
      return must(readTime(new Der(e.full)), 'asn1: time did not serialize back to the original value').json;
    case TAG.OCTET_STRING:
      return b64(v);
    case TAG.BMPString: {
      if (v.length % 2 !== 0) return fail('asn1: invalid BMPString');
      let end = v.length;
      if (end >= 2 && v[end - 1] === 0 && v[end - 2] === 0) end -= 2;
      const units: number[] = [];
      for (let i = 0; i < end; i += 2) units.push((v[i]! << 8) | v[i + 1]!);
      if (units.some((u) => u >= 0xd800 && u <= 0xdfff)) return notReproduced('a BMPString with surrogates');
      return String.fromCharCode(...units);
    }
    default:
      return null;
  }
}

/** A SEQUENCE { OID, ANY } (pkix.AttributeTypeAndValue); elements after the value are ignored, as Go does. */
function attributeTypeAndValue(seq: Der): Atv {
  const type = must(seq.readOid(), 'asn1: structure error: invalid OBJECT IDENTIFIER');
  const value = must(seq.readAny(), 'asn1: syntax error: sequence truncated');
  const primitiveUniversal = (value.tag & 0xe0) === 0;
  const isString = primitiveUniversal && STRING_TAGS.has(value.tag);
  return { type, value: primitiveUniversal ? anyValue(value) : null, isString };
}

/** pkix.RDNSequence through encoding/asn1. */
function rdnSequence(full: Uint8Array): Atv[][] {
  const outer = new Der(full);
  const seq = must(outer.read(TAG.SEQUENCE), "asn1: structure error: tags don't match");
  if (!outer.empty()) fail('x509: trailing data after X.509 Subject');
  const rdns: Atv[][] = [];
  while (!seq.empty()) {
    const set = must(seq.read(TAG.SET), "asn1: structure error: tags don't match");
    const rdn: Atv[] = [];
    while (!set.empty())
      rdn.push(attributeTypeAndValue(must(set.read(TAG.SEQUENCE), "asn1: structure error: tags don't match")));
    rdns.push(rdn);
  }
  return rdns;
}

/** parseRawAttributes: the attributes that parse as pkix.AttributeTypeAndValueSET, the others skipped. */
function rawAttributes(attrs: readonly Element[]): unknown {
  const out: unknown[] = [];
  for (const a of attrs) {
    try {
      const outer = new Der(a.full);
      const seq = outer.read(TAG.SEQUENCE);
      if (!seq) continue;
      const type = seq.readOid();
      const set = seq.read(TAG.SET);
      if (!type || !set || !outer.empty()) continue;
      const value: Array<Array<Record<string, unknown>>> = [];
      let ok = true;
      while (ok && !set.empty()) {
        const inner = set.read(TAG.SEQUENCE);
        if (!inner) {
          ok = false;
          break;
        }
        const atvs: Array<Record<string, unknown>> = [];
        while (!inner.empty()) {
          const atv = inner.read(TAG.SEQUENCE);
          if (!atv) {
            ok = false;
            break;
          }
          const { type: t, value: v } = attributeTypeAndValue(atv);
          atvs.push({ Type: t, Value: v });
        }
        value.push(atvs);
      }
      if (ok) out.push({ Type: type, Value: value });
    } catch (err) {
      if (err instanceof NotReproducedError) throw err;
    }
  }
  return out.length > 0 ? out : null;
}

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** parseCSRExtensions: the extensions of every extensionRequest attribute. */
function csrExtensions(attrs: readonly Element[]): Array<{ id: number[]; critical: boolean; value: Uint8Array }> {
  const out: Array<{ id: number[]; critical: boolean; value: Uint8Array }> = [];
  const seen = new Set<string>();
  for (const a of attrs) {
    const outer = new Der(a.full);
    const seq = outer.read(TAG.SEQUENCE);
    const id = seq?.readOid();
    const values = seq?.read(TAG.SET);
    if (!seq || !id || !values || !outer.empty() || values.empty()) continue;
    // The attribute is skipped unless every value in its SET is a well-formed element.
    const elements: Element[] = [];
    for (let e = values.readAny(); e; e = values.empty() ? undefined : values.readAny()) elements.push(e);
    if (!values.empty()) continue;
    if (id.join('.') !== EXTENSION_REQUEST) continue;
    const first = elements[0]!;
    const exts = must(new Der(first.full).read(TAG.SEQUENCE), "asn1: structure error: tags don't match");
    while (!exts.empty()) {
      const ext = must(exts.read(TAG.SEQUENCE), "asn1: structure error: tags don't match");
      const extId = must(ext.readOid(), 'asn1: structure error: invalid OBJECT IDENTIFIER');
      let critical = false;
      if (ext.peekTag(TAG.BOOLEAN)) critical = must(ext.readBoolean(), 'asn1: syntax error: invalid boolean');
      const value = must(ext.readElement(TAG.OCTET_STRING), 'asn1: syntax error: sequence truncated').content;
      const key = extId.join('.');
      if (seen.has(key)) fail('x509: certificate request contains duplicate requested extensions');
      seen.add(key);
      out.push({ id: extId, critical, value });
    }
  }
  return out;
}

/** ParseCertificateRequest, as the JSON of the x509.CertificateRequest. */
export function parseCertificateRequest(der: Uint8Array): Record<string, unknown> {
  const input = new Der(der);
  const raw = must(input.readElement(TAG.SEQUENCE), "asn1: structure error: tags don't match");
  if (!input.empty()) fail('asn1: syntax error: trailing data');
  const csr = new Der(raw.content);
  const tbsElement = must(csr.readElement(TAG.SEQUENCE), "asn1: structure error: tags don't match");
  const tbs = new Der(tbsElement.content);
  const version = must(tbs.readInt64(), 'asn1: structure error: integer too large');
  const subject = must(tbs.readAny(), 'asn1: syntax error: sequence truncated');
  const spkiElement = must(tbs.readElement(TAG.SEQUENCE), "asn1: structure error: tags don't match");
  const spki = new Der(spkiElement.content);
  const pkAI = parseAI(must(spki.read(TAG.SEQUENCE), "asn1: structure error: tags don't match"));
  const spk = must(spki.readBitString(), 'asn1: syntax error: invalid BIT STRING');
  const attrSet = must(tbs.read(ctxC(0)), "asn1: structure error: tags don't match");
  const attrs: Element[] = [];
  while (!attrSet.empty()) attrs.push(must(attrSet.readAny(), 'asn1: syntax error: data truncated'));
  const sigAI = parseAI(must(csr.read(TAG.SEQUENCE), "asn1: structure error: tags don't match"));
  const signature = rightAlign(must(csr.readBitString(), 'asn1: syntax error: invalid BIT STRING'));

  const pkAlg = publicKeyAlgorithmOf(pkAI);
  const publicKey = pkAlg === 0 ? null : publicKeyJson(pkAI, rightAlign(spk));
  const name = nameJson(rdnSequence(subject.full));
  const extensions = csrExtensions(attrs);
  let sans = { dns: null, email: null, ip: null, uri: null } as ReturnType<typeof parseSans>;
  for (const e of extensions) if (e.id.join('.') === '2.5.29.17') sans = parseSans(e.value);
  if (version > BigInt(Number.MAX_SAFE_INTEGER) || version < BigInt(Number.MIN_SAFE_INTEGER)) {
    notReproduced('a version beyond 2^53');
  }
  return {
    Raw: b64(raw.full),
    RawTBSCertificateRequest: b64(tbsElement.full),
    RawSubjectPublicKeyInfo: b64(spkiElement.full),
    RawSubject: b64(subject.full),
    Version: Number(version),
    Signature: b64(signature),
    SignatureAlgorithm: signatureAlgorithm(sigAI),
    PublicKeyAlgorithm: pkAlg,
    PublicKey: publicKey,
    Subject: name,
    Attributes: rawAttributes(attrs),
    Extensions:
      extensions.length === 0 ? null : extensions.map((e) => ({ Id: e.id, Critical: e.critical, Value: b64(e.value) })),
    ExtraExtensions: null,
    DNSNames: sans.dns,
    EmailAddresses: sans.email,
    IPAddresses: sans.ip?.map(ipString) ?? null,
    URIs: sans.uri,
  };
}
