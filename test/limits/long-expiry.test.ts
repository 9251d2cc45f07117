// Issue 17.6: a revocation whose `exp` is years away must not arm a timer Node clamps to 1 ms (a busy loop
// printing TimeoutOverflowWarning), and the revocation must hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;
const TEN_YEARS = 10 * 365 * 24 * 3600;

describe('in-process store: revocations far in the future', () => {
  let sidecar: TestSidecar;
  let issuer: TestIssuer;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);

  beforeAll(async () => {
    process.on('warning', onWarning);
    issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    sidecar = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: { admin: { token: 'adm' }, jwt: { providers: [issuer.provider(jwksFile)] } },
    });
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await sidecar?.close();
  });

  it('revokes a token expiring in ten years without a timer overflow, and the revocation holds', async () => {
    const exp = Math.floor(Date.now() / 1000) + TEN_YEARS;
    const token = await issuer.sign({ sub: 'long-lived', jti: 'long-jti' }, { expiresInSeconds: TEN_YEARS });
    const headers = { authorization: `Bearer ${token}` };
    expect(status(await sidecar.client.check(checkRequest({ headers })))).toBe(200);

    const res = await fetch(`${sidecar.adminUrl}/v1/denylist`, {
      method: 'POST',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ jti: 'long-jti', exp }),
    });
    expect(res.status).toBe(200);
    // A clamped timer fires within a millisecond and re-arms; give it many turns to show itself.
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(status(await sidecar.client.check(checkRequest({ headers })))).toBe(401);
    const overflow = warnings.filter((w) => w.name === 'TimeoutOverflowWarning');
    expect(overflow.map((w) => w.message)).toEqual([]);
    // No timer of the process may be armed for the revocation: count them before and after a second one.
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await fetch(`${sidecar.adminUrl}/v1/denylist`, {
      method: 'POST',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ jti: 'another-long-jti', exp: exp + 1 }),
    });
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });
});
