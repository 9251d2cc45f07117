// crypto.*: digests, HMACs.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { str } from './args.js';

const digest = (alg: string) => (s: unknown) => createHash(alg).update(str(`crypto.${alg}`, s), 'utf8').digest('hex');
const hmac = (alg: string) => (s: unknown, key: unknown) =>
  createHmac(alg, str(`crypto.hmac.${alg}`, key)).update(str(`crypto.hmac.${alg}`, s), 'utf8').digest('hex');

export const cryptoBuiltins = {
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
