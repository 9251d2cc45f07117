import { describe, expect, it } from 'vitest';
import { forwardClaimHeaderNames } from '../../src/identity/index.js';
import { claimValue, headerValueOf, resolveForwardHeaders } from '../../src/identity/forward-claims.js';
import { jwtConfig } from './helpers.js';

describe('forwardClaims', () => {
  it('resolves exact claim names, dotted paths and non-string values', () => {
    const claims = { sub: 'alice', 'https://ex.com/tenant': 't1', realm: { roles: ['a', 'b'] }, admin: true, level: 3 };
    expect(
      resolveForwardHeaders(
        {
          'x-user-id': 'sub',
          'x-tenant': 'https://ex.com/tenant',
          'x-roles': 'realm.roles',
          'x-admin': 'admin',
          'x-level': 'level',
          'x-none': 'missing',
        },
        claims,
      ),
    ).toEqual({ 'x-user-id': 'alice', 'x-tenant': 't1', 'x-roles': '["a","b"]', 'x-admin': 'true', 'x-level': '3' });
  });

  it('drops a string claim that would split a header', () => {
    expect(headerValueOf('alice\r\nx-admin: true')).toBeNull();
  });

  it('does not walk into inherited properties', () => {
    expect(claimValue({}, 'constructor.name')).toBeUndefined();
  });

  it('lists every forwarded header name of every provider, lower-case, for removal from requests', () => {
    const config = jwtConfig({
      providers: [
        {
          name: 'a',
          issuer: 'https://a',
          algorithms: ['RS256'],
          jwksFile: 'a.json',
          forwardClaims: { 'X-User-Id': 'sub' },
        },
        {
          name: 'b',
          issuer: 'https://b',
          algorithms: ['RS256'],
          jwksFile: 'b.json',
          forwardClaims: { 'x-user-id': 'sub', 'x-tenant': 'tid' },
        },
      ],
    });
    expect(forwardClaimHeaderNames(config).sort()).toEqual(['x-tenant', 'x-user-id']);
  });
});
