// base64, base64url, hex and URL-query encodings with Go's rules (strict decoding, QueryEscape's set).
import { BuiltinArgError, list, obj, str } from './args.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Go's base64.StdEncoding / URLEncoding DecodeString: CR and LF are skipped anywhere, then whole quanta of
 * four, the last one padded ("YQ==", "YWI="); anything else is an error. The bytes must be UTF-8: OPA keeps
 * other bytes raw in its string, which a JS string cannot hold, so that is an error here rather than text
 * with U+FFFD in it.
 */
function decodeBase64(builtin: string, text: string, url: boolean): string {
  return strictUtf8.decode(Buffer.from(base64Text(builtin, text, url), url ? 'base64url' : 'base64'));
}

/** The text Go decodes, without its CR and LF, or an error where Go's decoder has one. */
function base64Text(builtin: string, text: string, url: boolean): string {
  const stripped = text.replace(/[\r\n]/g, '');
  const valid = url
    ? /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/
    : /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  if (!valid.test(stripped)) throw new BuiltinArgError(builtin, 'illegal base64 data');
  return stripped;
}

/**
 * The bytes of base64url text as OPA's base64url.decode (and io.jwt.decode, which calls it) reads them: a text
 * not ending in '=' gets the padding its length asks for (RFC 7515 appendix C; a length of 4n+1 is an error),
 * then Go decodes it as padded base64url.
 */
export function base64UrlBytes(builtin: string, text: string): Buffer {
  const rest = text.length % 4;
  if (!text.endsWith('=') && rest === 1) throw new BuiltinArgError(builtin, 'illegal base64url string');
  const padded = text.endsWith('=') ? text : text + '='.repeat((4 - rest) % 4);
  return Buffer.from(base64Text(builtin, padded, true), 'base64url');
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
      // Go's decoder succeeds on any bytes: UTF-8 or not, the text is valid base64.
      base64Text('base64.is_valid', str('base64.is_valid', s), false);
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
  'base64url.decode': (s: unknown) => strictUtf8.decode(base64UrlBytes('base64url.decode', str('base64url.decode', s))),
  'urlquery.encode': (s: unknown) => queryEscape(str('urlquery.encode', s)),
  'urlquery.decode': (s: unknown) => queryUnescape(str('urlquery.decode', s)),
  'urlquery.encode_object': (o: unknown) => {
    // url.Values.Encode sorts the keys in Go's byte order (UTF-8), not JavaScript's UTF-16 order.
    const entries = Object.entries(obj('urlquery.encode_object', o)).sort(([a], [b]) =>
      Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
    );
    const parts: string[] = [];
    for (const [k, v] of entries) {
      const values =
        typeof v === 'string' ? [v] : list('urlquery.encode_object', v).map((x) => str('urlquery.encode_object', x));
      for (const x of values) parts.push(`${queryEscape(k)}=${queryEscape(x)}`);
    }
    return parts.join('&');
  },
  'urlquery.decode_object': (s: unknown) => {
    // No prototype: a key "__proto__" is an ordinary key, as in OPA.
    const out = Object.create(null) as Record<string, string[]>;
    for (const pair of str('urlquery.decode_object', s).split('&')) {
      // Go's url.ParseQuery refuses ';' as a separator (an error, so OPA's builtin fails) since Go 1.17.
      if (pair.includes(';')) throw new BuiltinArgError('urlquery.decode_object', 'invalid semicolon separator');
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const k = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
      const v = eq < 0 ? '' : queryUnescape(pair.slice(eq + 1));
      (out[k] ??= []).push(v);
    }
    return out;
  },
};
