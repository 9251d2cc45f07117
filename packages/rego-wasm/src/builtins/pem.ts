// Go's encoding/pem.Decode and encoding/base64.StdEncoding.DecodeString, which OPA's crypto builtins read
// their inputs through: what they skip (text around blocks, line breaks in base64) and what they refuse
// decides whether OPA gets a value or an error. Text is handled as bytes (Go strings are UTF-8 bytes),
// held here as latin1 strings.

export interface PemBlock {
  readonly type: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly bytes: Uint8Array;
}

/** A Rego string as Go sees it: its UTF-8 bytes, one char per byte. */
export const goBytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
export const bytesOf = (latin1: string): Uint8Array => new Uint8Array(Buffer.from(latin1, 'latin1'));

/** base64.StdEncoding.DecodeString: padding required, CR and LF skipped; undefined on illegal data. */
export function stdBase64(text: string): Uint8Array | undefined {
  const t = text.replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return undefined;
  if (t.replace(/=+$/, '').length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/** getLine: up to the next LF, trailing spaces, tabs and CRs trimmed. */
function getLine(data: string): [string, string] {
  const i = data.indexOf('\n');
  const [line, rest] = i < 0 ? [data, ''] : [data.slice(0, i), data.slice(i + 1)];
  return [line.replace(/[ \t\r]+$/, ''), rest];
}

const PEM_START = '\n-----BEGIN ';
const PEM_END = '\n-----END ';
const PEM_END_OF_LINE = '-----';

/** pem.Decode: the next block and the rest, or undefined (and the input back) when there is none. */
export function pemDecode(data: string): { block: PemBlock; rest: string } | undefined {
  let rest: string;
  if (data.startsWith(PEM_START.slice(1))) rest = data.slice(PEM_START.length - 1);
  else {
    const i = data.indexOf(PEM_START);
    if (i < 0) return undefined;
    rest = data.slice(i + PEM_START.length);
  }
  const retry = (after: string): { block: PemBlock; rest: string } | undefined => pemDecode(after);
  const [typeLineRaw, afterType] = getLine(rest);
  if (!typeLineRaw.endsWith(PEM_END_OF_LINE)) return retry(afterType);
  const type = typeLineRaw.slice(0, -PEM_END_OF_LINE.length);
  rest = afterType;
  const headers = new Map<string, string>();
  for (;;) {
    if (rest.length === 0) return undefined;
    const [line, next] = getLine(rest);
    const colon = line.indexOf(':');
    if (colon < 0) break;
    headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    rest = next;
  }
  let endIndex: number;
  let endTrailerIndex: number;
  if (headers.size === 0 && rest.startsWith(PEM_END.slice(1))) {
    endIndex = 0;
    endTrailerIndex = PEM_END.length - 1;
  } else {
    endIndex = rest.indexOf(PEM_END);
    endTrailerIndex = endIndex + PEM_END.length;
  }
  if (endIndex < 0) return retry(rest);
  let endTrailer = rest.slice(endTrailerIndex);
  const endTrailerLen = type.length + PEM_END_OF_LINE.length;
  if (endTrailer.length < endTrailerLen) return retry(rest);
  const restOfEndLine = endTrailer.slice(endTrailerLen);
  endTrailer = endTrailer.slice(0, endTrailerLen);
  if (!endTrailer.startsWith(type) || !endTrailer.endsWith(PEM_END_OF_LINE)) return retry(rest);
  if (getLine(restOfEndLine)[0].length !== 0) return retry(rest);
  const bytes = stdBase64(rest.slice(0, endIndex).replace(/[ \t]/g, ''));
  if (!bytes) return retry(rest);
  const [, after] = getLine(rest.slice(endIndex + PEM_END.length - 1));
  return { block: { type, headers, bytes }, rest: after };
}
