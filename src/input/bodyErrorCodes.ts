// Every `input.body_error` code as a value, for what must list them all (README.md and policies/README.md,
// checked by test/input/body-error-docs.test.ts). The type check below fails the build when BodyError gains
// a code this list lacks, so the docs check cannot fall behind the code.
import type { BodyError } from './parseBody.js';

export const BODY_ERROR_CODES = [
  'truncated',
  'too_large',
  'too_deep',
  'too_many_fields',
  'too_many_parts',
  'invalid_json',
  'invalid_form',
  'invalid_multipart',
  'skipped',
  'grpc_compressed',
  'grpc_unknown_method',
  'grpc_client_streaming',
  'invalid_grpc',
  'grpc_needs_raw_body',
] as const satisfies readonly BodyError[];

type Unlisted = Exclude<BodyError, (typeof BODY_ERROR_CODES)[number]>;
// A compile error names the code to add above.
export const everyBodyErrorListed: [Unlisted] extends [never] ? true : Unlisted = true;
