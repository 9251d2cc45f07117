// base64, base64url, hex and URL-query encodings with Go's rules (strict decoding, QueryEscape's set).
import { BuiltinArgError, list, obj, str } from './args.js';

function decodeBase64(builtin: string, text: string, url: boolean): string {
  const alphabet = url ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!alphabet.test(text)) throw new BuiltinArgError(builtin, 'illegal base64 data');
  const unpadded = text.replace(/=+$/, '');
  // std encoding requires padding; base64url.decode accepts either form, as OPA does.
  if (!url && text.length % 4 !== 0) throw new BuiltinArgError(builtin, 'illegal base64 data (length)');
  if (unpadded.length % 4 === 1) throw new BuiltinArgError(builtin, 'illegal base64 data (length)');
  return Buffer.from(unpadded, url ? 'base64url' : 'base64').toString('utf8');
}

/** Go's encoding/json escapes <, >, & and the JS line separators. */
export function goJsonMarshal(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** url.QueryEscape: everything but [A-Za-z0-9-_.~] is %XX (uppercase), space is '+'. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function queryUnescape(s: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(s))
    throw new BuiltinArgError('urlquery.decode', `invalid escape in ${JSON.stringify(s)}`);
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export const encodingBuiltins = {
  'hex.encode': (s: unknown) => Buffer.from(str('hex.encode', s), 'utf8').toString('hex'),
  'hex.decode': (s: unknown) => {
    const text = str('hex.decode', s);
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new BuiltinArgError('hex.decode', 'invalid hex');
    // OPA keeps invalid UTF-8 bytes in its string; JS cannot, so such input is an error, not altered text.
    return strictUtf8.decode(Buffer.from(text, 'hex'));
  },
  'base64.encode': (s: unknown) => Buffer.from(str('base64.encode', s), 'utf8').toString('base64'),
  'base64.decode': (s: unknown) => decodeBase64('base64.decode', str('base64.decode', s), false),
  'base64.is_valid': (s: unknown) => {
    try {
      decodeBase64('base64.is_valid', str('base64.is_valid', s), false);
      return true;
    } catch {
      return false;
    }
  },
  'base64url.encode': (s: unknown) => {
    const raw = Buffer.from(str('base64url.encode', s), 'utf8').toString('base64url');
    return raw + '='.repeat((4 - (raw.length % 4)) % 4);
  },
  'base64url.encode_no_pad': (s: unknown) =>
    Buffer.from(str('base64url.encode_no_pad', s), 'utf8').toString('base64url'),
  'base64url.decode': (s: unknown) => decodeBase64('base64url.decode', str('base64url.decode', s), true),
  'urlquery.encode': (s: unknown) => queryEscape(str('urlquery.encode', s)),
  'urlquery.decode': (s: unknown) => queryUnescape(str('urlquery.decode', s)),
  'urlquery.encode_object': (o: unknown) => {
    const entries = Object.entries(obj('urlquery.encode_object', o)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const parts: string[] = [];
    for (const [k, v] of entries) {
      const values =
        typeof v === 'string' ? [v] : list('urlquery.encode_object', v).map((x) => str('urlquery.encode_object', x));
      for (const x of values) parts.push(`${queryEscape(k)}=${queryEscape(x)}`);
    }
    return parts.join('&');
  },
  'urlquery.decode_object': (s: unknown) => {
    const out: Record<string, string[]> = {};
    for (const pair of str('urlquery.decode_object', s).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const k = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
      const v = eq < 0 ? '' : queryUnescape(pair.slice(eq + 1));
      (out[k] ??= []).push(v);
    }
    return out;
  },
};
