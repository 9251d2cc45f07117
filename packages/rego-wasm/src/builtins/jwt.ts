// io.jwt.verify_* and io.jwt.decode_verify for bundles built by `opa build` (Portcullis's own policies get
// verified claims in input.identity instead). Synchronous, on node:crypto, because the SDK calls builtins
// synchronously. Keys: `secret` for HMAC; `cert` as PEM (certificate or public key), a JWK or a JWKS.
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { BuiltinArgError, obj, str } from './args.js';
import { base64UrlBytes, goJsonMarshal } from './encoding.js';
import { nowNs } from './time.js';

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  const value = JSON.parse(base64UrlBytes('io.jwt.decode', part).toString('utf8')) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BuiltinArgError('io.jwt.decode', `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * [header, payload, signature as hex] without verifying anything, as OPA's io.jwt.decode: a JWE (a header
 * with `enc`) is an error, and a token whose header says `cty: JWT` decodes the token nested in its payload.
 */
export function jwtDecode(token: unknown, depth = 0): [Record<string, unknown>, Record<string, unknown>, string] {
  const parts = str('io.jwt.decode', token).split('.');
  if (parts.length !== 3) throw new BuiltinArgError('io.jwt.decode', 'a JWS compact token has three parts');
  const header = decodeJsonPart(parts[0]!, 'header');
  if (header.enc !== undefined)
    throw new BuiltinArgError('io.jwt.decode', 'JWT is a JWE object, which is not supported');
  // OPA nests on exactly "JWT" (not "jwt"), with the quotes some encoders put around the inner token trimmed.
  if (header.cty === 'JWT') {
    if (depth >= 8) throw new BuiltinArgError('io.jwt.decode', 'tokens nested too deeply');
    const inner = base64UrlBytes('io.jwt.decode', parts[1]!).toString('utf8');
    return jwtDecode(inner.replace(/^["']+|["']+$/g, ''), depth + 1);
  }
  const payload = decodeJsonPart(parts[1]!, 'payload');
  return [header, payload, base64UrlBytes('io.jwt.decode', parts[2]!).toString('hex')];
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function publicKeys(cert: string, kid: unknown): KeyObject[] {
  if (cert.trimStart().startsWith('-----BEGIN')) return [createPublicKey(cert)];
  const parsed = JSON.parse(cert) as { keys?: Record<string, unknown>[] } & Record<string, unknown>;
  const jwks = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
  const matching =
    typeof kid === 'string' && jwks.some((k) => k.kid === kid) ? jwks.filter((k) => k.kid === kid) : jwks;
  return matching.map((jwk) =>
    createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }),
  );
}

/** Checks the token's signature with `alg`; throws on a malformed token or key, false on a bad signature. */
function signatureValid(alg: string, token: string, key: { secret?: string; cert?: string }): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) throw new BuiltinArgError('io.jwt', 'a JWS compact token has three parts');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJsonPart(h, 'header');
  if (header.alg !== alg) return false;
  const input = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const family = alg.slice(0, 2);
  const hash = HASHES[alg.slice(2)];
  if (family === 'HS') {
    if (key.secret === undefined || !hash) throw new BuiltinArgError('io.jwt', 'an HMAC algorithm needs a secret');
    const mac = createHmac(hash, key.secret).update(input).digest();
    return mac.length === signature.length && timingSafeEqual(mac, signature);
  }
  if (key.cert === undefined) throw new BuiltinArgError('io.jwt', `${alg} needs a cert`);
  const keys = publicKeys(key.cert, header.kid);
  return keys.some((k) => {
    try {
      if (alg === 'EdDSA') return verify(null, input, k, signature);
      if (!hash) return false;
      if (family === 'RS') return verify(hash, input, { key: k, padding: constants.RSA_PKCS1_PADDING }, signature);
      if (family === 'PS') {
        return verify(
          hash,
          input,
          { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        );
      }
      if (family === 'ES') return verify(hash, input, { key: k, dsaEncoding: 'ieee-p1363' }, signature);
      return false;
    } catch {
      return false;
    }
  });
}

const ALGS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

export const jwtVerifyBuiltins: Record<string, (...args: unknown[]) => unknown> = Object.fromEntries(
  ALGS.map((alg) => [
    `io.jwt.verify_${alg.toLowerCase()}`,
    (token: unknown, keyOrSecret: unknown) => {
      const text = str(`io.jwt.verify_${alg.toLowerCase()}`, keyOrSecret);
      return signatureValid(alg, str('io.jwt.verify', token), alg.startsWith('HS') ? { secret: text } : { cert: text });
    },
  ]),
);

/**
 * io.jwt.decode_verify(token, constraints) -> [valid, header, payload]. Constraints: cert or secret, alg,
 * iss, aud, time (ns; default now). exp and nbf are checked against time; a token with `aud` needs a
 * matching `aud` constraint and a constraint `aud` needs the token to carry it.
 */
export function decodeVerify(token: unknown, constraints: unknown, nowNs: number): [boolean, object, object] {
  const text = str('io.jwt.decode_verify', token);
  const c = obj('io.jwt.decode_verify', constraints);
  const invalid: [boolean, object, object] = [false, {}, {}];
  const outer = decodeJsonPart(text.split('.')[0] ?? '', 'header');
  if (typeof outer.cty === 'string' && outer.cty.toUpperCase() === 'JWT') {
    throw new BuiltinArgError('io.jwt.decode_verify', 'nested tokens (cty: JWT) are not verified by Portcullis');
  }
  const [header, payload] = jwtDecode(text);
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (typeof c.alg === 'string' && c.alg !== alg) return invalid;
  if (!ALGS.includes(alg)) return invalid;
  const key = {
    secret: typeof c.secret === 'string' ? c.secret : undefined,
    cert: typeof c.cert === 'string' ? c.cert : undefined,
  };
  if (!signatureValid(alg, text, key)) return invalid;
  const timeSec = (typeof c.time === 'number' ? c.time : nowNs) / 1e9;
  if (typeof payload.exp === 'number' && timeSec >= payload.exp) return invalid;
  if (typeof payload.nbf === 'number' && timeSec < payload.nbf) return invalid;
  if (typeof c.iss === 'string' && payload.iss !== c.iss) return invalid;
  const aud = payload.aud;
  if (aud !== undefined || c.aud !== undefined) {
    if (typeof c.aud !== 'string') return invalid;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(c.aud)) return invalid;
  }
  return [true, header, payload];
}

/** A private key from a JWK text, checked against the JWS algorithm's family (OPA refuses a mismatch). */
function signingKey(alg: string, jwkText: string): KeyObject | Buffer {
  const parsed = JSON.parse(jwkText) as { keys?: unknown[] } & Record<string, unknown>;
  const jwk = (Array.isArray(parsed.keys) ? parsed.keys[0] : parsed) as Record<string, unknown> | undefined;
  if (jwk === undefined || typeof jwk.kty !== 'string')
    throw new BuiltinArgError('io.jwt.encode_sign', 'the key is not a JWK');
  const family = alg.slice(0, 2);
  const expected =
    family === 'HS' ? 'oct' : family === 'RS' || family === 'PS' ? 'RSA' : family === 'ES' ? 'EC' : 'OKP';
  if (jwk.kty !== expected)
    throw new BuiltinArgError('io.jwt.encode_sign', `a ${alg} signature needs a ${expected} key, got ${jwk.kty}`);
  if (expected === 'oct') {
    if (typeof jwk.k !== 'string') throw new BuiltinArgError('io.jwt.encode_sign', 'an oct JWK needs k');
    return Buffer.from(jwk.k, 'base64url');
  }
  return createPrivateKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
}

const SIGNING_ALGS = new Set([...ALGS, 'EdDSA']);

/** JWS compact serialization of exactly these header and payload texts (OPA's jws.SignLiteral). */
function signCompact(headerText: string, payloadText: string, jwkText: string): string {
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (!SIGNING_ALGS.has(alg))
    throw new BuiltinArgError('io.jwt.encode_sign', `unknown signature algorithm ${JSON.stringify(alg)}`);
  // A JWT (typ absent or JWT) must carry a JSON payload, as OPA checks.
  if (header.typ === undefined || header.typ === 'JWT') JSON.parse(payloadText);
  const key = signingKey(alg, jwkText);
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
  let signature: Buffer;
  if (Buffer.isBuffer(key)) signature = createHmac(HASHES[alg.slice(2)]!, key).update(input).digest();
  else if (alg === 'EdDSA') signature = sign(null, Buffer.from(input), key);
  else {
    const hash = HASHES[alg.slice(2)]!;
    if (alg.startsWith('PS'))
      signature = sign(hash, Buffer.from(input), {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
    else if (alg.startsWith('ES')) signature = sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    else signature = sign(hash, Buffer.from(input), key);
  }
  return `${input}.${signature.toString('base64url')}`;
}

export const jwtBuiltins: Record<string, (...args: unknown[]) => unknown> = {
  'io.jwt.decode': (token: unknown) => jwtDecode(token),
  'io.jwt.decode_verify': (token: unknown, constraints: unknown) => decodeVerify(token, constraints, Number(nowNs())),
  ...jwtVerifyBuiltins,
  'io.jwt.encode_sign_raw': (header: unknown, payload: unknown, key: unknown) =>
    signCompact(
      str('io.jwt.encode_sign_raw', header),
      str('io.jwt.encode_sign_raw', payload),
      str('io.jwt.encode_sign_raw', key),
    ),
  // Objects are written as Go's json.Marshal writes them (sorted keys, HTML escaped), then signed as above.
  'io.jwt.encode_sign': (header: unknown, payload: unknown, key: unknown) =>
    signCompact(
      goJsonMarshal(obj('io.jwt.encode_sign', header)),
      goJsonMarshal(obj('io.jwt.encode_sign', payload)),
      goJsonMarshal(obj('io.jwt.encode_sign', key)),
    ),
};
