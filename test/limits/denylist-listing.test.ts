// Listing and removing denylist entries on Redis Cluster: keys live on three masters, and GET /v1/denylist
// must find every one of them (SCAN on each master) and undo any of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../../src/limits/redis-store.js';
import { clusterSlotOf, denyTokenIdKey } from '../../src/limits/keys.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import { nowSeconds, silentLogger } from './fixtures.js';

describe('denylist listing on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let store: RedisStore;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    store = await createRedisStore(
      { keyPrefix: 'dl:', commandTimeoutMs: 1000, onError: 'deny', cluster: cluster.urls },
      silentLogger,
    );
  });
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('lists entries from every master and deletes any of them', async () => {
    const exp = nowSeconds() + 600;
    const ids = Array.from({ length: 30 }, (_, i) => `jti-${i}`);
    // 30 keys spread over 16384 slots: the test is only meaningful when they land on more than one master.
    expect(new Set(ids.map((id) => Math.floor(clusterSlotOf(denyTokenIdKey('dl:', id)) / 5462))).size).toBeGreaterThan(
      1,
    );
    for (const id of ids) await store.revokeTokenId(id, exp);
    await store.revokeSubject('sam', exp - 1000);
    const listed = await store.listDenylist();
    expect(listed.jti.map((e) => e.jti).sort()).toEqual([...ids].sort());
    expect(listed.jti.every((e) => e.exp === exp)).toBe(true);
    expect(listed.sub).toEqual([{ sub: 'sam', before: exp - 1000 }]);
    expect(await store.deleteDenylistEntry({ jti: 'jti-7' })).toBe(true);
    expect(await store.deleteDenylistEntry({ jti: 'jti-7' })).toBe(false);
    expect(await store.deleteDenylistEntry({ sub: 'sam' })).toBe(true);
    const after = await store.listDenylist();
    expect(after.jti).toHaveLength(29);
    expect(after.sub).toEqual([]);
  });
});
