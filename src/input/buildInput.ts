// The policy input README.md documents (OPA-Envoy compatible, plus `identity` and `body_error`), built from plain
// data. Every documented key is always present, so no request can make a part of the input undefined.
import type { OpenApiInput } from '../contract/types.js';
import type { Identity } from '../identity/types.js';
import type { DecodedAttributes } from './checkRequest.js';
import type { HttpRequestView } from './types.js';
import { attributesToProtoJson } from './attributes.js';
import { parseBody, type BodyError } from './parseBody.js';
import { parsePathAndQuery } from './parsePath.js';
import type { GrpcBodyDecoder } from './protoDescriptor.js';

export const INPUT_VERSION = Object.freeze({ ext_authz: 'v3', encoding: 'protojson' });

export interface PolicyInput {
  attributes: Record<string, unknown>;
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
  parsed_body: unknown;
  truncated_body: boolean;
  /** why `parsed_body` is null although a body was sent; null otherwise */
  body_error: BodyError | null;
  version: typeof INPUT_VERSION;
  source_principal?: string;
  identity: Identity | null;
  /** the matched OpenAPI operation; null when none matched or `openapi` is not configured */
  openapi: OpenApiInput | null;
}

export interface InputOptions {
  /** `input.skipRequestBodyParse`: leave `parsed_body` null (body_error "skipped") */
  skipRequestBodyParse?: boolean;
  /** the OpenAPI operation the contract stage matched (`input.openapi`); null when none */
  openapi?: OpenApiInput | null;
  /** `input.protoDescriptor`, loaded: decodes gRPC request bodies */
  grpcBody?: GrpcBodyDecoder | undefined;
}

/** `invalid`: the request cannot become an input the policy could judge (answered 400). */
export type InputOutcome = { kind: 'input'; input: PolicyInput } | { kind: 'invalid'; detail: string };

export function buildPolicyInput(
  attributes: DecodedAttributes | undefined,
  request: HttpRequestView,
  identity: Identity | null,
  options: InputOptions = {},
): InputOutcome {
  const pathAndQuery = parsePathAndQuery(request.path);
  if (!pathAndQuery.ok) return { kind: 'invalid', detail: pathAndQuery.detail };
  const protoJson = attributesToProtoJson(attributes);
  if (!protoJson.ok) return { kind: 'invalid', detail: protoJson.detail };
  const http = attributes?.request?.http;
  const body = parseBody({
    contentType: request.headers['content-type'],
    contentLength: request.headers['content-length'],
    partialBody: request.headers['x-envoy-auth-partial-body'],
    body: http?.body,
    rawBody: http?.rawBody !== undefined ? Buffer.from(http.rawBody, 'base64') : undefined,
    skip: options.skipRequestBodyParse ?? false,
    grpc: options.grpcBody,
    parsedPath: pathAndQuery.parsedPath,
  });
  const input: PolicyInput = {
    attributes: protoJson.value,
    parsed_path: pathAndQuery.parsedPath,
    parsed_query: pathAndQuery.parsedQuery,
    parsed_body: body.parsedBody,
    truncated_body: body.truncatedBody,
    body_error: body.bodyError,
    version: INPUT_VERSION,
    identity,
    openapi: options.openapi ?? null,
  };
  const principal = attributes?.source?.principal;
  if (principal !== undefined && principal !== '') input.source_principal = principal;
  return { kind: 'input', input };
}
