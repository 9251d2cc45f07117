// GET and DELETE /v1/denylist and `portcullis revoke --list / --undo`, on a real sidecar with the in-process
// store and on two sidecars sharing a real redis-server: entries are listed as written, an undone revocation
// lets its token through again, both need the admin token, and every change is audited without the token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, makeTempDir, type TestSidecar } from '../helpers/sidecar.js';
import { redisCli, startRedisServer, type RedisServer } from '../helpers/redis.js';
import { createTestIssuer, type TestIssuer } from '../helpers/tokens.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import { runMain } from '../helpers/captureOutput.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const ADMIN_TOKEN = 'deny-admin-secret-7f3a';
const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;
const now = () => Math.floor(Date.now() / 1000);

function call(t: TestSidecar, method: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<Response> {
  return fetch(`${t.adminUrl}/v1/denylist`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe.each(['memory', 'redis'] as const)('denylist administration (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let issuer: TestIssuer;
  let a: TestSidecar;
  let b: TestSidecar;
  // A prefix with SCAN glob characters: they must match literally, never as a pattern.
  const keyPrefix = 'dl*[1]?:';

  beforeAll(async () => {
    issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    if (kind === 'redis') redis = await startRedisServer();
    const config = {
      admin: { token: ADMIN_TOKEN },
      jwt: { providers: [issuer.provider(jwksFile)] },
      ...(redis === undefined ? {} : { redis: { url: redis.url, keyPrefix, commandTimeoutMs: 500 } }),
    };
    a = await startTestSidecar({ files: { 'policies/authz.rego': ALLOW_ALL }, config });
    // With Redis a second sidecar reads what the first wrote; in-process, the same one does.
    b = kind === 'redis' ? await startTestSidecar({ files: { 'policies/authz.rego': ALLOW_ALL }, config }) : a;
  });
  afterAll(async () => {
    await a?.close();
    if (b !== a) await b?.close();
    await redis?.dispose();
  });

  it('GET and DELETE need the admin token, like POST', async () => {
    expect((await call(a, 'GET', undefined, null)).status).toBe(401);
    expect((await call(a, 'GET', undefined, 'wrong')).status).toBe(401);
    expect((await call(a, 'DELETE', { sub: 'x' }, null)).status).toBe(401);
    expect((await call(a, 'DELETE', { sub: 'x' }, 'wrong')).status).toBe(401);
  });

  it('lists what POST wrote, undoes one entry so its token passes again, and audits both without the token', async () => {
    const exp = now() + 600;
    // `{`, `}` and `%` are percent-encoded in Redis keys and must come back as written.
    const odd = 'id{with}%braces';
    const token = await issuer.sign({ sub: 'dora', jti: 'jti-dora' });
    const headers = { authorization: `Bearer ${token}` };
    expect((await call(a, 'POST', { jti: 'jti-dora', exp })).status).toBe(200);
    expect((await call(a, 'POST', { jti: odd, exp: exp + 1 })).status).toBe(200);
    expect((await call(a, 'POST', { sub: 'eve', before: exp - 700 })).status).toBe(200);
    expect(status(await b.client.check(checkRequest({ headers })))).toBe(401);

    const listed = await call(b, 'GET');
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { jti: Array<{ jti: string; exp: number | null }>; sub: unknown[] };
    expect(body.jti).toEqual([
      { jti: odd, exp: exp + 1 },
      { jti: 'jti-dora', exp },
    ]);
    expect(body.sub).toEqual([{ sub: 'eve', before: exp - 700 }]);

    const undone = await call(b, 'DELETE', { jti: 'jti-dora', exp });
    expect(undone.status).toBe(200);
    expect(await undone.json()).toEqual({ deleted: { jti: 'jti-dora' } });
    expect(status(await a.client.check(checkRequest({ headers })))).toBe(200);
    expect((await call(b, 'DELETE', { jti: 'jti-dora' })).status).toBe(404);
    expect((await call(a, 'DELETE', { sub: 'eve' })).status).toBe(200);
    expect(await (await call(a, 'GET')).json()).toEqual({ jti: [{ jti: odd, exp: exp + 1 }], sub: [] });

    const audit = b.logs.find((l) => l['msg'] === 'denylist entry removed through the admin API');
    expect(audit).toMatchObject({ jti: 'jti-dora', caller: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1:\d+$/) });
    expect(b.logs.find((l) => l['msg'] === 'denylist listed through the admin API')).toMatchObject({
      jtiCount: 2,
      subCount: 1,
    });
    expect(JSON.stringify([...a.logs, ...b.logs])).not.toContain(ADMIN_TOKEN);
  });

  it('DELETE refuses a body that names no entry', async () => {
    expect((await call(a, 'DELETE', {})).status).toBe(400);
    expect((await call(a, 'DELETE', { jti: 'x', sub: 'y' })).status).toBe(400);
  });

  it('portcullis revoke --list and --undo go through the same endpoints', async () => {
    const admin = ['--admin', a.adminUrl, '--token', ADMIN_TOKEN];
    expect((await runMain(['revoke', '--sub', 'fred', '--before', '1700000000', ...admin])).code).toBe(0);
    const list = await runMain(['revoke', '--list', ...admin]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { sub: unknown[] }).sub).toContainEqual({ sub: 'fred', before: 1700000000 });
    expect((await runMain(['revoke', '--undo', '--sub', 'fred', ...admin])).code).toBe(0);
    const again = await runMain(['revoke', '--undo', '--sub', 'fred', ...admin]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('404');
    expect((await runMain(['revoke', '--list', '--admin', a.adminUrl, '--token', 'wrong'])).stderr).toContain('401');
    expect((await runMain(['revoke', '--undo', ...admin])).code).toBe(2);
    expect((await runMain(['revoke', '--list', '--sub', 'x', ...admin])).code).toBe(2);
  });

  it.runIf(kind === 'redis')(
    'lists entries other systems wrote on the documented keys, and only under its prefix',
    async () => {
      const port = redis!.port;
      await redisCli(port, 'SET', `${keyPrefix}deny:jti:external`, '1');
      await redisCli(port, 'SET', `${keyPrefix}deny:sub:gina`, '1600000000');
      // Another prefix the glob characters would match if they were not escaped.
      await redisCli(port, 'SET', 'dlX1Z:deny:jti:other-prefix', '1');
      const body = (await (await call(a, 'GET')).json()) as {
        jti: Array<{ jti: string; exp: number | null }>;
        sub: unknown[];
      };
      expect(body.jti).toContainEqual({ jti: 'external', exp: null });
      expect(body.jti.map((e) => e.jti)).not.toContain('other-prefix');
      expect(body.sub).toContainEqual({ sub: 'gina', before: 1600000000 });
    },
  );
});
