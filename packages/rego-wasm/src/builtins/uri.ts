// uri.parse and uri.is_valid: Go's net/url Parse, as OPA calls it, ported byte for byte (control characters,
// the scheme, the authority with its userinfo and host rules, percent-escapes per component).
import { BuiltinArgError, str } from './args.js';

const NAME = 'uri.parse';

class UrlError extends Error {}
/** An input on which Go releases answer differently: refused rather than answered like one of them. */
class VersionDependent extends Error {}

type Mode = 'path' | 'host' | 'zone' | 'userPassword' | 'fragment';

const isAlnum = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

/** Go's shouldEscape for the modes Parse uses. */
function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === 'host' || mode === 'zone') && '!$&\'()*+,;=:[]<>"'.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    if (mode === 'path') return c === '?';
    if (mode === 'userPassword') return c === '@' || c === '/' || c === '?' || c === ':';
    if (mode === 'fragment') return false;
  }
  if (mode === 'fragment' && '!()*'.includes(c)) return false;
  return true;
}

/** Go's unescape on a byte string (one latin1 character per byte). */
function unescape(s: string, mode: Mode): string {
  let out = '';
  for (let i = 0; i < s.length;) {
    const c = s[i]!;
    if (c === '%') {
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) throw new UrlError('invalid URL escape');
      const v = parseInt(s.slice(i + 1, i + 3), 16);
      // In a host, %-encoding is only for non-ASCII bytes, except %25 (RFC 6874 zones).
      if (mode === 'host' && v < 0x80 && s.slice(i, i + 3) !== '%25') throw new UrlError('invalid URL escape');
      if (mode === 'zone' && s.slice(i, i + 3) !== '%25' && v !== 0x20 && shouldEscape(String.fromCharCode(v), 'host'))
        throw new UrlError('invalid URL escape');
      out += String.fromCharCode(v);
      i += 3;
      continue;
    }
    if ((mode === 'host' || mode === 'zone') && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode))
      throw new UrlError('invalid character in host name');
    out += c;
    i++;
  }
  return out;
}

/** Go's escape (for setPath's "is the default encoding the same" test). */
function escape(s: string, mode: Mode): string {
  let out = '';
  for (const c of s)
    out += shouldEscape(c, mode) ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c;
  return out;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function validUserinfo(s: string): boolean {
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(s);
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new UrlError("missing ']' in host");
    if (!validOptionalPort(host.slice(i + 1))) throw new UrlError('invalid port after host');
    const zone = host.slice(0, i).indexOf('%25');
    if (zone >= 0) {
      return (
        unescape(host.slice(0, zone), 'host') + unescape(host.slice(zone, i), 'zone') + unescape(host.slice(i), 'host')
      );
    }
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1 && !validOptionalPort(host.slice(i))) throw new UrlError('invalid port after host');
    // Go releases differ on colons outside brackets ("::1", "a:1:2"): newer ones reject them. Not a guess
    // either way: an error here (undefined), whichever Go built the OPA being matched.
    if (i !== -1 && host.indexOf(':') !== i) throw new VersionDependent();
  }
  return unescape(host, 'host');
}

function parseAuthority(authority: string): string {
  const i = authority.lastIndexOf('@');
  const host = parseHost(i < 0 ? authority : authority.slice(i + 1));
  if (i >= 0) {
    const userinfo = authority.slice(0, i);
    if (!validUserinfo(userinfo)) throw new UrlError('invalid userinfo');
    for (const part of userinfo.split(':').slice(0, 2)) unescape(part, 'userPassword');
  }
  return host;
}

interface GoUrl {
  scheme: string;
  opaque: string;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
  fragment: string;
}

/** Go's url.Parse over a byte string; throws UrlError where Go returns an error. */
function goParseUrl(raw: string): GoUrl {
  const hash = raw.indexOf('#');
  const [u, frag] = hash < 0 ? [raw, ''] : [raw.slice(0, hash), raw.slice(hash + 1)];
  const url: GoUrl = { scheme: '', opaque: '', host: '', path: '', rawPath: '', rawQuery: '', fragment: '' };
  if (/[\x00-\x1f\x7f]/.test(u)) throw new UrlError('invalid control character in URL');
  if (u === '*') {
    url.path = '*';
  } else {
    let rest = u;
    // The scheme: a letter, then letters, digits, + - . up to the first ':'.
    const m = /^[A-Za-z][A-Za-z0-9+\-.]*:/.exec(u);
    if (u.startsWith(':')) throw new UrlError('missing protocol scheme');
    if (m) {
      url.scheme = m[0].slice(0, -1).toLowerCase();
      rest = u.slice(m[0].length);
    }
    if (rest.endsWith('?') && rest.split('?').length === 2) rest = rest.slice(0, -1);
    else {
      const q = rest.indexOf('?');
      if (q >= 0) {
        url.rawQuery = rest.slice(q + 1);
        rest = rest.slice(0, q);
      }
    }
    let opaque = false;
    if (!rest.startsWith('/')) {
      if (url.scheme !== '') {
        url.opaque = rest;
        opaque = true;
      } else if (rest.split('/')[0]!.includes(':'))
        throw new UrlError('first path segment in URL cannot contain colon');
    }
    if (!opaque) {
      if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
        let authority = rest.slice(2);
        rest = '';
        const slash = authority.indexOf('/');
        if (slash >= 0) {
          rest = authority.slice(slash);
          authority = authority.slice(0, slash);
        }
        url.host = parseAuthority(authority);
      }
      url.path = unescape(rest, 'path');
      url.rawPath = escape(url.path, 'path') === rest ? '' : rest;
    }
  }
  if (frag !== '') url.fragment = unescape(frag, 'fragment');
  return url;
}

function splitHostPort(hostPort: string): [string, string] {
  let host = hostPort;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return [host, port];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A byte string back to text; bytes that are not UTF-8 are an error (OPA keeps them raw, a JS string cannot). */
function text(bytes: string): string {
  return strictUtf8.decode(Buffer.from(bytes, 'latin1'));
}

function parseUri(s: unknown): Record<string, string> {
  let url: GoUrl;
  try {
    url = goParseUrl(Buffer.from(str(NAME, s), 'utf8').toString('latin1'));
  } catch (err) {
    if (err instanceof UrlError) throw new BuiltinArgError(NAME, err.message);
    if (err instanceof VersionDependent) throw new BuiltinArgError(NAME, 'colons outside brackets in the host');
    throw err;
  }
  const [hostname, port] = splitHostPort(url.host);
  const out: Record<string, string> = {};
  if (url.scheme !== '') out.scheme = text(url.scheme);
  if (hostname !== '') out.hostname = text(hostname);
  if (port !== '') out.port = port;
  if (url.path !== '') {
    out.path = text(url.path);
    out.raw_path = text(url.rawPath || url.path);
  }
  if (url.rawQuery !== '') out.raw_query = text(url.rawQuery);
  if (url.fragment !== '') out.fragment = text(url.fragment);
  return out;
}

export const uriBuiltins = {
  'uri.parse': parseUri,
  'uri.is_valid': (s: unknown) => {
    if (typeof s !== 'string' || s === '') return false;
    try {
      goParseUrl(Buffer.from(s, 'utf8').toString('latin1'));
      return true;
    } catch (err) {
      if (err instanceof UrlError) return false;
      if (err instanceof VersionDependent)
        throw new BuiltinArgError('uri.is_valid', 'colons outside brackets in the host');
      throw err;
    }
  },
};
