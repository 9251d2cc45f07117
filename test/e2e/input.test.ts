// Hostile and OPA-Envoy-shaped requests through the real sidecar and a real gRPC client: the policy always
// receives a defined input, bounded parsing says why a body is null, and numbers arrive exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { checkRequest, type CheckResponse, type HttpRequestSpec } from '../helpers/checkClient.js';

// The deny-list policy of issue 17: everything is allowed unless it is under /admin.
const DENY_LIST = `package envoy.authz

import rego.v1

default allow := false

allow if not deny

deny if "admin" in input.parsed_path
`;

// Answers 422 with the input the policy saw, as JSON; an undefined input makes the decision undefined (403).
const ECHO = `package echo

import rego.v1

decision := {"allowed": false, "http_status": 422, "body": json.marshal(input)}
`;

function status(res: CheckResponse): number | undefined {
  return res.deniedResponse?.status?.code ?? (res.okResponse !== undefined ? 200 : undefined);
}

const protobufUtil = protobuf.util as unknown as { recursionLimit: number };

const nestedArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('a deny-list policy cannot be bypassed through the input (issue 17.1)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({ files: { 'policies/authz.rego': DENY_LIST } });
  });
  afterAll(async () => t?.close());

  it('denies POST /admin/x with a 600-level JSON body', async () => {
    const res = await t.client.check(
      checkRequest({
        method: 'POST',
        path: '/admin/x',
        headers: { 'content-type': 'application/json' },
        body: nestedArray(600),
      }),
    );
    expect(status(res)).toBe(403);
  });

  it('denies POST /admin/x with a 600-level JSON multipart part and with 5,000 levels', async () => {
    const part = [
      '--b',
      'Content-Disposition: form-data; name="j"',
      'Content-Type: application/json',
      '',
      nestedArray(600),
      '--b--',
      '',
    ];
    const multipart = checkRequest({
      method: 'POST',
      path: '/admin/x',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      body: part.join('\r\n'),
    });
    expect(status(await t.client.check(multipart))).toBe(403);
    const json = checkRequest({
      method: 'POST',
      path: '/admin/x',
      headers: { 'content-type': 'application/json' },
      body: nestedArray(5000),
    });
    expect(status(await t.client.check(json))).toBe(403);
  });

  it('denies /admin/x whatever metadata Envoy attaches: deep Struct metadata never reaches the policy undefined', async () => {
    const claims = (levels: number) => {
      let value: unknown = { stringValue: 'leaf' };
      for (let i = 0; i < levels; i++) value = { structValue: { fields: { k: value } } };
      return value;
    };
    const withClaims = (levels: number) => {
      const request = checkRequest({ path: '/admin/x' }) as { attributes: Record<string, unknown> };
      request.attributes['metadataContext'] = {
        filterMetadata: { 'envoy.filters.http.jwt_authn': { fields: { claims: claims(levels) } } },
      };
      return request;
    };
    // As deep as protobuf decoding allows (100 message levels): reaches the policy, which denies.
    expect(status(await t.client.check(withClaims(40)))).toBe(403);
    // Deeper: the gRPC server refuses to decode the CheckRequest (an error, which Envoy fails closed on).
    // The client's encoder limit is raised for this one call; the server's decoder limit is not.
    const encoderLimit = protobufUtil.recursionLimit;
    protobufUtil.recursionLimit = 10_000;
    try {
      await expect(t.client.check(withClaims(600))).rejects.toMatchObject({ code: 13 });
    } finally {
      protobufUtil.recursionLimit = encoderLimit;
    }
  });

  it('denies /admin/x whatever deep JSON text rides in a header, the query or a context extension', async () => {
    const deep = nestedArray(600);
    const inHeader = checkRequest({
      path: '/admin/x',
      headers: { 'x-payload': deep, 'content-type': 'application/json' },
    });
    expect(status(await t.client.check(inHeader))).toBe(403);
    const inQuery = checkRequest({ path: `/admin/x?q=${encodeURIComponent(deep)}&${'a=1&'.repeat(5000)}` });
    expect(status(await t.client.check(inQuery))).toBe(403);
    const inExtension = checkRequest({ path: '/admin/x' }) as { attributes: Record<string, unknown> };
    inExtension.attributes['contextExtensions'] = { deep, constructor: deep, ['__proto__']: deep };
    expect(status(await t.client.check(inExtension))).toBe(403);
  });

  it('still allows what the deny-list does not name', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/public' })))).toBe(200);
  });
});

describe('the input the policy sees (echo policy)', () => {
  let t: TestSidecar;
  let skipping: TestSidecar;
  beforeAll(async () => {
    const spec = { files: { 'policies/echo.rego': ECHO }, config: { policy: { entrypoint: 'echo/decision' } } };
    t = await startTestSidecar(spec);
    skipping = await startTestSidecar({ ...spec, config: { ...spec.config, input: { skipRequestBodyParse: true } } });
  });
  afterAll(async () => {
    await t?.close();
    await skipping?.close();
  });

  async function seen(spec: HttpRequestSpec, sidecar = t): Promise<Record<string, unknown>> {
    const res = await sidecar.client.check(checkRequest(spec));
    expect(status(res)).toBe(422);
    return JSON.parse(res.deniedResponse?.body ?? 'null') as Record<string, unknown>;
  }
  const json = (body: string, headers: Record<string, string> = {}): HttpRequestSpec => ({
    method: 'POST',
    path: '/x',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

  it('sees parsed_body null and body_error for a body too deep, and the raw body in attributes', async () => {
    const input = await seen(json(nestedArray(600)));
    expect(input['parsed_body']).toBeNull();
    expect(input['body_error']).toBe('too_deep');
    expect((input['attributes'] as { request: { http: { body: string } } }).request.http.body).toBe(nestedArray(600));
  });

  it('sees body_error invalid_json and null for a clean request', async () => {
    expect((await seen(json('{"a":')))['body_error']).toBe('invalid_json');
    const clean = await seen({ path: '/x' });
    expect(clean['body_error']).toBeNull();
    expect(clean['parsed_body']).toBeNull();
    expect(clean['truncated_body']).toBe(false);
  });

  it('receives integers beyond 2^53 exactly', async () => {
    const res = await t.client.check(
      checkRequest(json('{"id":9007199254740993,"big":123456789012345678901234567890}')),
    );
    const body = res.deniedResponse?.body ?? '';
    expect(body).toContain('"id":9007199254740993');
    expect(body).toContain('"big":123456789012345678901234567890');
  });

  it('sees x-envoy-auth-partial-body: true as truncated_body with parsed_body null', async () => {
    const input = await seen({
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-envoy-auth-partial-body': 'true' },
      body: 'role=user&na',
    });
    expect(input).toMatchObject({ parsed_body: null, truncated_body: true, body_error: 'truncated' });
  });

  it('parses multipart with LF-only line breaks, skips nameless parts and decodes quoted-printable', async () => {
    const body = [
      '--b',
      'Content-Disposition: form-data',
      '',
      'nameless',
      '--b',
      'Content-Disposition: form-data; name="qp"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=C3=A9',
      '--b',
      'Content-Disposition: form-data; name="n"',
      '',
      'v',
      '--b--',
      '',
    ].join('\n');
    const input = await seen({
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      body,
    });
    expect(input['parsed_body']).toEqual({ qp: ['café'], n: ['v'] });
  });

  it('reads prototype member names as ordinary query, form and multipart names (issue 17.5)', async () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
    const pairs = names.map((n) => `${n}=1&${n}=2`).join('&');
    const expected = Object.fromEntries(names.map((n) => [n, ['1', '2']]));
    const query = await seen({ path: `/x?${pairs}` });
    expect(query['parsed_query']).toEqual(expected);
    const form = await seen({
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: pairs,
    });
    expect(form['parsed_body']).toEqual(expected);
    const parts = names.flatMap((n) => ['--b', `Content-Disposition: form-data; name="${n}"`, '', n]);
    const multipart = await seen({
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      body: [...parts, '--b--', ''].join('\r\n'),
    });
    expect(multipart['parsed_body']).toEqual(Object.fromEntries(names.map((n) => [n, [n]])));
  });

  it('builds parsed_path as OPA-Envoy does', async () => {
    expect((await seen({ path: '/' }))['parsed_path']).toEqual(['']);
    expect((await seen({ path: '/a/' }))['parsed_path']).toEqual(['a', '']);
    expect((await seen({ path: '//admin/x' }))['parsed_path']).toEqual(['admin', 'x']);
    const escaped = await seen({ path: '/a%2Fb/c?q=1' });
    expect(escaped['parsed_path']).toEqual(['a', 'b', 'c']);
    expect((escaped['attributes'] as { request: { http: { path: string } } }).request.http.path).toBe('/a%2Fb/c?q=1');
  });

  it('answers 400 for a malformed escape in the path or the query, before the policy', async () => {
    for (const path of ['/a%zz', '/ok?x=%G1']) {
      const res = await t.client.check(checkRequest({ path }));
      expect(status(res)).toBe(400);
      expect(res.status?.code).toBe(7);
      expect(JSON.parse(res.deniedResponse?.body ?? '{}')).toMatchObject({ error: 'bad request' });
    }
  });

  it('says in body_error when a parsing limit is hit, and answers 400 past the path and query limits (issue 17.4)', async () => {
    const form = (pairs: number) => Array.from({ length: pairs }, (_, i) => `f${i}=v`).join('&');
    const formInput = await seen({
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form(10_001),
    });
    expect(formInput).toMatchObject({ parsed_body: null, body_error: 'too_many_fields' });
    const parts = Array.from(
      { length: 1_001 },
      (_, i) => `--b\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`,
    ).join('');
    const multipartInput = await seen({
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      body: `${parts}--b--\r\n`,
    });
    expect(multipartInput).toMatchObject({ parsed_body: null, body_error: 'too_many_parts' });
    const large = await seen(json(JSON.stringify({ s: 'x'.repeat(2 * 1024 * 1024) })));
    expect(large).toMatchObject({ parsed_body: null, body_error: 'too_large' });
    // just under the limits the input is whole
    expect(
      (
        await seen({
          method: 'POST',
          path: '/x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form(10_000),
        })
      )['body_error'],
    ).toBeNull();
    for (const path of ['/' + 'a/'.repeat(32_768), '/x?' + 'a=1&'.repeat(32_769)]) {
      expect(status(await t.client.check(checkRequest({ path })))).toBe(400);
    }
    expect(((await seen({ path: '/' + 'a/'.repeat(32_767) }))['parsed_path'] as string[]).length).toBe(32_768);
  });

  it('shows request.http.size as a number', async () => {
    const input = await seen(json('{"a":1}'));
    expect((input['attributes'] as { request: { http: { size: unknown } } }).request.http.size).toBe(7);
  });

  it('answers an out-of-range request.time like any other value (issue 17.13)', async () => {
    for (const time of [
      { seconds: '9223372036854775807' },
      { seconds: '-9223372036854775808' },
      { seconds: '0', nanos: -5 },
    ]) {
      const request = checkRequest({ path: '/x' }) as { attributes: { request: Record<string, unknown> } };
      request.attributes.request['time'] = time;
      const res = await t.client.check(request);
      expect(status(res)).toBe(422);
      const input = JSON.parse(res.deniedResponse?.body ?? 'null') as { attributes: { request: { time: unknown } } };
      expect(input.attributes.request.time).toBeNull();
    }
  });

  it('leaves the body unparsed with input.skipRequestBodyParse', async () => {
    const input = await seen(json('{"a":1}'), skipping);
    expect(input).toMatchObject({ parsed_body: null, body_error: 'skipped', truncated_body: false });
  });
});
