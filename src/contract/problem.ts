// The RFC 9457 body of a request refused for breaking its contract.
import type { FieldError } from './types.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const INVALID_REQUEST_TYPE = 'urn:portcullis:problem:invalid-request';

export interface ValidationProblem {
  type: string;
  title: string;
  status: 400;
  detail: string;
  errors: FieldError[];
}

export function validationProblem(operation: string, errors: readonly FieldError[]): ValidationProblem {
  const count = errors.length === 1 ? '1 field' : `${errors.length} fields`;
  return {
    type: INVALID_REQUEST_TYPE,
    title: 'Request does not match the API contract',
    status: 400,
    detail: `${count} of ${operation} failed validation`,
    errors: errors.map(({ in: location, name, message }) => ({ in: location, name, message })),
  };
}
