// How Go's encoding/json writes the standard-library values that crypto/x509 structures hold: net.IP (its
// MarshalText), url.URL (a plain struct) and url.URL.String(). OPA's x509 builtins hand policies these
// values as json.Marshal wrote them. URLs are reproduced for the plain spellings certificates carry
// (spiffe://trust-domain/path, https://host/path, urn:…); a spelling whose parse by Go's net/url is not
// certain here (percent escapes, user info, characters Go would escape) is refused rather than guessed.
import { BuiltinArgError, NotReproducedError } from './args.js';

/** net.IP.String() for a 4- or 16-byte address (RFC 5952 for IPv6, dotted for IPv4 and IPv4-mapped). */
export function ipString(ip: Uint8Array): string {
  if (ip.length === 4) return [...ip].join('.');
  if (ip.length !== 16) throw new BuiltinArgError('crypto.x509', `an IP address of ${ip.length} bytes`);
  const mapped = ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
  if (mapped) return [...ip.subarray(12)].join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i]! << 8) | ip[i + 1]!);
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number): string => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}

/** encoding/json of a *url.URL (Go 1.19+ field set). */
export interface GoUrl {
  Scheme: string;
  Opaque: string;
  User: null;
  Host: string;
  Path: string;
  RawPath: string;
  OmitHost: boolean;
  ForceQuery: boolean;
  RawQuery: string;
  Fragment: string;
  RawFragment: string;
}

// Characters Go's url package leaves as they are in a path (shouldEscape(c, encodePath) is false).
const PATH = /^[A-Za-z0-9\-._~$&+,/:;=@]*$/;
// In a query Go keeps the raw text; a fragment is unescaped and re-escaped, so only characters it keeps.
const QUERY = /^[A-Za-z0-9\-._~$&+,/:;=@?!'()*]*$/;
const FRAGMENT = /^[A-Za-z0-9\-._~$&+,/:;=@?!()*]*$/;
// Dot-separated non-empty labels (every Go release's SAN host check accepts these), an optional port.
const HOST = /^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*(?::\d+)?)?$/;

/** url.Parse for the spellings above; refuses anything else. */
export function parseGoUrl(raw: string): GoUrl {
  const refuse = (): never => {
    throw new NotReproducedError('crypto.x509', `the URI ${JSON.stringify(raw)} is not reproduced exactly`);
  };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(raw);
  if (!m) return refuse();
  const url: GoUrl = {
    Scheme: m[1]!.toLowerCase(),
    Opaque: '',
    User: null,
    Host: '',
    Path: '',
    RawPath: '',
    OmitHost: false,
    ForceQuery: false,
    RawQuery: '',
    Fragment: '',
    RawFragment: '',
  };
  let rest = m[2]!;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    const fragment = rest.slice(hash + 1);
    if (!FRAGMENT.test(fragment)) return refuse();
    url.Fragment = fragment;
    rest = rest.slice(0, hash);
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    const query = rest.slice(q + 1);
    if (!QUERY.test(query)) return refuse();
    if (query === '') url.ForceQuery = true;
    url.RawQuery = query;
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith('/')) {
    // scheme:opaque (urn:…), kept as written.
    if (rest === '' || !PATH.test(rest)) return refuse();
    url.Opaque = rest;
    return url;
  }
  if (rest.startsWith('//')) {
    const authority = rest.slice(2);
    const slash = authority.indexOf('/');
    const host = slash < 0 ? authority : authority.slice(0, slash);
    const path = slash < 0 ? '' : authority.slice(slash);
    if (!HOST.test(host) || !PATH.test(path)) return refuse();
    url.Host = host;
    url.Path = path;
    return url;
  }
  if (!PATH.test(rest)) return refuse();
  url.OmitHost = true;
  url.Path = rest;
  return url;
}

/** url.URL.String() for what parseGoUrl accepts. */
export function goUrlString(u: GoUrl): string {
  let s = '';
  if (u.Scheme !== '') s += `${u.Scheme}:`;
  if (u.Opaque !== '') s += u.Opaque;
  else {
    if (u.Scheme !== '' || u.Host !== '') {
      if (!(u.OmitHost && u.Host === '')) {
        if (u.Host !== '' || u.Path !== '') s += '//';
        s += u.Host;
      }
    }
    s += u.Path;
  }
  if (u.ForceQuery || u.RawQuery !== '') s += `?${u.RawQuery}`;
  if (u.Fragment !== '') s += `#${u.Fragment}`;
  return s;
}
