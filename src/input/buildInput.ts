// The policy input of DESIGN.md (OPA-Envoy compatible, plus `identity`), built from plain data.
import type { Identity } from '../identity/types.js';
import type { DecodedAttributes } from './checkRequest.js';
import type { HttpRequestView } from './types.js';
import { attributesToProtoJson } from './attributes.js';
import { parseBody } from './parseBody.js';
import { parsePath } from './parsePath.js';
import { parseQuery } from './parseQuery.js';

export const INPUT_VERSION = Object.freeze({ ext_authz: 'v3', encoding: 'protojson' });

export interface PolicyInput {
  attributes: Record<string, unknown>;
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
  parsed_body: unknown;
  truncated_body: boolean;
  version: typeof INPUT_VERSION;
  source_principal?: string;
  identity: Identity | null;
}

export function buildPolicyInput(
  attributes: DecodedAttributes | undefined,
  request: HttpRequestView,
  identity: Identity | null,
): PolicyInput {
  const http = attributes?.request?.http;
  const body = parseBody({
    contentType: request.headers['content-type'],
    contentLength: request.headers['content-length'],
    body: http?.body,
    rawBody: http?.rawBody !== undefined ? Buffer.from(http.rawBody, 'base64') : undefined,
  });
  const input: PolicyInput = {
    attributes: attributesToProtoJson(attributes),
    parsed_path: parsePath(request.path),
    parsed_query: parseQuery(request.path),
    parsed_body: body.parsedBody,
    truncated_body: body.truncatedBody,
    version: INPUT_VERSION,
    identity,
  };
  const principal = attributes?.source?.principal;
  if (principal !== undefined && principal !== '') input.source_principal = principal;
  return input;
}
