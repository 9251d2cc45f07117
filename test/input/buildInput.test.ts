import { describe, expect, it } from 'vitest';
import { buildPolicyInput } from '../../src/input/buildInput.js';
import { toRequestView } from '../../src/input/requestView.js';
import { timestampToJson } from '../../src/input/attributes.js';
import type { DecodedAttributes } from '../../src/input/checkRequest.js';

const attributes: DecodedAttributes = {
  source: { address: { socketAddress: { address: '10.1.2.3', portValue: 5555 } }, principal: 'spiffe://ns/sa/web' },
  request: {
    time: { seconds: '1700000000', nanos: 120000000 },
    http: {
      method: 'POST',
      path: '/api//orders?x=1',
      headers: { 'Content-Type': 'application/json', 'content-length': '9' },
      body: '{"n":42}',
      size: '9',
    },
  },
  metadataContext: {
    filterMetadata: {
      'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'alice' }, n: { numberValue: 2 } } },
    },
  },
};

describe('buildPolicyInput', () => {
  const view = toRequestView(attributes);
  const built = buildPolicyInput(attributes, view, null);
  if (built.kind !== 'input') throw new Error('expected an input');
  const input = built.input;

  it('exposes the attributes under their protobuf-JSON names', () => {
    const http = (input.attributes['request'] as { http: Record<string, unknown> }).http;
    expect(http['method']).toBe('POST');
    expect(http['size']).toBe(9); // int64 as a number, as OPA-Envoy shows it
  });
  it('renders the request time as an RFC 3339 string', () => {
    expect((input.attributes['request'] as { time: unknown }).time).toBe('2023-11-14T22:13:20.120Z');
  });
  it('renders Struct metadata as plain JSON', () => {
    expect(input.attributes['metadataContext']).toEqual({
      filterMetadata: { 'envoy.filters.http.jwt_authn': { sub: 'alice', n: 2 } },
    });
  });
  it('fills parsed_path, parsed_query, parsed_body, truncated_body, body_error and version', () => {
    expect(input.parsed_path).toEqual(['api', '', 'orders']);
    expect(input.parsed_query).toEqual({ x: ['1'] });
    expect(input.parsed_body).toBeNull(); // content-length 9 > 8 bytes sent: truncated
    expect(input.truncated_body).toBe(true);
    expect(input.body_error).toBe('truncated');
    expect(input.version).toEqual({ ext_authz: 'v3', encoding: 'protojson' });
  });
  it('sets source_principal when Envoy sent one, and identity null for anonymous checks', () => {
    expect(input.source_principal).toBe('spiffe://ns/sa/web');
    expect(input.identity).toBeNull();
  });
  it('lower-cases header names in the request view the stages read', () => {
    expect(view.headers['content-type']).toBe('application/json');
    expect(view.sourceAddress).toBe('10.1.2.3');
  });
  it('reads header_map when Envoy sends raw headers instead of the map', () => {
    const raw = toRequestView({
      request: {
        http: {
          method: 'GET',
          path: '/',
          headerMap: {
            headers: [
              { key: 'X-A', rawValue: Buffer.from('1').toString('base64') },
              { key: 'x-a', value: '2' },
            ],
          },
        },
      },
    });
    expect(raw.headers['x-a']).toBe('1,2');
  });
});

describe('timestampToJson', () => {
  it('uses 0, 3, 6 or 9 fractional digits as protojson does', () => {
    expect(timestampToJson({ seconds: '0' })).toBe('1970-01-01T00:00:00Z');
    expect(timestampToJson({ seconds: '0', nanos: 1000 })).toBe('1970-01-01T00:00:00.000001Z');
    expect(timestampToJson({ seconds: '0', nanos: 1 })).toBe('1970-01-01T00:00:00.000000001Z');
  });
  it('formats each second anew when consecutive timestamps differ (the last second is reused)', () => {
    expect(timestampToJson({ seconds: '1700000000', nanos: 5_000_000 })).toBe('2023-11-14T22:13:20.005Z');
    expect(timestampToJson({ seconds: '1700000000' })).toBe('2023-11-14T22:13:20Z');
    expect(timestampToJson({ seconds: '1700000001' })).toBe('2023-11-14T22:13:21Z');
    expect(timestampToJson({ seconds: '1700000000' })).toBe('2023-11-14T22:13:20Z');
  });
  it("covers protojson's whole range and gives null outside it instead of throwing", () => {
    expect(timestampToJson({ seconds: '-62135596800' })).toBe('0001-01-01T00:00:00Z');
    expect(timestampToJson({ seconds: '253402300799', nanos: 999999999 })).toBe('9999-12-31T23:59:59.999999999Z');
    expect(timestampToJson({ seconds: '253402300800' })).toBeNull();
    expect(timestampToJson({ seconds: '-62135596801' })).toBeNull();
    expect(timestampToJson({ seconds: '9223372036854775807' })).toBeNull();
    expect(timestampToJson({ seconds: '0', nanos: -1 })).toBeNull();
    expect(timestampToJson({ seconds: '0', nanos: 1_000_000_000 })).toBeNull();
  });
});

describe('buildPolicyInput refusals and bounds', () => {
  const nested = (levels: number): unknown => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < levels; i++) value = { structValue: { fields: { k: value } } };
    return value;
  };
  const withMetadata = (levels: number): DecodedAttributes => ({
    request: { http: { method: 'GET', path: '/' } },
    metadataContext: { filterMetadata: { ns: { fields: { deep: nested(levels) } } } },
  });
  it('refuses metadata nested deeper than the limit instead of dropping it', () => {
    const deep = withMetadata(600);
    expect(buildPolicyInput(deep, toRequestView(deep), null)).toMatchObject({ kind: 'invalid' });
    const fine = withMetadata(100);
    expect(buildPolicyInput(fine, toRequestView(fine), null)).toMatchObject({ kind: 'input' });
  });
  it('refuses a path with a malformed escape', () => {
    const bad: DecodedAttributes = { request: { http: { method: 'GET', path: '/a%zz' } } };
    expect(buildPolicyInput(bad, toRequestView(bad), null)).toEqual({
      kind: 'invalid',
      detail: 'path: malformed percent-escape',
    });
  });
  it('reads headers named after Object.prototype members as ordinary headers', () => {
    const view = toRequestView({
      request: {
        http: {
          headerMap: {
            headers: [
              { key: 'constructor', value: 'a' },
              { key: 'toString', value: 'b' },
              { key: 'constructor', value: 'c' },
            ],
          },
        },
      },
    });
    expect({ ...view.headers }).toEqual({ constructor: 'a,c', tostring: 'b' });
  });
  it('reads the headers map into a map without a prototype: lower-case names, Object.prototype names as headers', () => {
    const headers: Record<string, string> = { Accept: 'a', constructor: 'b', '10': 'c', 'X-Up': 'd', 'x-up': 'e' };
    const view = toRequestView({ request: { http: { headers } } });
    expect(Object.getPrototypeOf(view.headers)).toBeNull();
    expect(Object.entries(view.headers)).toEqual([
      ['10', 'c'],
      ['accept', 'a'],
      ['constructor', 'b'],
      ['x-up', 'e'],
    ]);
    expect(view.headers['toString']).toBeUndefined();
    // a __proto__ header (JSON.parse makes it an own key, as protobufjs does) is an ordinary header too
    const withProto = JSON.parse('{"__proto__":"p","Accept":"a"}') as Record<string, string>;
    const protoView = toRequestView({ request: { http: { headers: withProto } } });
    expect(Object.getPrototypeOf(protoView.headers)).toBeNull();
    expect(Object.entries(protoView.headers)).toEqual([
      ['__proto__', 'p'],
      ['accept', 'a'],
    ]);
    const merged = toRequestView({
      request: { http: { headers: { 'x-a': '1' }, headerMap: { headers: [{ key: 'constructor', value: 'c' }] } } },
    });
    expect({ ...merged.headers }).toEqual({ 'x-a': '1', constructor: 'c' });
  });
});
