// io.jwt.verify_* and io.jwt.decode_verify (for OPA-built bundles), on tokens signed by jose.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { customBuiltins } from '../../src/builtins/index.js';

const call = (name: string, ...args: unknown[]): unknown => customBuiltins[name]!(...args);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ecJwks = JSON.stringify({
  keys: [
    { ...otherEc.publicKey.export({ format: 'jwk' }), kid: 'old' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1' },
  ],
});
const secret = 'sekrit-sekrit-sekrit-sekrit-1234';
const nowSec = Math.floor(Date.now() / 1000);

let rs256 = '';
let es256 = '';
let hs256 = '';
let expired = '';

beforeAll(async () => {
  const claims = { sub: 'alice', iss: 'https://id.example', aud: 'api' };
  rs256 = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256' })
    .setExpirationTime(nowSec + 600)
    .sign(rsa.privateKey);
  es256 = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setExpirationTime(nowSec + 600)
    .sign(ec.privateKey);
  hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
  expired = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setExpirationTime(nowSec - 10)
    .sign(ec.privateKey);
});

describe('io.jwt verification builtins', () => {
  it('verify_* accept good signatures with PEM, JWKS and secrets', () => {
    expect(call('io.jwt.verify_rs256', rs256, rsaPem)).toBe(true);
    expect(call('io.jwt.verify_es256', es256, ecJwks)).toBe(true);
    expect(call('io.jwt.verify_hs256', hs256, secret)).toBe(true);
  });
  it('verify_* reject a wrong key, a tampered payload and an algorithm mismatch', () => {
    expect(call('io.jwt.verify_hs256', hs256, 'wrong')).toBe(false);
    const [h, , s] = rs256.split('.');
    const forged = `${h}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.${s}`;
    expect(call('io.jwt.verify_rs256', forged, rsaPem)).toBe(false);
    expect(call('io.jwt.verify_rs256', es256, rsaPem)).toBe(false);
    expect(call('io.jwt.verify_es256', es256, JSON.stringify(otherEc.publicKey.export({ format: 'jwk' })))).toBe(false);
  });
  it('decode_verify checks signature, exp, iss and aud', () => {
    const ok = call('io.jwt.decode_verify', es256, { cert: ecJwks, iss: 'https://id.example', aud: 'api' }) as [
      boolean,
      object,
      object,
    ];
    expect(ok[0]).toBe(true);
    expect(ok[2]).toMatchObject({ sub: 'alice' });
    expect(call('io.jwt.decode_verify', expired, { cert: ecJwks, aud: 'api' })).toEqual([false, {}, {}]);
    expect(call('io.jwt.decode_verify', es256, { cert: ecJwks, aud: 'other' })).toEqual([false, {}, {}]);
    expect(call('io.jwt.decode_verify', es256, { cert: ecJwks })).toEqual([false, {}, {}]);
    expect(call('io.jwt.decode_verify', es256, { cert: ecJwks, aud: 'api', iss: 'https://evil' })).toEqual([
      false,
      {},
      {},
    ]);
    expect(call('io.jwt.decode_verify', hs256, { secret, aud: 'api', alg: 'RS256' })).toEqual([false, {}, {}]);
    const atTime = call('io.jwt.decode_verify', expired, { cert: ecJwks, aud: 'api', time: (nowSec - 60) * 1e9 }) as [
      boolean,
    ];
    expect(atTime[0]).toBe(true);
  });
  it('a malformed token is undefined, not an exception', () => {
    expect(call('io.jwt.verify_rs256', 'not-a-token', rsaPem)).toBeUndefined();
    expect(call('io.jwt.decode_verify', 'a.b', { secret })).toBeUndefined();
  });
});
