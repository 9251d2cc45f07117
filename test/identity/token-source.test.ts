import { describe, expect, it } from 'vitest';
import { buildSearchOrder, findToken } from '../../src/identity/token-source.js';
import { jwtConfig, request } from './helpers.js';

const config = jwtConfig({
  providers: [
    {
      name: 'corp',
      issuer: 'https://id.example.com',
      algorithms: ['RS256'],
      jwksFile: './unused.json',
      from: [{ header: 'Authorization', prefix: 'Bearer ' }, { cookie: 'session' }],
    },
    {
      name: 'partner',
      issuer: 'https://partner.example.com',
      algorithms: ['ES256'],
      jwksFile: './unused.json',
      from: [{ query: 'access_token' }, { header: 'authorization', prefix: 'Bearer ' }, { header: 'x-api-token' }],
    },
  ],
});
const order = buildSearchOrder(config.providers);

describe('token sources', () => {
  it('merges the providers\u2019 sources in configuration order without repeats', () => {
    expect(order.map((s) => s.key)).toEqual([
      'header:authorization:bearer ',
      'cookie:session',
      'query:access_token',
      'header:x-api-token:',
    ]);
  });

  it('takes the token after a case-insensitive prefix', () => {
    expect(findToken(request({ authorization: 'bearer  abc.def.ghi ' }), order)?.token).toBe('abc.def.ghi');
  });

  it('ignores an authorization header with another scheme', () => {
    expect(findToken(request({ authorization: 'Basic dXNlcjpwYXNz' }), order)).toBeNull();
  });

  it('reads a cookie among others, unquoting a quoted value', () => {
    const found = findToken(request({ cookie: 'theme=dark; session="a.b.c"; other=1' }), order);
    expect(found).toMatchObject({ token: 'a.b.c', sourceKey: 'cookie:session' });
  });

  it('does not take a cookie whose name only ends with the configured name', () => {
    expect(findToken(request({ cookie: 'oldsession=a.b.c' }), order)).toBeNull();
  });

  it('reads a query parameter', () => {
    const found = findToken(request({}, '/api?x=1&access_token=q.r.s'), order);
    expect(found).toMatchObject({ token: 'q.r.s', sourceKey: 'query:access_token' });
  });

  it('takes a header without prefix whole', () => {
    expect(findToken(request({ 'x-api-token': 'h.i.j' }), order)?.token).toBe('h.i.j');
  });

  it('lets the first present source win when several carry a token', () => {
    const found = findToken(
      request({ authorization: 'Bearer first.a.b', cookie: 'session=second.a.b' }, '/?access_token=third.a.b'),
      order,
    );
    expect(found).toMatchObject({ token: 'first.a.b', sourceKey: 'header:authorization:bearer ' });
  });

  it('reports an empty bearer token as found (and so malformed), not absent', () => {
    expect(findToken(request({ authorization: 'Bearer ' }), order)).toMatchObject({ token: '' });
  });
});
