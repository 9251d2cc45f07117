import { describe, expect, it } from 'vitest';
import { wwwAuthenticate } from '../../src/identity/index.js';
import { forwardClaimHeaderNames } from '../../src/identity/index.js';
import { claimValue, headerValueOf, resolveForwardHeaders } from '../../src/identity/forward-claims.js';
import { jwtConfig } from './helpers.js';

describe('wwwAuthenticate', () => {
  it('has no error attribute when the token is simply missing', () => {
    expect(wwwAuthenticate({ failure: 'missing', description: 'bearer token missing' })).toBe('Bearer realm="portcullis"');
  });

  it('says invalid_token with the description for a rejected token', () => {
    expect(wwwAuthenticate({ failure: 'expired', description: 'token expired' })).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="token expired"',
    );
  });

  it('describes a revoked token as DESIGN.md shows', () => {
    expect(wwwAuthenticate({ failure: 'revoked', description: 'token revoked' })).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="token revoked"',
    );
  });

  it('escapes quotes and backslashes and replaces characters a header cannot carry', () => {
    expect(wwwAuthenticate({ failure: 'claims', description: 'claim "x\\y"\r\nset-cookie: a' })).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="claim \\"x\\\\y\\"??set-cookie: a"',
    );
  });
});

describe('forwardClaims', () => {
  it('resolves exact claim names, dotted paths and non-string values', () => {
    const claims = { sub: 'alice', 'https://ex.com/tenant': 't1', realm: { roles: ['a', 'b'] }, admin: true, level: 3 };
    expect(
      resolveForwardHeaders(
        { 'x-user-id': 'sub', 'x-tenant': 'https://ex.com/tenant', 'x-roles': 'realm.roles', 'x-admin': 'admin', 'x-level': 'level', 'x-none': 'missing' },
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
        { name: 'a', issuer: 'https://a', algorithms: ['RS256'], jwksFile: 'a.json', forwardClaims: { 'X-User-Id': 'sub' } },
        { name: 'b', issuer: 'https://b', algorithms: ['RS256'], jwksFile: 'b.json', forwardClaims: { 'x-user-id': 'sub', 'x-tenant': 'tid' } },
      ],
    });
    expect(forwardClaimHeaderNames(config).sort()).toEqual(['x-tenant', 'x-user-id']);
  });
});
