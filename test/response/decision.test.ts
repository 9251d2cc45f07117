import { describe, expect, it } from 'vitest';
import { interpretDecision } from '../../src/policy/decision.js';
import { DecisionTypeError } from '../../src/policy/errors.js';

describe('interpretDecision', () => {
  it('accepts a bare boolean', () => {
    expect(interpretDecision(true).allowed).toBe(true);
    expect(interpretDecision(false).allowed).toBe(false);
  });

  it('reads every OPA-Envoy decision key', () => {
    const decision = interpretDecision({
      allowed: true,
      headers: { 'X-User': 'alice', 'x-multi': ['a', 'b'] },
      request_headers_to_remove: ['X-Debug'],
      response_headers_to_add: { 'x-resp': 'r' },
      query_parameters_to_set: { Page: '2' },
      query_parameters_to_remove: ['token'],
      body: 'nope',
      http_status: 418,
      dynamic_metadata: { tenant: 't1' },
    });
    expect(decision.headers).toEqual([
      { name: 'x-user', value: 'alice', append: false },
      { name: 'x-multi', value: 'a', append: false },
      { name: 'x-multi', value: 'b', append: true },
    ]);
    expect(decision.requestHeadersToRemove).toEqual(['x-debug']);
    expect(decision.responseHeadersToAdd).toEqual([{ name: 'x-resp', value: 'r', append: false }]);
    expect(decision.queryParametersToSet).toEqual([{ key: 'Page', value: '2' }]);
    expect(decision.queryParametersToRemove).toEqual(['token']);
    expect(decision.body).toBe('nope');
    expect(decision.httpStatus).toBe(418);
    expect(decision.dynamicMetadata).toEqual({ tenant: 't1' });
  });

  it('accepts response_headers_to_add as a list of objects', () => {
    expect(interpretDecision({ allowed: true, response_headers_to_add: [{ a: '1' }, { b: '2' }] }).responseHeadersToAdd).toEqual([
      { name: 'a', value: '1', append: false },
      { name: 'b', value: '2', append: false },
    ]);
  });

  const wrongTypes: Array<[string, unknown, string]> = [
    ['a string decision', 'yes', '(decision)'],
    ['a missing allowed', { headers: {} }, 'allowed'],
    ['a string allowed', { allowed: 'true' }, 'allowed'],
    ['a numeric header value', { allowed: true, headers: { 'x-n': 1 } }, 'headers.x-n'],
    ['headers as a list', { allowed: true, headers: ['x'] }, 'headers'],
    ['request_headers_to_remove as a string', { allowed: true, request_headers_to_remove: 'x' }, 'request_headers_to_remove'],
    ['a non-string body', { allowed: false, body: { a: 1 } }, 'body'],
    ['http_status out of range', { allowed: false, http_status: 99 }, 'http_status'],
    ['http_status as a string', { allowed: false, http_status: '403' }, 'http_status'],
    ['dynamic_metadata as a list', { allowed: true, dynamic_metadata: [] }, 'dynamic_metadata'],
    ['query_parameters_to_remove with a number', { allowed: true, query_parameters_to_remove: [1] }, 'query_parameters_to_remove'],
  ];
  for (const [name, value, key] of wrongTypes) {
    it(`rejects ${name}, naming the key "${key}"`, () => {
      let caught: unknown;
      try {
        interpretDecision(value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(DecisionTypeError);
      expect((caught as DecisionTypeError).key).toBe(key);
      expect((caught as DecisionTypeError).message).toContain(key);
    });
  }
});
