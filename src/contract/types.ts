// Plain data of the contract stage: settings in, one outcome per check out.
import type { Identity } from '../identity/types.js';
import type { HttpRequestView } from '../input/types.js';

export interface OpenApiSettings {
  specs: string[];
  /** enforce: an invalid request is answered 400; report: it is allowed and counted */
  mode: 'enforce' | 'report';
  /** allow: a request matching no operation passes (and is counted); deny: 404, or 405 when only the method differs */
  unknownOperations: 'allow' | 'deny';
  /** 403 insufficient_scope when a verified token lacks the operation's scopes */
  enforceScopes: boolean;
}

/** One alternative of an operation's `security`: scheme name -> scopes (as written in the document). */
export type SecurityRequirement = Record<string, string[]>;

/** `input.openapi` of a request that matched an operation. */
export interface OpenApiInput {
  operationId: string | null;
  tags: string[];
  /** path parameters deserialised and coerced to their schema types (`/pets/7` -> {petId: 7}) */
  pathParams: Record<string, unknown>;
  deprecated: boolean;
  security: SecurityRequirement[];
  /** false when there was no body to validate: none sent, truncated by Envoy, or a media type not validated */
  bodyValidated: boolean;
}

export type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';

/** One failing field of an invalid request (problem+json `errors[]`). Never carries the field's value. */
export interface FieldError {
  in: ParameterLocation | 'body';
  /** parameter name, or a JSON pointer into the body ('' for the body itself) */
  name: string;
  message: string;
}

/** The body bytes Envoy sent with the check (`with_request_body`), if any. */
export interface RequestBody {
  bytes: Buffer;
  /** Envoy sent a prefix only (`x-envoy-auth-partial-body: true`, or fewer bytes than content-length) */
  truncated: boolean;
}

export type ContractOutcome =
  /** matched and valid, matched in report mode, or unknown and allowed; `openapi` is null when unmatched */
  | { kind: 'pass'; openapi: OpenApiInput | null }
  /** enforce mode: the request breaks the operation's contract -> 400 problem+json */
  | { kind: 'invalid'; operation: string; errors: FieldError[] }
  /** unknownOperations: deny -> 404, or 405 with `allow` when the path matched but the method did not */
  | { kind: 'unknown'; status: 404 | 405; allow: string[] }
  /** enforceScopes: a verified token without the operation's scopes -> 403 insufficient_scope */
  | { kind: 'insufficient_scope'; operation: string; scopes: string[] }
  /** a validator failed unexpectedly -> 503 (logged); never a thrown error */
  | { kind: 'unavailable'; description: string };

export interface ContractStage {
  evaluate(request: HttpRequestView, body: RequestBody | null, identity: Identity | null): ContractOutcome;
  /** the unknown operations seen, most frequent first (GET /v1/inventory) */
  inventory(): UnknownOperation[];
  reload(): Promise<boolean>;
  /** reload when a document or a file it references changes (`policy.watch`); resolves once watching */
  watch(options: { debounceMs?: number | undefined; pollMs?: number }): Promise<void>;
  close(): void;
}

export interface UnknownOperation {
  method: string;
  shape: string;
  count: number;
  /** ISO 8601 */
  lastSeen: string;
}

export interface ContractDeps {
  logger: import('pino').Logger;
  /** openapi_requests_total{operation, result} */
  countRequest(operation: string, result: 'valid' | 'invalid'): void;
  /** unknown_operations_total{method} */
  countUnknown(method: string): void;
  countReload(result: 'success' | 'error'): void;
}
