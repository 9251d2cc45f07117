// crypto.*: digests, HMACs.
import { createHash, createHmac, createPrivateKey, timingSafeEqual } from 'node:crypto';
import { BuiltinArgError } from './args.js';
import { str } from './args.js';

const digest = (alg: string) => (s: unknown) =>
  createHash(alg)
    .update(str(`crypto.${alg}`, s), 'utf8')
    .digest('hex');
const hmac = (alg: string) => (s: unknown, key: unknown) =>
  createHmac(alg, str(`crypto.hmac.${alg}`, key))
    .update(str(`crypto.hmac.${alg}`, s), 'utf8')
    .digest('hex');

/** PEM text, or PEM text in base64 (OPA accepts both). */
function pemText(name: string, v: unknown): string {
  const text = str(name, v);
  if (text.trimStart().startsWith('-----BEGIN')) return text;
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  if (!decoded.trimStart().startsWith('-----BEGIN')) throw new BuiltinArgError(name, 'expected PEM data');
  return decoded;
}

export const cryptoBuiltins = {
  // The first RSA private key of the PEM data as a JWK (kty, n, e, d, p, q, dp, dq, qi), for io.jwt.encode_sign.
  'crypto.x509.parse_rsa_private_key': (pem: unknown) => {
    const key = createPrivateKey(pemText('crypto.x509.parse_rsa_private_key', pem));
    if (key.asymmetricKeyType !== 'rsa')
      throw new BuiltinArgError('crypto.x509.parse_rsa_private_key', 'not an RSA private key');
    return key.export({ format: 'jwk' });
  },
  'crypto.sha256': digest('sha256'),
  'crypto.sha1': digest('sha1'),
  'crypto.md5': digest('md5'),
  'crypto.hmac.sha256': hmac('sha256'),
  'crypto.hmac.sha1': hmac('sha1'),
  'crypto.hmac.sha512': hmac('sha512'),
  'crypto.hmac.md5': hmac('md5'),
  'crypto.hmac.equal': (a: unknown, b: unknown) => {
    const x = Buffer.from(str('crypto.hmac.equal', a));
    const y = Buffer.from(str('crypto.hmac.equal', b));
    return x.length === y.length && timingSafeEqual(x, y);
  },
};
