// Private keys as Go's crypto/x509 parses them (ParsePKCS1PrivateKey, ParsePKCS8PrivateKey,
// ParseECPrivateKey; Go 1.24–1.26) and as encoding/json writes the Go values: *rsa.PrivateKey
// ({N, E, D, Primes, Precomputed}), *ecdsa.PrivateKey ({Curve: {}, X, Y, D}) and ed25519.PrivateKey
// (base64 of seed and public key). OPA's crypto.parse_private_keys and crypto.x509.parse_keypair return
// these. Keys whose Go value is not reproduced with certainty (multi-prime RSA, RSA below 1024 bits, CRT
// values that disagree with the key) fail the call.
import { createECDH, createPrivateKey } from 'node:crypto';
import { BuiltinArgError, NotReproducedError } from './args.js';
import { ctxC, Der, TAG } from './der.js';
import { exactInt } from './exact.js';

const fail = (detail: string): never => {
  throw new BuiltinArgError('crypto.x509', detail);
};
const notReproduced = (detail: string): never => {
  throw new NotReproducedError('crypto.x509', `${detail} is not reproduced exactly`);
};
const must = <T>(v: T | undefined, detail: string): T => (v === undefined ? fail(detail) : v);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const b64url = (n: bigint): string => {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  return Buffer.from(h, 'hex').toString('base64url');
};

/** The Go value's JSON, and which public key it belongs to (for parse_keypair's match check). */
export interface PrivateKey {
  readonly kind: 'rsa' | 'ecdsa' | 'ed25519';
  readonly json: unknown;
  /** RSA: N; ECDSA: X and Y; Ed25519: the public key; as comparable text. */
  readonly publicId: string;
}

/** ParsePKCS1PrivateKey. */
export function parsePkcs1(der: Uint8Array): PrivateKey {
  const outer = new Der(der);
  const seq = must(outer.read(TAG.SEQUENCE), 'x509: failed to parse private key');
  if (!outer.empty()) fail('x509: trailing data');
  const ints: bigint[] = [];
  for (let i = 0; i < 9; i++) ints.push(must(seq.readBigInt(), 'x509: failed to parse private key'));
  const [version, n, e, d, p, q, dp, dq, qinv] = ints as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  if (!seq.empty()) notReproduced('a multi-prime RSA key');
  if (version > 1n) fail('x509: unsupported private key version');
  if ([n, d, p, q, dp, dq, qinv].some((x) => x <= 0n)) fail('x509: private key contains zero or negative value');
  if (e < -(1n << 63n) || e >= 1n << 63n) fail('x509: failed to parse private key');
  if (e < 2n || e > 2147483647n) fail('crypto/rsa: invalid public exponent');
  if (e % 2n === 0n) notReproduced('an RSA key with an even exponent');
  if (n.toString(2).length < 1024) notReproduced('an RSA key below 1024 bits');
  // Go validates the key and keeps the encoded CRT values; OpenSSL's derivation must agree with them.
  let jwk: Record<string, unknown>;
  try {
    jwk = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }).export({ format: 'jwk' });
  } catch {
    return fail('x509: invalid RSA private key');
  }
  if (p * q !== n || jwk.dp !== b64url(dp) || jwk.dq !== b64url(dq) || jwk.qi !== b64url(qinv)) {
    notReproduced('an RSA key whose CRT values disagree');
  }
  return {
    kind: 'rsa',
    publicId: `rsa:${n}:${e}`,
    json: {
      N: exactInt(n),
      E: exactInt(e),
      D: exactInt(d),
      Primes: [exactInt(p), exactInt(q)],
      Precomputed: { Dp: exactInt(dp), Dq: exactInt(dq), Qinv: exactInt(qinv), CRTValues: [] },
    },
  };
}

const CURVES: Record<string, { name: string; size: number; order: bigint }> = {
  '1.3.132.0.33': {
    name: 'secp224r1',
    size: 28,
    order: 0xffffffffffffffffffffffffffff16a2e0b8f03e13dd29455c5c2a3dn,
  },
  '1.2.840.10045.3.1.7': {
    name: 'prime256v1',
    size: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  '1.3.132.0.34': {
    name: 'secp384r1',
    size: 48,
    order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  '1.3.132.0.35': {
    name: 'secp521r1',
    size: 66,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

const bigOf = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));

/** parseECPrivateKey: the curve from the key or, in PKCS #8, from the algorithm parameters. */
export function parseEc(der: Uint8Array, curveFromAlgorithm?: number[]): PrivateKey {
  // Go reads the first element and ignores what follows it.
  const seq = must(new Der(der).read(TAG.SEQUENCE), 'x509: failed to parse EC private key');
  const version = must(seq.readBigInt(), 'x509: failed to parse EC private key');
  const privateKey = must(seq.readElement(TAG.OCTET_STRING), 'x509: failed to parse EC private key').content;
  let named: number[] | undefined;
  if (seq.peekTag(ctxC(0))) named = must(seq.read(ctxC(0))?.readOid(), 'x509: failed to parse EC private key');
  if (version !== 1n) fail('x509: unknown EC private key version');
  const oid = (curveFromAlgorithm ?? named)?.join('.');
  const curve = oid === undefined ? undefined : CURVES[oid];
  if (!curve) return fail('x509: unknown elliptic curve');
  const k = bigOf(privateKey);
  if (k >= curve.order) fail('x509: invalid elliptic curve private key value');
  let raw = privateKey;
  while (raw.length > curve.size) {
    if (raw[0] !== 0) fail('x509: invalid private key length');
    raw = raw.subarray(1);
  }
  const padded = new Uint8Array(curve.size);
  padded.set(raw, curve.size - raw.length);
  if (k === 0n) fail('x509: invalid private key');
  // Go derives the public point from the scalar; the public key stored beside it is not read.
  const ecdh = createECDH(curve.name);
  ecdh.setPrivateKey(Buffer.from(padded));
  const point = ecdh.getPublicKey();
  const x = bigOf(point.subarray(1, 1 + curve.size));
  const y = bigOf(point.subarray(1 + curve.size));
  return {
    kind: 'ecdsa',
    publicId: `ecdsa:${oid}:${x}:${y}`,
    json: { Curve: {}, X: exactInt(x), Y: exactInt(y), D: exactInt(k) },
  };
}

/** ParsePKCS8PrivateKey, for the key types Go returns (X25519 and ML-KEM keys are refused). */
export function parsePkcs8(der: Uint8Array): PrivateKey {
  const seq = must(new Der(der).read(TAG.SEQUENCE), 'x509: failed to parse private key');
  must(seq.readBigInt(), 'x509: failed to parse private key');
  const algo = must(seq.read(TAG.SEQUENCE), 'x509: failed to parse private key');
  const oid = must(algo.readOid(), 'x509: failed to parse private key').join('.');
  const params = algo.empty() ? undefined : algo.readAny();
  const key = must(seq.readElement(TAG.OCTET_STRING), 'x509: failed to parse private key').content;
  switch (oid) {
    case '1.2.840.113549.1.1.1':
      return parsePkcs1(key);
    case '1.2.840.10045.2.1': {
      // Parameters that are not a curve OID leave the choice to the key's own curve field.
      return parseEc(key, params ? new Der(params.full).readOid() : undefined);
    }
    case '1.3.101.112': {
      if (params) fail('x509: invalid Ed25519 private key parameters');
      const inner = new Der(key);
      const seed = must(inner.readElement(TAG.OCTET_STRING), 'x509: invalid Ed25519 private key').content;
      if (seed.length !== 32) fail('ed25519: bad private key length');
      const jwk = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
      const pub = Buffer.from(String(jwk.x), 'base64url');
      return { kind: 'ed25519', publicId: `ed25519:${pub.toString('hex')}`, json: b64(Buffer.concat([seed, pub])) };
    }
    case '1.3.101.110':
      return notReproduced('an X25519 private key');
    default:
      return fail('x509: PKCS#8 wrapping contained private key with unknown algorithm');
  }
}
