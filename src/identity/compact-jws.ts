// Strict, unverified decoding of a compact JWS, done before any key is touched: it finds the issuer (to pick
// the provider) and refuses malformed input early with a precise failure.
import { TokenRejectedError, failureDescriptions } from './errors.js';
import { DuplicateKeyError, JsonTooDeepError, parseJsonRejectingDuplicates } from './strict-json.js';

/**
 * Largest token accepted, in characters. Real tokens with many group claims reach a few KiB; anything far
 * beyond is refused before base64 decoding or JSON parsing spends work on it.
 */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** True when the third segment is empty (an unsigned token, e.g. `alg: none`). */
  unsigned: boolean;
}

export function decodeCompactJws(token: string): DecodedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw malformed(failureDescriptions.tooLarge, 'too_large');
  const segments = token.split('.');
  if (segments.length !== 3) throw malformed(failureDescriptions.malformed, 'segments');
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  if (!isBase64url(signatureSegment)) throw malformed(failureDescriptions.malformed, 'signature_encoding');
  return {
    header: decodeJsonObject(headerSegment, 'header'),
    payload: decodeJsonObject(payloadSegment, 'payload'),
    unsigned: signatureSegment.length === 0,
  };
}

function isBase64url(segment: string): boolean {
  // A length of 4n+1 cannot come from any byte string.
  return BASE64URL.test(segment) && segment.length % 4 !== 1;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeJsonObject(segment: string, part: 'header' | 'payload'): Record<string, unknown> {
  if (segment.length === 0 || !isBase64url(segment)) throw malformed(failureDescriptions.malformed, `${part}_encoding`);
  let text: string;
  try {
    text = utf8.decode(Buffer.from(segment, 'base64url'));
  } catch {
    throw malformed(failureDescriptions.malformed, `${part}_utf8`);
  }
  let value: unknown;
  try {
    value = parseJsonRejectingDuplicates(text);
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw malformed(failureDescriptions.duplicateKey, `${part}_duplicate_key`);
    if (error instanceof JsonTooDeepError) throw malformed(failureDescriptions.malformed, `${part}_too_deep`);
    throw malformed(failureDescriptions.malformed, `${part}_json`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(failureDescriptions.malformed, `${part}_not_object`);
  }
  return value as Record<string, unknown>;
}

function malformed(description: string, detail: string): TokenRejectedError {
  return new TokenRejectedError('malformed', description, detail);
}
