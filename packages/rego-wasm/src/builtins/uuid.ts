// uuid.parse (the fields OPA decodes with github.com/google/uuid) and uuid.rfc4122 (a random version 4 UUID;
// the compiled module answers the same argument with the same UUID for the rest of one evaluation, as OPA
// caches it per query).
import { randomUUID } from 'node:crypto';
import { BuiltinArgError, str } from './args.js';
import { exactInt } from './exact.js';

const PARSE = 'uuid.parse';

/** google/uuid's Parse: 36 characters with dashes, 38 (any first and last character), urn:uuid: or 32 hex digits. */
function uuidBytes(s: string): Uint8Array | undefined {
  // Lengths count UTF-8 bytes, as Go's len does; a UUID is ASCII, anything else fails below.
  const length = Buffer.byteLength(s, 'utf8');
  let text = s;
  if (length === 32) return /^[0-9a-fA-F]{32}$/.test(s) ? Buffer.from(s, 'hex') : undefined;
  if (length === 45) {
    if (s.slice(0, 9).toLowerCase() !== 'urn:uuid:') return undefined;
    text = s.slice(9);
  } else if (length === 38) {
    // The braces are not checked, only skipped (google/uuid reads the 36 characters after the first).
    text = Buffer.from(s, 'utf8').subarray(1, 37).toString('latin1');
  } else if (length !== 36) return undefined;
  const m = /^([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})$/.exec(text);
  return m ? Buffer.from(m.slice(1).join(''), 'hex') : undefined;
}

function variantName(b8: number): string {
  if ((b8 & 0xc0) === 0x80) return 'RFC4122';
  if ((b8 & 0xe0) === 0xc0) return 'Microsoft';
  if ((b8 & 0xe0) === 0xe0) return 'Future';
  return 'Reserved';
}

/** The 60-bit timestamp of a version 1 or 2 UUID (100 ns since 1582-10-15) as Unix nanoseconds, in int64 as Go computes it. */
function unixNanos(u: Uint8Array): bigint {
  const view = Buffer.from(u);
  const t =
    BigInt(view.readUInt32BE(0)) |
    (BigInt(view.readUInt16BE(4)) << 32n) |
    (BigInt(view.readUInt16BE(6) & 0xfff) << 48n);
  const sinceUnix = t - 122192928000000000n;
  // Go's / and % truncate toward zero; the product wraps in int64 as Go's does.
  const sec = sinceUnix / 10000000n;
  const nsec = (sinceUnix % 10000000n) * 100n;
  return BigInt.asIntN(64, sec * 1000000000n + nsec);
}

function macVariables(b: number): string {
  if ((b & 0b11) === 0b11) return 'local:multicast';
  if ((b & 0b01) === 0b01) return 'global:multicast';
  if ((b & 0b10) === 0b10) return 'local:unicast';
  return 'global:unicast';
}

function domainName(d: number): string {
  return ['Person', 'Group', 'Org'][d] ?? `Domain${d}`;
}

function parseUuid(s: unknown): Record<string, unknown> {
  const u = uuidBytes(str(PARSE, s));
  if (u === undefined) throw new BuiltinArgError(PARSE, `not a UUID: ${JSON.stringify(s)}`);
  const version = u[6]! >> 4;
  const out: Record<string, unknown> = { version, variant: variantName(u[8]!) };
  if (version === 1 || version === 2) {
    const node = u.subarray(10, 16);
    out.time = exactInt(unixNanos(u));
    out.nodeid = [...node].map((b) => b.toString(16).padStart(2, '0')).join('-');
    out.macvariables = macVariables(node[0]!);
    out.clocksequence = ((u[8]! << 8) | u[9]!) & 0x3fff;
    if (version === 2) {
      out.id = Buffer.from(u).readUInt32BE(0);
      out.domain = domainName(u[9]!);
    }
  }
  return out;
}

export const uuidBuiltins = {
  'uuid.parse': parseUuid,
  // Any argument: it only keys OPA's per-query cache, which the compiled module keeps (see the catalog).
  'uuid.rfc4122': (_key: unknown) => randomUUID(),
};
