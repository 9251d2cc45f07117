// `input.parsed_body` for the three body encodings OPA-Envoy understands. A body that does not parse is
// `null` (the policy decides what that means); it never fails the check.
import { parseQueryString } from './parseQuery.js';

export interface BodyFacts {
  parsedBody: unknown;
  truncatedBody: boolean;
}

export interface BodySource {
  contentType: string | undefined;
  contentLength: string | undefined;
  /** `body` as Envoy sent it (UTF-8 text) */
  body: string | undefined;
  /** `raw_body` bytes, preferred when present because they are exact */
  rawBody: Buffer | undefined;
}

export function parseBody(source: BodySource): BodyFacts {
  const bytes = source.rawBody ?? (source.body !== undefined ? Buffer.from(source.body, 'utf8') : undefined);
  if (bytes === undefined || bytes.length === 0) return { parsedBody: null, truncatedBody: false };
  const declaredLength = source.contentLength === undefined ? NaN : Number(source.contentLength);
  // Envoy forwards at most max_request_bytes; a shorter body than declared is a prefix and cannot be
  // parsed reliably (a JSON prefix may even parse into something different).
  if (Number.isFinite(declaredLength) && declaredLength > bytes.length) {
    return { parsedBody: null, truncatedBody: true };
  }
  return { parsedBody: parseByContentType(source.contentType ?? '', bytes), truncatedBody: false };
}

function parseByContentType(contentType: string, bytes: Buffer): unknown {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return parseJson(bytes.toString('utf8'));
  if (mediaType === 'application/x-www-form-urlencoded') return parseQueryString(bytes.toString('utf8'));
  if (mediaType === 'multipart/form-data') {
    const boundary = mediaTypeParameter(contentType, 'boundary');
    return boundary === undefined ? null : parseMultipart(bytes, boundary);
  }
  return null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function mediaTypeParameter(headerValue: string, name: string): string | undefined {
  for (const part of headerValue.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim().toLowerCase() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
  }
  return undefined;
}

/**
 * `{field: [values]}` of a multipart/form-data body; a part whose own content-type is JSON is parsed,
 * any other part (files included) is its text. A body without a closing boundary is malformed -> null.
 */
export function parseMultipart(bytes: Buffer, boundary: string): Record<string, unknown[]> | null {
  const text = bytes.toString('latin1');
  const delimiter = `--${boundary}`;
  const sections = text.split(delimiter);
  if (sections.length < 3 || !(sections[sections.length - 1] ?? '').startsWith('--')) return null;
  const fields: Record<string, unknown[]> = {};
  for (const section of sections.slice(1, -1)) {
    const part = parsePart(section);
    if (part === null) return null;
    (fields[part.name] ??= []).push(part.value);
  }
  return fields;
}

function parsePart(section: string): { name: string; value: unknown } | null {
  const body = section.startsWith('\r\n') ? section.slice(2) : section;
  const headerEnd = body.indexOf('\r\n\r\n');
  if (headerEnd === -1) return null;
  const headers = new Map<string, string>();
  for (const line of body.slice(0, headerEnd).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition');
  const name = disposition === undefined ? undefined : mediaTypeParameter(disposition, 'name');
  if (name === undefined) return null;
  const content = body.slice(headerEnd + 4).replace(/\r\n$/, '');
  const utf8 = Buffer.from(content, 'latin1').toString('utf8');
  const partType = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const value = partType === 'application/json' || partType.endsWith('+json') ? parseJson(utf8) : utf8;
  return { name: Buffer.from(name, 'latin1').toString('utf8'), value };
}
