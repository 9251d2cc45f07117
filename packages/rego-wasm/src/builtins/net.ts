// net.cidr_contains(cidr, cidr_or_ip): IPv4 and IPv6, as bit strings compared under the outer prefix.
import { BuiltinArgError, str } from './args.js';

interface Prefix {
  bits: bigint;
  /** 32 or 128 */
  width: number;
  length: number;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const group = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = group(halves[0]!);
  const right = halves.length === 2 ? group(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0 || (halves.length === 2 && missing < 1)) return undefined;
  const groups = [...left, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

function parseAddr(text: string): { bits: bigint; width: number } | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { bits: v4, width: 32 };
  const v6 = parseV6(text);
  if (v6 !== undefined) return { bits: v6, width: 128 };
  return undefined;
}

/** A CIDR, or (allowIp) a bare address as a full-length prefix. */
function parsePrefix(text: string, allowIp: boolean): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddr(addrText);
  if (!addr) throw new BuiltinArgError('net.cidr_contains', `invalid address ${JSON.stringify(text)}`);
  if (slash < 0) {
    if (!allowIp) throw new BuiltinArgError('net.cidr_contains', `not a CIDR: ${JSON.stringify(text)}`);
    return { ...addr, length: addr.width };
  }
  const lenText = text.slice(slash + 1);
  // Go's dtoi: decimal digits, leading zeros allowed.
  if (!/^\d+$/.test(lenText) || Number(lenText) > addr.width) {
    throw new BuiltinArgError('net.cidr_contains', `invalid prefix length in ${JSON.stringify(text)}`);
  }
  return { ...addr, length: Number(lenText) };
}

function masked(bits: bigint, width: number, length: number): bigint {
  const hostBits = BigInt(width - length);
  return (bits >> hostBits) << hostBits;
}

export function cidrContains(cidr: unknown, other: unknown): boolean {
  const outer = parsePrefix(str('net.cidr_contains', cidr), false);
  const inner = parsePrefix(str('net.cidr_contains', other), true);
  if (outer.width !== inner.width || inner.length < outer.length) return false;
  return masked(outer.bits, outer.width, outer.length) === masked(inner.bits, inner.width, outer.length);
}

/** net.cidr_is_valid: Go's net.ParseCIDR succeeds; anything but a string is false (not an error), as OPA. */
export function cidrIsValid(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  try {
    parsePrefix(s, false);
    return true;
  } catch {
    return false;
  }
}
