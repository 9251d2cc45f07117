// net.*: CIDRs and addresses (IPv4 and IPv6) as bit strings, printed as Go's net package prints them.
import { BuiltinArgError, list, str } from './args.js';
import { RegoSet, setOf } from './values.js';

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

/**
 * A network as Go's net.IPNet.Contains reads it (networkNumberAndMask): one whose masked address is
 * IPv4-mapped (::ffff:a.b.c.d) is an IPv4 network, its mask the last 32 bits of the IPv6 mask.
 */
function goNetwork(p: Prefix): Prefix {
  const bits = masked(p.bits, p.width, p.length);
  if (p.width === 128 && bits >> 32n === 0xffffn) {
    return { bits: bits & 0xffffffffn, width: 32, length: Math.max(0, p.length - 96) };
  }
  return { bits, width: p.width, length: p.length };
}

/** net.IPNet.Contains: an IPv4-mapped address is an IPv4 address (ip.To4), so ::ffff:10.0.0.1 is in 10.0.0.0/8. */
function goContains(network: Prefix, bits: bigint, width: number): boolean {
  const [ip, ipWidth] = width === 128 && bits >> 32n === 0xffffn ? [bits & 0xffffffffn, 32] : [bits, width];
  return ipWidth === network.width && masked(ip, ipWidth, network.length) === network.bits;
}

/** The first and last address of a CIDR, at its own width (OPA's getLastIP). */
function firstAndLast(p: Prefix): [bigint, bigint] {
  const first = masked(p.bits, p.width, p.length);
  return [first, first | ((1n << BigInt(p.width - p.length)) - 1n)];
}

/** OPA's net.cidr_contains: an address (net.ParseIP) or a CIDR whose first and last addresses the network contains. */
export function cidrContains(cidr: unknown, other: unknown): boolean {
  const network = goNetwork(parsePrefix(str('net.cidr_contains', cidr), false));
  const text = str('net.cidr_contains', other);
  const address = text.includes('/') ? undefined : parseAddr(text);
  if (address) return goContains(network, address.bits, address.width);
  const inner = parsePrefix(text, false);
  const [first, last] = firstAndLast(inner);
  return goContains(network, first, inner.width) && goContains(network, last, inner.width);
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

/** Go's net.IP.String(): dotted IPv4 (also for IPv4-mapped IPv6), RFC 5952 IPv6 otherwise. */
function formatAddr(bits: bigint, width: number): string {
  if (width === 32 || bits >> 32n === 0xffffn) {
    const v4 = bits & 0xffffffffn;
    return [24n, 16n, 8n, 0n].map((s) => String((v4 >> s) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function parseCidrStrict(name: string, text: unknown): Prefix {
  try {
    return parsePrefix(str(name, text), false);
  } catch {
    throw new BuiltinArgError(name, `invalid CIDR ${JSON.stringify(text)}`);
  }
}

/** net.cidr_expand refuses to list more addresses than this (a /12 of IPv4); OPA would exhaust memory. */
const MAX_EXPAND = 1n << 20n;

/** The smallest CIDRs covering [start, end] exactly. */
function rangeToCidrs(start: bigint, end: bigint, width: number): string[] {
  const out: string[] = [];
  let cur = start;
  while (cur <= end) {
    let size = 0;
    while (size < width) {
      const block = 1n << BigInt(size + 1);
      if (cur % block !== 0n || cur + block - 1n > end) break;
      size++;
    }
    out.push(`${formatAddr(cur, width)}/${width - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

function mergeCidrs(name: string, items: unknown[]): string[] {
  const byWidth = new Map<number, Array<[bigint, bigint]>>();
  for (const item of items) {
    const p = (() => {
      try {
        return parsePrefix(str(name, item), true);
      } catch {
        throw new BuiltinArgError(name, `invalid address or CIDR ${JSON.stringify(item)}`);
      }
    })();
    const start = masked(p.bits, p.width, p.length);
    const range: [bigint, bigint] = [start, start + (1n << BigInt(p.width - p.length)) - 1n];
    byWidth.set(p.width, [...(byWidth.get(p.width) ?? []), range]);
  }
  const out: string[] = [];
  for (const width of [32, 128]) {
    const ranges = (byWidth.get(width) ?? []).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: Array<[bigint, bigint]> = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last !== undefined && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
      else merged.push([r[0], r[1]]);
    }
    for (const [s, e] of merged) out.push(...rangeToCidrs(s, e, width));
  }
  return out;
}

/** [key, CIDR or address] of each item: a string is its own key; arrays by index, objects by key, sets by element; an array item's first element is its address. */
function keyedAddresses(name: string, v: unknown): Array<[unknown, string]> {
  const address = (x: unknown): string => str(name, Array.isArray(x) ? x[0] : x);
  if (typeof v === 'string') return [[v, v]];
  if (Array.isArray(v)) return v.map((x, i) => [i, address(x)]);
  if (v instanceof RegoSet) return v.items.map((x) => [x, address(x)]);
  if (typeof v === 'object' && v !== null) return Object.entries(v).map(([k, x]) => [k, address(x)]);
  throw new BuiltinArgError(name, 'expected a string, an array, a set or an object of CIDRs');
}

export const netBuiltins = {
  'net.cidr_contains_matches': (cidrs: unknown, others: unknown) => {
    const name = 'net.cidr_contains_matches';
    const outer = keyedAddresses(name, cidrs);
    const inner = keyedAddresses(name, others);
    const matches: Array<[unknown, unknown]> = [];
    for (const [k1, c] of outer) for (const [k2, a] of inner) if (cidrContains(c, a)) matches.push([k1, k2]);
    return setOf(matches);
  },
  'net.cidr_contains': cidrContains,
  // The deprecated name of net.cidr_contains.
  'net.cidr_overlap': cidrContains,
  'net.cidr_is_valid': cidrIsValid,
  'net.cidr_intersects': (a: unknown, b: unknown) => {
    // OPA: either network contains the other's first address, with Go's IPv4-mapped rules.
    const x = parseCidrStrict('net.cidr_intersects', a);
    const y = parseCidrStrict('net.cidr_intersects', b);
    return (
      goContains(goNetwork(x), firstAndLast(y)[0], y.width) || goContains(goNetwork(y), firstAndLast(x)[0], x.width)
    );
  },
  'net.cidr_expand': (c: unknown) => {
    const p = parseCidrStrict('net.cidr_expand', c);
    const count = 1n << BigInt(p.width - p.length);
    if (count > MAX_EXPAND)
      throw new BuiltinArgError('net.cidr_expand', `${String(c)} holds ${count} addresses, more than ${MAX_EXPAND}`);
    const start = masked(p.bits, p.width, p.length);
    return new RegoSet(Array.from({ length: Number(count) }, (_, i) => formatAddr(start + BigInt(i), p.width)));
  },
  'net.cidr_merge': (xs: unknown) => new RegoSet(mergeCidrs('net.cidr_merge', list('net.cidr_merge', xs))),
};
