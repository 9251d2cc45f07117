// multipart/form-data as Go's mime/multipart reads it for OPA-Envoy: `{name: [values]}`, a part whose
// content-type contains application/json is parsed, any other part (files included) is its text. Line
// breaks are CRLF, or LF when the first boundary line ends in LF; a part without a form name (no
// `form-data` disposition or no `name`) is skipped; `Content-Transfer-Encoding: quoted-printable` is
// decoded. Work is bounded by MAX_MULTIPART_PARTS and the JSON depth limit.
import { parseBoundedJson } from './exactJson.js';
import { MAX_MULTIPART_PARTS } from './limits.js';
import { mediaTypeParameters } from './mediaType.js';

export type MultipartError = 'invalid_multipart' | 'too_many_parts' | 'too_deep' | 'invalid_json';

export type MultipartOutcome = { ok: true; value: Record<string, unknown[]> } | { ok: false; error: MultipartError };

interface Cursor {
  /** the body as latin1, one character per byte */
  text: string;
  pos: number;
  nl: string;
}

export function parseMultipart(bytes: Buffer, boundary: string, maxParts = MAX_MULTIPART_PARTS): MultipartOutcome {
  if (boundary === '') return { ok: false, error: 'invalid_multipart' };
  const dash = `--${Buffer.from(boundary, 'utf8').toString('latin1')}`;
  const cursor: Cursor = { text: bytes.toString('latin1'), pos: 0, nl: '\r\n' };
  const fields: Record<string, unknown[]> = Object.create(null) as Record<string, unknown[]>;
  let partsRead = 0;
  let expectNewPart = false;
  for (;;) {
    const line = readLine(cursor);
    if (line === undefined) return { ok: false, error: 'invalid_multipart' };
    if (isDelimiterLine(line, dash, cursor, partsRead)) {
      if (++partsRead > maxParts) return { ok: false, error: 'too_many_parts' };
      const part = readPart(cursor, dash);
      if (part === undefined) return { ok: false, error: 'invalid_multipart' };
      if (part.name === '') continue;
      const value = partValue(part);
      if (!value.ok) return value;
      (fields[part.name] ??= []).push(value.value);
      continue;
    }
    if (isFinalLine(line, dash, cursor.nl)) return { ok: true, value: fields };
    // Before the first part any line is preamble; between parts only a blank line may appear.
    if (expectNewPart || (partsRead > 0 && line !== cursor.nl)) return { ok: false, error: 'invalid_multipart' };
    if (partsRead > 0) expectNewPart = true;
  }
}

/** The next line including its LF, or the rest of the text; undefined at the end. */
function readLine(cursor: Cursor): string | undefined {
  if (cursor.pos >= cursor.text.length) return undefined;
  const lf = cursor.text.indexOf('\n', cursor.pos);
  const end = lf === -1 ? cursor.text.length : lf + 1;
  const line = cursor.text.slice(cursor.pos, end);
  cursor.pos = end;
  return line;
}

function skipSpaceAndTab(text: string): string {
  let i = 0;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return text.slice(i);
}

function isDelimiterLine(line: string, dash: string, cursor: Cursor, partsRead: number): boolean {
  if (!line.startsWith(dash)) return false;
  const rest = skipSpaceAndTab(line.slice(dash.length));
  // The first boundary line decides the line break of the whole body, as Go's reader does.
  if (partsRead === 0 && rest === '\n') cursor.nl = '\n';
  return rest === cursor.nl;
}

function isFinalLine(line: string, dash: string, nl: string): boolean {
  if (!line.startsWith(`${dash}--`)) return false;
  const rest = skipSpaceAndTab(line.slice(dash.length + 2));
  return rest === '' || rest === nl;
}

interface RawPart {
  name: string;
  headers: Map<string, string>;
  /** latin1, one character per byte */
  content: string;
}

function readPart(cursor: Cursor, dash: string): RawPart | undefined {
  const headers = readHeaders(cursor);
  if (headers === undefined) return undefined;
  const end = findBoundary(cursor.text, cursor.pos, cursor.nl + dash);
  if (end === -1) return undefined;
  const content = cursor.text.slice(cursor.pos, end);
  cursor.pos = end + cursor.nl.length;
  return { name: formName(headers.get('content-disposition')), headers, content };
}

/** MIME headers up to the blank line; folded lines continue the previous header. */
function readHeaders(cursor: Cursor): Map<string, string> | undefined {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (;;) {
    const line = readLine(cursor);
    if (line === undefined) return undefined;
    const trimmed = line.replace(/\r?\n$/, '');
    if (trimmed === '') return headers;
    if ((trimmed.startsWith(' ') || trimmed.startsWith('\t')) && last !== undefined) {
      headers.set(last, `${headers.get(last) ?? ''} ${trimmed.trim()}`);
      continue;
    }
    const colon = trimmed.indexOf(':');
    const key = colon > 0 ? trimmed.slice(0, colon) : '';
    if (key === '' || /[\s]/.test(key)) return undefined;
    last = key.toLowerCase();
    // A repeated header keeps its first value, as Go's Header.Get reads it.
    if (!headers.has(last)) headers.set(last, trimmed.slice(colon + 1).trim());
  }
}

/**
 * The offset of the line break before the next boundary. A boundary counts only when followed by
 * whitespace, a line break or `--` (the same test as Go's reader), so content may contain the boundary text.
 */
function findBoundary(text: string, from: number, delimiter: string): number {
  let at = text.indexOf(delimiter, from);
  while (at !== -1) {
    const next = text[at + delimiter.length];
    if (next === undefined || next === ' ' || next === '\t' || next === '\r' || next === '\n') return at;
    if (next === '-' && text[at + delimiter.length + 1] === '-') return at;
    at = text.indexOf(delimiter, at + 1);
  }
  return -1;
}

/** The `name` of a `form-data` disposition, or '' (Go's Part.FormName). */
function formName(disposition: string | undefined): string {
  if (disposition === undefined) return '';
  const parsed = mediaTypeParameters(disposition);
  if (parsed === undefined || parsed.type !== 'form-data') return '';
  return Buffer.from(parsed.params.get('name') ?? '', 'latin1').toString('utf8');
}

function partValue(part: RawPart): { ok: true; value: unknown } | { ok: false; error: MultipartError } {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const bytes =
    encoding === 'quoted-printable' ? decodeQuotedPrintable(part.content) : Buffer.from(part.content, 'latin1');
  const text = bytes.toString('utf8');
  if (!(part.headers.get('content-type') ?? '').includes('application/json')) return { ok: true, value: text };
  const parsed = parseBoundedJson(text);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, error: parsed.error };
}

/**
 * RFC 2045 quoted-printable: `=XX` is a byte, `=` at a line end is a soft break, trailing spaces of a line
 * are dropped, hard line breaks are kept; an `=` that starts neither is kept literally (Go's reader is as lenient).
 */
export function decodeQuotedPrintable(latin1: string): Buffer {
  const out: number[] = [];
  const lines = latin1.split('\n');
  lines.forEach((rawLine, index) => {
    const hadBreak = index < lines.length - 1;
    const hadCr = rawLine.endsWith('\r');
    const line = rawLine.replace(/[ \t\r]+$/, '');
    let soft = false;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 0x3d) {
        if (i === line.length - 1) {
          soft = true;
          break;
        }
        const hex = line.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          out.push(Number.parseInt(hex, 16));
          i += 2;
          continue;
        }
      }
      out.push(c & 0xff);
    }
    // A hard line break stays as it was sent (CRLF or LF).
    if (hadBreak && !soft) out.push(...(hadCr ? [0x0d, 0x0a] : [0x0a]));
  });
  return Buffer.from(out);
}
