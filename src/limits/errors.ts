import { redactUrl } from '../telemetry/redact.js';

/** A revocation the store cannot record as given (empty id, non-integer time): the caller's input is wrong. */
export class InvalidRevocationError extends Error {
  readonly code = 'INVALID_REVOCATION';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRevocationError';
  }
}

export function assertTokenRevocation(jti: string, exp: number): void {
  if (jti.length === 0) throw new InvalidRevocationError('jti must be a non-empty string');
  if (!Number.isSafeInteger(exp) || exp <= 0) {
    throw new InvalidRevocationError(`exp must be a positive integer of unix seconds, got ${exp}`);
  }
}

export function assertSubjectRevocation(subject: string, before: number): void {
  if (subject.length === 0) throw new InvalidRevocationError('sub must be a non-empty string');
  if (!Number.isSafeInteger(before) || before <= 0) {
    throw new InvalidRevocationError(`before must be a positive integer of unix seconds, got ${before}`);
  }
}

/** A redis.* address the client cannot use (the schema checks the scheme, not the whole URL). */
export class RedisAddressError extends Error {
  readonly code = 'REDIS_ADDRESS';
  constructor(
    readonly key: string,
    value: string,
  ) {
    // The URL may hold a password: only its redacted form is printed.
    super(`${key}: "${redactUrl(value)}" is not a usable redis URL; expected redis://[user:password@]host:port[/db]`);
    this.name = 'RedisAddressError';
  }
}
