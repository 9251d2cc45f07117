import { describe, expect, it } from 'vitest';
import {
  clusterSlotOf,
  denySubjectKey,
  denyTokenIdKey,
  encodeKeyComponent,
  rateLimitKey,
} from '../../src/limits/keys.js';
import { redisCli, startRedisServer } from '../helpers/redis.js';

describe('denylist keys', () => {
  it('are exactly the keys the README documents for plain ids', () => {
    expect(denyTokenIdKey('portcullis:', 'abc-123')).toBe('portcullis:deny:jti:abc-123');
    expect(denySubjectKey('portcullis:', 'alice@example.com')).toBe('portcullis:deny:sub:alice@example.com');
  });

  it('percent-encode `%`, `{` and `}` so a claim cannot form a hash tag, and nothing else', () => {
    expect(encodeKeyComponent('a{b}c%d:e/f')).toBe('a%7Bb%7Dc%25d:e/f');
    expect(denySubjectKey('p:', '{admin}')).toBe('p:deny:sub:%7Badmin%7D');
  });

  it('map different subjects to different keys (the encoding is reversible)', () => {
    const subjects = ['{x}', '%7Bx%7D', '%257Bx%257D', 'x', '{x', 'x}'];
    expect(new Set(subjects.map((s) => denySubjectKey('p:', s))).size).toBe(subjects.length);
  });

  it('put a subject with braces in the slot of its whole key, not of the braces', () => {
    const key = denySubjectKey('portcullis:', 'user{tenant-a}');
    expect(clusterSlotOf(key)).not.toBe(clusterSlotOf('tenant-a'));
  });
});

describe('rate-limit keys', () => {
  it('carry a hash tag of the key value, followed by the rule name', () => {
    expect(rateLimitKey('portcullis:', 'per-user', 'alice')).toMatch(/^portcullis:rl:\{[A-Za-z0-9_-]{22}\}:per-user$/);
  });

  it('share one slot for every rule keyed by the same value', () => {
    expect(clusterSlotOf(rateLimitKey('p:', 'per-minute', 'alice'))).toBe(
      clusterSlotOf(rateLimitKey('p:', 'per-hour', 'alice')),
    );
  });

  it("spread a tenant's many key values over many slots", () => {
    const slots = new Set(
      Array.from({ length: 200 }, (_, i) => clusterSlotOf(rateLimitKey('p:', 'per-user', `tenant-a:user-${i}`))),
    );
    expect(slots.size).toBeGreaterThan(190);
  });

  it('are not steered by `{`, `}` or `:` in the key value', () => {
    const key = rateLimitKey('p:', 'per-user', '}{evil}:x');
    expect(key.split('{')).toHaveLength(2);
    expect(key).not.toContain('evil');
  });
});

describe('cluster slot computation', () => {
  it('agrees with redis CLUSTER KEYSLOT', async () => {
    const server = await startRedisServer({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    });
    try {
      const keys = [
        'foo',
        '123456789',
        '{user1000}.following',
        'a{}b',
        'x{y}{z}',
        '{}{y}',
        'naïve',
        'p:rl:{abc}:rule',
        '{',
      ];
      for (const key of keys)
        expect(clusterSlotOf(key), key).toBe(Number(await redisCli(server.port, 'cluster', 'keyslot', key)));
    } finally {
      await server.dispose();
    }
  });
});
