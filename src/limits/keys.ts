// Redis key layout of the denylist and the rate limits.
//
// Denylist keys are the ones README.md documents so other systems can write them:
//   {prefix}deny:jti:<jti>        {prefix}deny:sub:<subject>
// with `%`, `{` and `}` of the jti/subject percent-encoded (`%25`, `%7B`, `%7D`); every other character is
// kept as is. Braces in a token's claims therefore never form a Cluster hash tag, and the encoding is
// reversible, so two different subjects never share a key.
//
// Rate-limit keys:  {prefix}rl:{<tag>}:<rule>
// where <tag> is a hash of the rule's resolved key value. The hash tag spreads tenants over Cluster slots
// while every rule keyed by the same value (per-user per-minute and per-hour, say) shares one slot, and the
// hash makes any claim or header content inert (no `:`, `{` or `}` survives it).
import * as crypto from 'node:crypto';

const RESERVED_IN_KEY = /[%{}]/g;

export function encodeKeyComponent(raw: string): string {
  return raw.replace(RESERVED_IN_KEY, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function denyTokenIdKey(prefix: string, jti: string): string {
  return `${prefix}deny:jti:${encodeKeyComponent(jti)}`;
}

export function denySubjectKey(prefix: string, subject: string): string {
  return `${prefix}deny:sub:${encodeKeyComponent(subject)}`;
}

/**
 * 128 bits of SHA-256 in base64url: collision-free in practice, and only [A-Za-z0-9_-] reach the key. Every
 * check with a rate limit hashes its key value, so the one-shot crypto.hash (Node 20.12+: no Hash object, a
 * third of the time) where it exists.
 */
export const hashKeyValue: (keyValue: string) => string =
  typeof crypto.hash === 'function'
    ? (keyValue) => crypto.hash('sha256', keyValue, 'base64url').slice(0, 22)
    : (keyValue) => crypto.createHash('sha256').update(keyValue, 'utf8').digest('base64url').slice(0, 22);

export function rateLimitKey(prefix: string, ruleName: string, keyValue: string): string {
  return `${prefix}rl:{${hashKeyValue(keyValue)}}:${ruleName}`;
}

/**
 * A rule's three keys for one key value, sharing the bucket's hash tag (one Cluster slot, one script):
 *   {prefix}rl:{<tag>}:<rule>    the bucket
 *   {prefix}ovr:{<tag>}:<rule>   an operator's override of the limit for this key value (the limit, as text)
 *   {prefix}pen:{<tag>}:<rule>   a penalty in force for this key value (expires when the penalty ends)
 */
export function ruleKeys(
  prefix: string,
  ruleName: string,
  keyValue: string,
): { bucket: string; override: string; penalty: string } {
  const tag = hashKeyValue(keyValue);
  return {
    bucket: `${prefix}rl:{${tag}}:${ruleName}`,
    override: `${prefix}ovr:{${tag}}:${ruleName}`,
    penalty: `${prefix}pen:{${tag}}:${ruleName}`,
  };
}

/** The hash listing every override (field: JSON [rule, key], value: the override as JSON), for GET /v1/overrides. */
export function overrideIndexKey(prefix: string): string {
  return `${prefix}overrides`;
}

/** Failed-authentication throttling of one key value: its failure bucket and its block. */
export function authFailureKeys(prefix: string, keyValue: string): { failures: string; block: string } {
  const tag = hashKeyValue(keyValue);
  return { failures: `${prefix}af:{${tag}}:failures`, block: `${prefix}af:{${tag}}:block` };
}

/** A rule's key value from its parts' values: one part as is, several as a JSON list (["a:b","c"] ≠ ["a","b:c"]). */
export function joinKeyParts(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : JSON.stringify(values);
}

// CRC16-XMODEM, the checksum Redis Cluster maps keys to its 16384 slots with. Needed to group one check's
// keys by slot, so keys that can share a script do.
const CRC16_TABLE = buildCrc16Table();

function buildCrc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The Cluster slot of a key, honouring the first non-empty `{...}` hash tag as Redis does. */
export function clusterSlotOf(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}
