// Unknown operations, counted by method and path shape. Raw paths never become labels or keys: ids are
// folded into `{id}`, and the table is an LRU of bounded size, so a scanner cannot grow memory or metrics.
import { LRU } from 'tiny-lru';
import type { UnknownOperation } from './types.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const MAX_SEGMENTS = 8;

/** A method as a label value: the standard ones, anything else is OTHER. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : 'OTHER';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^[0-9]+$/;
const HEX = /^[0-9a-f]{8,}$/i;
/** a long token-like segment with digits (slugs with ids, base64url ids, hashes) */
const OPAQUE = /^(?=.*[0-9])[A-Za-z0-9_\-.~%+=]{16,}$/;

/** `/users/42/orders/7f3c9a0b1d?x=1` -> `/users/{id}/orders/{id}`; at most 8 segments, then `/…`. */
export function pathShape(path: string): string {
  const end = path.search(/[?#]/);
  const segments = (end === -1 ? path : path.slice(0, end)).split('/').slice(1);
  const shaped = segments
    .slice(0, MAX_SEGMENTS)
    .map((segment) =>
      NUMBER.test(segment) || UUID.test(segment) || HEX.test(segment) || OPAQUE.test(segment) || segment.length > 64
        ? '{id}'
        : segment,
    );
  return `/${shaped.join('/')}${segments.length > MAX_SEGMENTS ? '/…' : ''}`;
}

export interface UnknownInventory {
  record(method: string, path: string, now: Date): void;
  /** most frequent first, then most recent */
  list(): UnknownOperation[];
}

export function createUnknownInventory(maxEntries = 1000): UnknownInventory {
  const entries = new LRU<{ method: string; shape: string; count: number; lastSeen: number }>(maxEntries);
  return {
    record(method, path, now) {
      const shape = pathShape(path);
      const label = methodLabel(method);
      const key = `${label} ${shape}`;
      const entry = entries.get(key);
      if (entry === undefined) entries.set(key, { method: label, shape, count: 1, lastSeen: now.getTime() });
      else {
        entry.count += 1;
        entry.lastSeen = now.getTime();
      }
    },
    list() {
      return entries
        .values()
        .filter((e) => e !== undefined)
        .sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen)
        .map((e) => ({
          method: e.method,
          shape: e.shape,
          count: e.count,
          lastSeen: new Date(e.lastSeen).toISOString(),
        }));
    },
  };
}
