// Plain outcome data -> Envoy's CheckResponse (object form for proto-loader). Every status, code and
// challenge comes from the reasons table.
import { bearerChallenge, toHeaderValueOption, type HeaderEntry, type HeaderValueOptionMessage } from './headers.js';
import { GrpcCode, reasonEntry, type DenialReason } from './reasons.js';
import { toStruct, type StructMessage } from './struct.js';

export interface CheckResponseMessage {
  status: { code: number; message: string };
  okResponse?: {
    headers: HeaderValueOptionMessage[];
    headersToRemove: string[];
    responseHeadersToAdd: HeaderValueOptionMessage[];
    queryParametersToSet: Array<{ key: string; value: string }>;
    queryParametersToRemove: string[];
  };
  deniedResponse?: {
    status: { code: number };
    headers: HeaderValueOptionMessage[];
    body: string;
  };
  dynamicMetadata: StructMessage;
}

/**
 * A check that ends in a gRPC error status instead of a CheckResponse (`policy.onError` / `onUndefined:
 * error`), as OPA-Envoy fails the call on an evaluation error or an undefined decision: Envoy then applies
 * its own `failure_mode_allow` and `status_on_error`.
 */
export interface CheckCallError {
  grpcError: { code: number; message: string };
}

export type CheckAnswer = CheckResponseMessage | CheckCallError;

export function isCallError(answer: CheckAnswer): answer is CheckCallError {
  return 'grpcError' in answer;
}

/** UNKNOWN, what a Go gRPC server answers for a plain error; the message names no internals. */
export function buildCallError(reason: DenialReason, decisionId: string): CheckCallError {
  return { grpcError: { code: GrpcCode.UNKNOWN, message: `${reason} (decision_id ${decisionId})` } };
}

export interface AllowOutcome {
  decisionId: string;
  /** to the upstream request: forwarded claims, then the policy's headers */
  requestHeaders: HeaderEntry[];
  requestHeadersToRemove: string[];
  /** to the downstream response: rate-limit headers and the policy's */
  responseHeaders: HeaderEntry[];
  queryParametersToSet: Array<{ key: string; value: string }>;
  queryParametersToRemove: string[];
  dynamicMetadata: Record<string, unknown>;
}

export interface DenyOutcome {
  decisionId: string;
  reason: DenialReason;
  /** error_description of the www-authenticate challenge (401s); never holds a token */
  description?: string;
  /** scope attribute of an insufficient_scope challenge (space-separated) */
  scope?: string;
  headers: HeaderEntry[];
  /** the policy's http_status / body override the table's */
  httpStatus?: number;
  body?: string;
  dynamicMetadata: Record<string, unknown>;
}

export function buildAllowResponse(outcome: AllowOutcome): CheckResponseMessage {
  return {
    status: { code: reasonEntry('allowed').grpcCode, message: '' },
    okResponse: {
      headers: outcome.requestHeaders.map(toHeaderValueOption),
      headersToRemove: outcome.requestHeadersToRemove,
      responseHeadersToAdd: outcome.responseHeaders.map(toHeaderValueOption),
      queryParametersToSet: outcome.queryParametersToSet,
      queryParametersToRemove: outcome.queryParametersToRemove,
    },
    dynamicMetadata: metadataStruct(outcome.dynamicMetadata, outcome.decisionId),
  };
}

export function buildDenyResponse(outcome: DenyOutcome): CheckResponseMessage {
  const entry = reasonEntry(outcome.reason);
  const headers: HeaderEntry[] = [...outcome.headers];
  const hasContentType = headers.some((h) => h.name === 'content-type');
  let body = outcome.body;
  if (body === undefined) {
    body = JSON.stringify({ error: entry.error, decision_id: outcome.decisionId });
    if (!hasContentType) headers.push({ name: 'content-type', value: 'application/json', append: false });
  } else if (!hasContentType) {
    headers.push({ name: 'content-type', value: 'text/plain; charset=utf-8', append: false });
  }
  if (entry.challenge !== 'none') {
    headers.push({
      name: 'www-authenticate',
      value: bearerChallenge(entry.challenge, outcome.description, outcome.scope),
      append: false,
    });
  }
  return {
    // The reason's code even when the policy chose the HTTP status: OPA-Envoy answers every policy denial
    // PERMISSION_DENIED, and Envoy reads only OK / not OK from it (the client gets deniedResponse.status).
    status: { code: entry.grpcCode, message: outcome.reason },
    deniedResponse: {
      status: { code: outcome.httpStatus ?? entry.httpStatus },
      headers: headers.map(toHeaderValueOption),
      body,
    },
    dynamicMetadata: metadataStruct(outcome.dynamicMetadata, outcome.decisionId),
  };
}

/**
 * The policy's dynamic metadata with the decision id, as a Struct. Not `{ ...metadata, decision_id }`: a
 * property added to an object spread's copy of a non-empty object makes a new hidden class on every check in
 * V8 (see WITH_TRAILERS in src/server/grpcTransport.ts); set on the Struct's own fields, the id overrides a
 * `decision_id` of the policy's in place, as the spread did.
 */
function metadataStruct(metadata: Readonly<Record<string, unknown>>, decisionId: string): StructMessage {
  const struct = toStruct(metadata);
  struct.fields['decision_id'] = { stringValue: decisionId };
  return struct;
}
