import { describe, expect, it } from 'vitest';
import { compileRules, matchLimits } from '../../src/limits/match.js';
import type { HttpRequestView } from '../../src/input/types.js';
import { rule } from './fixtures.js';

function request(overrides: Partial<HttpRequestView> = {}): HttpRequestView {
  return {
    method: 'GET',
    path: '/api/orders?page=2',
    headers: { 'x-tenant': 'acme' },
    sourceAddress: '10.0.0.7',
    ...overrides,
  };
}

describe('matchLimits', () => {
  it('resolves every key part from the request and the claims', () => {
    const r = rule({
      limit: 1,
      key: ['jwt.sub', 'header.X-Tenant', 'source.address', 'request.method', 'request.path'],
    });
    const [matched] = matchLimits(compileRules([r]), request(), { sub: 'alice' });
    expect(JSON.parse(matched!.keyValue)).toEqual(['alice', 'acme', '10.0.0.7', 'GET', '/api/orders']);
  });

  it('drops the query string from request.path so a query cannot open a fresh bucket', () => {
    const rules = compileRules([rule({ limit: 1, key: ['request.path'] })]);
    expect(matchLimits(rules, request({ path: '/a?x=1' }), null)[0]!.keyValue).toBe('/a');
    expect(matchLimits(rules, request({ path: '/a?x=2' }), null)[0]!.keyValue).toBe('/a');
  });

  it('keeps multi-part key values apart that would join to the same string', () => {
    const rules = compileRules([rule({ limit: 1, key: ['jwt.a', 'jwt.b'] })]);
    const first = matchLimits(rules, request(), { a: 'x:y', b: 'z' })[0]!.keyValue;
    const second = matchLimits(rules, request(), { a: 'x', b: 'y:z' })[0]!.keyValue;
    expect(first).not.toBe(second);
  });

  it('reads a claim named with dots first, else the nested claim', () => {
    const rules = compileRules([rule({ limit: 1, key: ['jwt.org.id'] })]);
    expect(matchLimits(rules, request(), { 'org.id': 'flat', org: { id: 'nested' } })[0]!.keyValue).toBe('flat');
    expect(matchLimits(rules, request(), { org: { id: 'nested' } })[0]!.keyValue).toBe('nested');
    expect(matchLimits(rules, request(), { org: { id: 42 } })[0]!.keyValue).toBe('42');
  });

  it('skips a rule whose key does not resolve (anonymous request, missing header or claim)', () => {
    const rules = compileRules([rule({ limit: 1, key: ['jwt.sub'] }), rule({ limit: 1, key: ['header.x-missing'] })]);
    expect(matchLimits(rules, request(), null)).toEqual([]);
    expect(matchLimits(rules, request(), { iss: 'x' })).toEqual([]);
  });

  it('applies `when` by method and by path prefix (ignoring the query)', () => {
    const r = rule({ limit: 1, key: ['source.address'], when: { pathPrefix: '/api', methods: ['POST'] } });
    const rules = compileRules([r]);
    expect(matchLimits(rules, request({ method: 'POST' }), null)).toHaveLength(1);
    expect(matchLimits(rules, request({ method: 'post' }), null)).toHaveLength(1);
    expect(matchLimits(rules, request({ method: 'GET' }), null)).toEqual([]);
    expect(matchLimits(rules, request({ method: 'POST', path: '/health?/api' }), null)).toEqual([]);
  });

  it('returns every matching rule in configuration order', () => {
    const rules = [rule({ limit: 1, key: ['source.address'] }), rule({ limit: 2, key: ['request.method'] })];
    expect(matchLimits(compileRules(rules), request(), null).map((m) => m.rule.name)).toEqual(rules.map((r) => r.name));
  });
});
