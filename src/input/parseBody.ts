// `input.parsed_body` for the three body encodings OPA-Envoy understands (JSON, form-urlencoded,
// multipart/form-data). A body that is cut, too large, too deep or malformed is `null`, and
// `input.body_error` says why; it never fails the check and never leaves the input undefined.
import { parseBoundedJson } from './exactJson.js';
import type { GrpcBodyError } from './grpcBody.js';
import { MAX_BODY_BYTES, MAX_FORM_FIELDS } from './limits.js';
import { mediaTypeParameters } from './mediaType.js';
import { parseMultipart } from './multipart.js';
import type { GrpcBodyDecoder } from './protoDescriptor.js';
import { parseQueryString } from './parseQuery.js';

/** The stable codes of `input.body_error` (policies/README.md lists them). */
export type BodyError =
  | 'truncated'
  | 'too_large'
  | 'too_deep'
  | 'too_many_fields'
  | 'too_many_parts'
  | 'invalid_json'
  | 'invalid_form'
  | 'invalid_multipart'
  | 'skipped'
  | GrpcBodyError;

export interface BodyFacts {
  parsedBody: unknown;
  truncatedBody: boolean;
  bodyError: BodyError | null;
}

export interface BodySource {
  contentType: string | undefined;
  contentLength: string | undefined;
  /** `x-envoy-auth-partial-body`, which Envoy sets when it forwarded only the first max_request_bytes */
  partialBody: string | undefined;
  /** `body` as Envoy sent it (UTF-8 text) */
  body: string | undefined;
  /** `raw_body` bytes, preferred when present because they are exact */
  rawBody: Buffer | undefined;
  /** `input.skipRequestBodyParse` */
  skip?: boolean;
  /** `input.protoDescriptor` loaded: gRPC bodies are decoded with it; left null without it */
  grpc?: GrpcBodyDecoder | undefined;
  /** `input.parsed_path`, which names the gRPC method */
  parsedPath?: readonly string[];
}

export function parseBody(source: BodySource): BodyFacts {
  const bytes = source.rawBody ?? (source.body !== undefined ? Buffer.from(source.body, 'utf8') : undefined);
  if (bytes === undefined || bytes.length === 0) return facts(null, null);
  if (source.skip === true) return facts(null, 'skipped');
  // The frame's length says whether the message is whole, so a partial body whose first message arrived
  // complete is decoded, as OPA-Envoy decodes it.
  // Matched as OPA-Envoy matches it (any application/grpc... type).
  if (source.grpc !== undefined && source.contentType?.toLowerCase().includes('application/grpc') === true) {
    if (source.rawBody === undefined) return facts(null, 'grpc_needs_raw_body');
    return source.grpc.decode(source.parsedPath ?? [], source.rawBody);
  }
  // A prefix cannot be parsed reliably: a cut form or JSON body may even parse into different values.
  if (source.partialBody?.trim().toLowerCase() === 'true') return { ...facts(null, 'truncated'), truncatedBody: true };
  const declaredLength = source.contentLength === undefined ? NaN : Number(source.contentLength);
  if (Number.isFinite(declaredLength) && declaredLength > bytes.length) {
    return { ...facts(null, 'truncated'), truncatedBody: true };
  }
  return parseByContentType(source.contentType ?? '', bytes);
}

function facts(parsedBody: unknown, bodyError: BodyError | null): BodyFacts {
  return { parsedBody, truncatedBody: false, bodyError };
}

function parseByContentType(contentType: string, bytes: Buffer): BodyFacts {
  // Matched as OPA-Envoy matches them (the header contains the media type), plus `+json` types.
  const lower = contentType.toLowerCase();
  const kind =
    lower.includes('application/json') || /^[^;]*\+json\s*(;|$)/.test(lower)
      ? 'json'
      : lower.includes('application/x-www-form-urlencoded')
        ? 'form'
        : lower.includes('multipart/form-data')
          ? 'multipart'
          : undefined;
  if (kind === undefined) return facts(null, null);
  if (bytes.length > MAX_BODY_BYTES) return facts(null, 'too_large');
  switch (kind) {
    case 'json': {
      const parsed = parseBoundedJson(bytes.toString('utf8'));
      return parsed.ok ? facts(parsed.value, null) : facts(null, parsed.error);
    }
    case 'form': {
      const parsed = parseQueryString(bytes.toString('utf8'), MAX_FORM_FIELDS);
      if (parsed.ok) return facts(parsed.values, null);
      return facts(null, parsed.error === 'too_many_pairs' ? 'too_many_fields' : 'invalid_form');
    }
    case 'multipart': {
      const boundary = mediaTypeParameters(contentType)?.params.get('boundary');
      if (boundary === undefined) return facts(null, 'invalid_multipart');
      const parsed = parseMultipart(bytes, boundary);
      return parsed.ok ? facts(parsed.value, null) : facts(null, parsed.error);
    }
  }
}
