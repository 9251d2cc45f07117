/** The policy's value has a shape the sidecar cannot act on; `key` names the offending decision key. */
export class DecisionTypeError extends Error {
  readonly code = 'DECISION_TYPE';
  constructor(
    readonly key: string,
    readonly expected: string,
  ) {
    super(`policy decision key "${key}" must be ${expected}`);
    this.name = 'DecisionTypeError';
  }
}

/**
 * Evaluation threw inside the Wasm module: `fuel` (policy.limits.fuel ran out), `memory` (policy.limits.memoryMiB
 * reached) or `error` (conflicting values, a builtin error, a trap).
 */
export class PolicyEvaluationError extends Error {
  readonly code = 'POLICY_EVAL';
  readonly reason: 'fuel' | 'memory' | 'error';
  constructor(message: string, options?: { cause?: unknown; reason?: 'fuel' | 'memory' | 'error' }) {
    super(message, options);
    this.name = 'PolicyEvaluationError';
    this.reason = options?.reason ?? 'error';
  }
}

/** A policy source that cannot be compiled, read or instantiated; at start-up this exits with code 2. */
export class PolicyLoadError extends Error {
  readonly code = 'POLICY_LOAD';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`policy ${path}: ${message}`, options);
    this.name = 'PolicyLoadError';
  }
}
