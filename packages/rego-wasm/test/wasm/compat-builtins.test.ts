// OPA builtins outside BUILTINS that customBuiltins carries for bundles built by `opa build -t wasm`.
// The SDK calls them exactly like this (JSON arguments in, a JSON value or undefined out).
import { describe, expect, it } from 'vitest';
import { customBuiltins } from '../../src/builtins/index.js';

const call = (name: string, ...args: unknown[]): unknown => {
  const impl = customBuiltins[name];
  if (!impl) throw new Error(`customBuiltins lacks ${name}`);
  return impl(...args);
};

describe('customBuiltins for OPA-built bundles', () => {
  it('covers what the SDK lacks and OPA policies commonly call', () => {
    for (const name of [
      'time.now_ns',
      'time.parse_rfc3339_ns',
      'io.jwt.decode',
      'urlquery.encode',
      'urlquery.decode',
      'urlquery.encode_object',
      'base64url.encode_no_pad',
      'net.cidr_contains',
      'glob.match',
      'regex.match',
      'units.parse_bytes',
      'crypto.sha256',
      'hex.encode',
      'time.date',
      'semver.compare',
      'portcullis.wire.sprintf',
    ]) {
      expect(typeof customBuiltins[name], name).toBe('function');
    }
  });
  it('hashes and HMACs as hex', () => {
    expect(call('crypto.sha256', 'abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(call('crypto.md5', '')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(call('crypto.hmac.sha256', 'msg', 'key')).toBe(
      '2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628',
    );
    expect(call('crypto.hmac.equal', 'a', 'a')).toBe(true);
    expect(call('crypto.hmac.equal', 'a', 'ab')).toBe(false);
  });
  it('hex round trips and refuses odd input', () => {
    expect(call('hex.encode', 'hi')).toBe('6869');
    expect(call('hex.decode', '6869')).toBe('hi');
    expect(call('hex.decode', '686')).toBeUndefined();
  });
  it('splits timestamps in UTC or a named zone, and refuses unknown zones', () => {
    const ns = Date.UTC(2024, 1, 29, 13, 14, 15) * 1e6;
    expect(call('time.date', ns)).toEqual([2024, 2, 29]);
    expect(call('time.clock', [ns, 'UTC'])).toEqual([13, 14, 15]);
    expect(call('time.weekday', ns)).toBe('Thursday');
    expect(call('time.clock', [ns, 'Europe/Paris'])).toEqual([14, 14, 15]);
    expect(call('time.date', [ns, 'Nowhere/Special'])).toBeUndefined();
    expect(call('time.add_date', ns, 0, 1, 1)).toBe(Date.UTC(2024, 2, 30, 13, 14, 15) * 1e6);
    expect(call('time.parse_duration_ns', '1h30m')).toBe(5400e9);
    expect(call('time.parse_duration_ns', '1.5s')).toBe(1.5e9);
    expect(call('time.parse_duration_ns', 'soon')).toBeUndefined();
  });
  it('compares semantic versions, pre-releases before releases', () => {
    expect(call('semver.compare', '1.2.3', '1.10.0')).toBe(-1);
    expect(call('semver.compare', '1.0.0-alpha', '1.0.0')).toBe(-1);
    expect(call('semver.compare', '1.0.0-alpha.2', '1.0.0-alpha.10')).toBe(-1);
    expect(call('semver.compare', '2.0.0', '2.0.0+build')).toBe(0);
    expect(call('semver.is_valid', '01.2.3')).toBe(false); // SemVer 2.0.0: no leading zeros
    expect(call('semver.is_valid', '1.2')).toBe(false);
    expect(call('semver.compare', 'x', '1.0.0')).toBeUndefined();
  });
  it('regex.replace and regex.find_n apply the same RE2 rule as regex.match', () => {
    expect(call('regex.replace', 'a1b22', '\\d+', '#')).toBe('a#b#');
    expect(call('regex.find_n', '[a-z]', 'a1b2c', 2)).toEqual(['a', 'b']);
    expect(call('regex.find_n', '[a-z]', 'a1b2c', -1)).toEqual(['a', 'b', 'c']);
    expect(call('regex.replace', 'aa', '(a)\\1', 'x')).toBeUndefined();
  });
  it('strings.count, net.cidr_is_valid, object.keys', () => {
    expect(call('strings.count', 'cheese', 'e')).toBe(3);
    expect(call('net.cidr_is_valid', '10.0.0.0/8')).toBe(true);
    expect(call('net.cidr_is_valid', '10.0.0.0/33')).toBe(false);
    expect(call('net.cidr_is_valid', 'fd00::/8')).toBe(true);
    expect(call('object.keys', { b: 1, a: 2 })).toEqual(['b', 'a']);
  });
  it('json.patch applies RFC 6902 operations and refuses failed tests', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    expect(
      call('json.patch', doc, [
        { op: 'add', path: '/a/b/-', value: 3 },
        { op: 'replace', path: '/c', value: 'y' },
        { op: 'copy', from: '/c', path: '/d' },
        { op: 'move', from: '/a/b/0', path: '/first' },
        { op: 'remove', path: ['a', 'b', '0'] },
        { op: 'test', path: '/d', value: 'y' },
      ]),
    ).toEqual({ a: { b: [3] }, c: 'y', d: 'y', first: 1 });
    expect(doc).toEqual({ a: { b: [1, 2] }, c: 'x' });
    expect(call('json.patch', doc, [{ op: 'test', path: '/c', value: 'nope' }])).toBeUndefined();
    expect(call('json.patch', doc, [{ op: 'remove', path: '/zzz' }])).toBeUndefined();
  });
  it('units.parse, numbers.range, strings.replace_n, uuid.parse', () => {
    expect(call('units.parse', '10m')).toBeCloseTo(0.01);
    expect(call('units.parse', '2Ki')).toBe(2048);
    expect(call('units.parse', '1.5G')).toBe(1.5e9);
    expect(call('numbers.range', 3, 1)).toEqual([3, 2, 1]);
    expect(call('strings.replace_n', { a: 'b', b: 'a' }, 'abba')).toBe('baab');
    expect(call('uuid.parse', '00000000-0000-4000-8000-000000000000')).toEqual({ version: 4, variant: 'RFC4122' });
    expect(call('uuid.parse', 'nope')).toBeUndefined();
  });
  it('never throws: a wrong argument type is undefined', () => {
    for (const name of Object.keys(customBuiltins)) {
      if (name === 'time.now_ns' || name === 'uuid.rfc4122') continue;
      expect(() => call(name, Symbol('bad') as unknown, {}, [], null)).not.toThrow();
    }
  });
});
