import { describe, expect, it } from 'vitest';
import { interpretDecision } from '../../src/policy/decision.js';
import { DecisionTypeError } from '../../src/policy/errors.js';
import { ENVOY_HTTP_STATUSES } from '../../src/response/envoyHttpStatus.js';

describe('interpretDecision', () => {
  it('accepts a bare boolean', () => {
    expect(interpretDecision(true).allowed).toBe(true);
    expect(interpretDecision(false).allowed).toBe(false);
  });

  it('reads every allow key of an allow', () => {
    const decision = interpretDecision({
      allowed: true,
      headers: { 'X-User': 'alice', 'x-multi': ['a', 'b'] },
      request_headers_to_remove: ['X-Debug'],
      response_headers_to_add: { 'x-resp': 'r' },
      query_parameters_to_set: { Page: '2' },
      query_parameters_to_remove: ['token'],
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
    expect(decision.dynamicMetadata).toEqual({ tenant: 't1' });
  });

  it('reads headers, body, http_status and dynamic_metadata of a deny', () => {
    const decision = interpretDecision({
      allowed: false,
      headers: { 'x-reason': 'nope' },
      body: 'nope',
      http_status: 404,
      dynamic_metadata: { tenant: 't1' },
    });
    expect(decision.headers).toEqual([{ name: 'x-reason', value: 'nope', append: false }]);
    expect(decision.body).toBe('nope');
    expect(decision.httpStatus).toBe(404);
    expect(decision.dynamicMetadata).toEqual({ tenant: 't1' });
  });

  it('ignores body and http_status on an allow, even of the wrong type, as OPA-Envoy does', () => {
    const decision = interpretDecision({ allowed: true, body: { not: 'a string' }, http_status: 'teapot' });
    expect(decision.allowed).toBe(true);
    expect(decision.body).toBeUndefined();
    expect(decision.httpStatus).toBeUndefined();
  });

  it('ignores the allow-only keys on a deny, even of the wrong type, as OPA-Envoy does', () => {
    const decision = interpretDecision({
      allowed: false,
      request_headers_to_remove: 'x',
      response_headers_to_add: 5,
      query_parameters_to_set: ['a'],
      query_parameters_to_remove: {},
    });
    expect(decision.allowed).toBe(false);
    expect(decision.requestHeadersToRemove).toEqual([]);
    expect(decision.responseHeadersToAdd).toEqual([]);
    expect(decision.queryParametersToSet).toEqual([]);
    expect(decision.queryParametersToRemove).toEqual([]);
  });

  it('accepts response_headers_to_add as a list of objects', () => {
    expect(
      interpretDecision({ allowed: true, response_headers_to_add: [{ a: '1' }, { b: '2' }] }).responseHeadersToAdd,
    ).toEqual([
      { name: 'a', value: '1', append: false },
      { name: 'b', value: '2', append: false },
    ]);
  });

  it('accepts headers as a list of objects on an allow and a deny, a repeated name appending', () => {
    const list = [{ 'x-a': '1', 'x-b': ['2', '3'] }, { 'X-A': '4' }];
    const expected = [
      { name: 'x-a', value: '1', append: false },
      { name: 'x-b', value: '2', append: false },
      { name: 'x-b', value: '3', append: true },
      { name: 'x-a', value: '4', append: true },
    ];
    expect(interpretDecision({ allowed: true, headers: list }).headers).toEqual(expected);
    expect(interpretDecision({ allowed: false, headers: list }).headers).toEqual(expected);
  });

  it("accepts every http_status of Envoy's StatusCode enum", () => {
    for (const status of ENVOY_HTTP_STATUSES) {
      expect(interpretDecision({ allowed: false, http_status: status }).httpStatus).toBe(status);
    }
  });

  const wrongTypes: Array<[string, unknown, string]> = [
    ['a string decision', 'yes', '(decision)'],
    ['a missing allowed', { headers: {} }, 'allowed'],
    ['a string allowed', { allowed: 'true' }, 'allowed'],
    ['a numeric header value', { allowed: true, headers: { 'x-n': 1 } }, 'headers.x-n'],
    ['headers as a list of strings', { allowed: true, headers: ['x'] }, 'headers[0]'],
    ['headers as a string', { allowed: false, headers: 'x' }, 'headers'],
    ['a numeric header value in a headers list', { allowed: false, headers: [{ a: 'x' }, { b: 2 }] }, 'headers[1].b'],
    [
      'request_headers_to_remove as a string',
      { allowed: true, request_headers_to_remove: 'x' },
      'request_headers_to_remove',
    ],
    ['a non-string body', { allowed: false, body: { a: 1 } }, 'body'],
    ['http_status out of range', { allowed: false, http_status: 99 }, 'http_status'],
    ["http_status 418 (not in Envoy's StatusCode enum)", { allowed: false, http_status: 418 }, 'http_status'],
    ["http_status 451 (not in Envoy's StatusCode enum)", { allowed: false, http_status: 451 }, 'http_status'],
    ['http_status 0 (Empty)', { allowed: false, http_status: 0 }, 'http_status'],
    ['http_status 403.5', { allowed: false, http_status: 403.5 }, 'http_status'],
    ['http_status as a string', { allowed: false, http_status: '403' }, 'http_status'],
    ['dynamic_metadata as a list', { allowed: true, dynamic_metadata: [] }, 'dynamic_metadata'],
    [
      'query_parameters_to_remove with a number',
      { allowed: true, query_parameters_to_remove: [1] },
      'query_parameters_to_remove',
    ],
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
