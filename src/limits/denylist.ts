// Reading and undoing the denylist (GET and DELETE /v1/denylist) on Redis. Entries are found with SCAN on the
// documented keys `{prefix}deny:jti:*` and `{prefix}deny:sub:*`, so entries other systems wrote are listed too;
// on Cluster every master is scanned (a key lives on one node only). SCAN never blocks Redis the way KEYS does.
import type { Cluster, Redis } from 'ioredis';
import { denySubjectKey, denyTokenIdKey } from './keys.js';
import type { RedisClient } from './redis-connect.js';

/** The denylist as GET /v1/denylist answers it, sorted by jti and subject. */
export interface DenylistEntries {
  /** exp: unix seconds when the entry lapses; null for an entry without expiry (written by another system) */
  jti: Array<{ jti: string; exp: number | null }>;
  /** before: tokens of the subject issued at or before this time (unix seconds) are refused */
  sub: Array<{ sub: string; before: number }>;
}

/** Keys read per SCAN round trip: large enough to be quick, small enough never to stall Redis. */
const SCAN_COUNT = 500;

/** Inverse of keys.ts encodeKeyComponent (only %25, %7B and %7D are ever produced). */
export function decodeKeyComponent(encoded: string): string {
  return encoded.replace(/%(25|7B|7D)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A SCAN MATCH pattern matching `literal` exactly, then anything: glob characters of the prefix are escaped. */
export function literalPrefixPattern(literal: string): string {
  return `${literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

function scanNodes(client: RedisClient): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

async function scanKeys(node: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Every denylist entry under `prefix`; an entry that expires between SCAN and its read is left out. */
export async function scanDenylist(client: RedisClient, prefix: string): Promise<DenylistEntries> {
  const jtiStart = denyTokenIdKey(prefix, '');
  const subStart = denySubjectKey(prefix, '');
  const entries: DenylistEntries = { jti: [], sub: [] };
  for (const node of scanNodes(client)) {
    // The key was found on this node, so asking the node itself never meets a redirection.
    const [jtiKeys, subKeys] = await Promise.all([
      scanKeys(node, literalPrefixPattern(jtiStart)),
      scanKeys(node, literalPrefixPattern(subStart)),
    ]);
    const [expiries, cutoffs] = await Promise.all([
      Promise.all(jtiKeys.map((key) => node.expiretime(key))),
      Promise.all(subKeys.map((key) => node.get(key))),
    ]);
    jtiKeys.forEach((key, i) => {
      const exp = expiries[i]!;
      // -2: gone since the scan; -1: no expiry set
      if (exp !== -2)
        entries.jti.push({ jti: decodeKeyComponent(key.slice(jtiStart.length)), exp: exp === -1 ? null : exp });
    });
    subKeys.forEach((key, i) => {
      const before = Number(cutoffs[i]);
      if (cutoffs[i] != null && Number.isFinite(before))
        entries.sub.push({ sub: decodeKeyComponent(key.slice(subStart.length)), before });
    });
  }
  return sortEntries(entries);
}

export function sortEntries(entries: DenylistEntries): DenylistEntries {
  return {
    jti: [...entries.jti].sort((a, b) => (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0)),
    sub: [...entries.sub].sort((a, b) => (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0)),
  };
}

/** Removes one denylist entry; false when there was none. */
export async function deleteDenylistEntry(
  client: RedisClient,
  prefix: string,
  entry: { jti: string } | { sub: string },
): Promise<boolean> {
  const key = 'jti' in entry ? denyTokenIdKey(prefix, entry.jti) : denySubjectKey(prefix, entry.sub);
  return (await client.del(key)) > 0;
}
