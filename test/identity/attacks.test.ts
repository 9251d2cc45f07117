// Each known JWT attack, as a named test. Every one must end as a `rejected` outcome (401) and a log line
// that does not contain the token.
import { createHmac } from 'node:crypto';
import { exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityStageWithStatus } from '../../src/identity/index.js';
import type { IdentityOutcome } from '../../src/identity/types.js';
import {
  b64url,
  bearerRequest,
  jwksOf,
  makeKey,
  nowSeconds,
  signManually,
  signRawPayload,
  signToken,
  stageFor,
  startJwksServer,
  testDeps,
} from './helpers.js';
import type { Counted, JwksServer, TestKey } from './helpers.js';

const ISSUER = 'https://id.example.com';
const PARTNER = 'https://partner.example.com';

let corpServer: JwksServer;
let partnerServer: JwksServer;
let attackerServer: JwksServer;
let corpKey: TestKey;
let partnerKey: TestKey;
let attackerKey: TestKey;

beforeAll(async () => {
  corpKey = await makeKey('RS256', 'corp-1');
  partnerKey = await makeKey('RS256', 'partner-1');
  attackerKey = await makeKey('RS256', 'attacker-1');
  corpServer = await startJwksServer(jwksOf(corpKey));
  partnerServer = await startJwksServer(jwksOf(partnerKey));
  attackerServer = await startJwksServer(jwksOf(attackerKey));
});
afterAll(async () => {
  await Promise.all([corpServer.close(), partnerServer.close(), attackerServer.close()]);
});

const goodClaims = (): Record<string, unknown> => ({
  iss: ISSUER,
  aud: 'orders-api',
  sub: 'alice',
  iat: nowSeconds() - 5,
  exp: nowSeconds() + 300,
});

interface Attempt {
  outcome: IdentityOutcome;
  counted: Counted;
  stage: IdentityStageWithStatus;
}

/** Runs one token through a fresh stage with two providers (corp, partner), as production would. */
async function attempt(token: string): Promise<Attempt> {
  const counted = testDeps();
  const stage = await stageFor(
    {
      providers: [
        {
          name: 'corp',
          issuer: ISSUER,
          audiences: ['orders-api'],
          algorithms: ['RS256'],
          jwksUri: corpServer.url,
          clockSkewSeconds: 30,
        },
        { name: 'partner', issuer: PARTNER, algorithms: ['RS256'], jwksUri: partnerServer.url },
      ],
    },
    counted,
    // Unknown kids may refetch once per minute at most: attack tokens cannot hammer the IdP.
    { refetchCooldownMs: 60_000 },
  );
  try {
    return { outcome: await stage.verify(bearerRequest(token)), counted, stage };
  } finally {
    await stage.close();
  }
}

/** The shared assertions: a 401-shaped outcome with this failure, and a log line free of the token. */
async function expectRejected(token: string, failure: string): Promise<Attempt> {
  const result = await attempt(token);
  expect(result.outcome).toMatchObject({ kind: 'rejected', failure });
  const log = result.counted.log.text();
  expect(log).toContain('token rejected');
  expect(log).not.toContain(token);
  for (const segment of token.split('.')) {
    if (segment.length >= 16) expect(log).not.toContain(segment);
  }
  return result;
}

describe('attacks', () => {
  it('alg "none" with an empty signature is rejected as a disallowed algorithm', async () => {
    const token = `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(goodClaims()))}.`;
    await expectRejected(token, 'algorithm');
  });

  it('alg "NoNe" spelled in mixed case is rejected', async () => {
    const token = `${b64url('{"alg":"NoNe"}')}.${b64url(JSON.stringify(goodClaims()))}.`;
    await expectRejected(token, 'algorithm');
  });

  it('HS256 signed with the RSA public key as the HMAC secret is rejected', async () => {
    const publicPem = await exportSPKI(
      await crypto.subtle.importKey('jwk', corpKey.publicJwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, [
        'verify',
      ]),
    );
    const signingInput = `${b64url(JSON.stringify({ alg: 'HS256', kid: 'corp-1', typ: 'JWT' }))}.${b64url(JSON.stringify(goodClaims()))}`;
    const signature = createHmac('sha256', publicPem).update(signingInput).digest('base64url');
    await expectRejected(`${signingInput}.${signature}`, 'algorithm');
  });

  it('a token signed by another issuer\u2019s key but claiming this issuer is rejected (kid not in this issuer\u2019s set)', async () => {
    const token = await signToken(partnerKey, goodClaims());
    const { stage } = await expectRejected(token, 'no_matching_key');
    expect(stage.jwksStatus()['corp']!.keys).toBe(1);
  });

  it('a token signed by another issuer\u2019s key wearing this issuer\u2019s kid fails the signature', async () => {
    const token = await signToken({ ...partnerKey, kid: 'corp-1' }, goodClaims());
    await expectRejected(token, 'signature');
  });

  it('an expired token is rejected', async () => {
    await expectRejected(await signToken(corpKey, { ...goodClaims(), exp: nowSeconds() - 3600 }), 'expired');
  });

  it('a token with nbf in the future is rejected', async () => {
    await expectRejected(await signToken(corpKey, { ...goodClaims(), nbf: nowSeconds() + 3600 }), 'not_yet_valid');
  });

  it('a token for another audience is rejected', async () => {
    await expectRejected(await signToken(corpKey, { ...goodClaims(), aud: 'billing-api' }), 'audience');
  });

  it('a token without exp is rejected', async () => {
    const claims = goodClaims();
    delete claims['exp'];
    const token = await signManually(corpKey, JSON.stringify({ alg: 'RS256', kid: 'corp-1' }), JSON.stringify(claims));
    await expectRejected(token, 'claims');
  });

  it('a kid with path traversal characters matches no key and triggers at most one refetch', async () => {
    const token = await signToken({ ...corpKey, kid: '../../../../etc/passwd' }, goodClaims());
    const before = corpServer.requests;
    await expectRejected(token, 'no_matching_key');
    // The start-up fetch, at most one refetch: the kid only ever indexes the fetched set.
    expect(corpServer.requests - before).toBeLessThanOrEqual(2);
  });

  it('a kid with SQL characters matches no key', async () => {
    await expectRejected(await signToken({ ...corpKey, kid: "' OR '1'='1'; --" }, goodClaims()), 'no_matching_key');
  });

  it('a jku header pointing at the attacker\u2019s key set is never followed', async () => {
    const before = attackerServer.requests;
    const token = await signToken(attackerKey, goodClaims(), { jku: attackerServer.url });
    await expectRejected(token, 'no_matching_key');
    expect(attackerServer.requests).toBe(before);
  });

  it('an x5u header pointing at the attacker is never followed', async () => {
    const before = attackerServer.requests;
    const token = await signToken(attackerKey, goodClaims(), { x5u: attackerServer.url });
    await expectRejected(token, 'no_matching_key');
    expect(attackerServer.requests).toBe(before);
  });

  it('an embedded jwk header carrying the attacker\u2019s key is not trusted', async () => {
    const token = await signToken(attackerKey, goodClaims(), { kid: undefined, jwk: attackerKey.publicJwk });
    await expectRejected(token, 'signature');
  });

  it('malformed base64 in the header is rejected', async () => {
    const good = await signToken(corpKey, goodClaims());
    const [, payload, signature] = good.split('.');
    await expectRejected(`eyJhbGciOi*JSUzI1NiJ9.${payload}.${signature}`, 'malformed');
  });

  it('malformed base64 in the signature is rejected', async () => {
    const good = await signToken(corpKey, goodClaims());
    const [header, payload] = good.split('.');
    await expectRejected(`${header}.${payload}.abc$def+ghi/jkl=`, 'malformed');
  });

  it('a 64 KiB token is rejected before it is parsed, even when properly signed', async () => {
    const token = await signToken(corpKey, { ...goodClaims(), padding: 'x'.repeat(64 * 1024) });
    const { outcome } = await expectRejected(token, 'malformed');
    expect(outcome).toMatchObject({ description: 'token is too large' });
  });

  it('a properly signed payload with a repeated claim is rejected', async () => {
    const claims = goodClaims();
    const payload = `{"iss":"${ISSUER}","aud":"orders-api","sub":"alice","exp":${claims['exp']},"sub":"admin"}`;
    await expectRejected(await signRawPayload(corpKey, payload), 'malformed');
  });

  it('a repeated iss meant to steer provider selection is rejected', async () => {
    const claims = goodClaims();
    const payload = `{"iss":"${PARTNER}","aud":"orders-api","sub":"alice","exp":${claims['exp']},"iss":"${ISSUER}"}`;
    await expectRejected(await signRawPayload(corpKey, payload), 'malformed');
  });

  it('a stripped signature is rejected', async () => {
    const good = await signToken(corpKey, goodClaims());
    await expectRejected(good.slice(0, good.lastIndexOf('.') + 1), 'signature');
  });

  it('a payload swapped under another token\u2019s signature is rejected', async () => {
    const alice = await signToken(corpKey, goodClaims());
    const admin = await signToken(corpKey, { ...goodClaims(), sub: 'admin' });
    const [header, , signature] = alice.split('.');
    await expectRejected(`${header}.${admin.split('.')[1]}.${signature}`, 'signature');
  });

  it('a legitimate token passes the same harness (the attacks fail for their own reason)', async () => {
    const { outcome } = await attempt(await signToken(corpKey, goodClaims()));
    expect(outcome).toMatchObject({ kind: 'verified', identity: { provider: 'corp', subject: 'alice' } });
  });
});
