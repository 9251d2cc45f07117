/**
 * The emitter could not turn a planned policy into a module: the IR broke its contract (an unknown function,
 * a wrong arity, a constant that is not JSON) or the runtime module is missing. These are compiler bugs or a
 * broken install rather than policy mistakes, so the message names what to fix.
 */
export class WasmEmitError extends Error {
  readonly code = 'REGO_EMIT';
  constructor(
    readonly reason: 'runtime-missing' | 'bad-ir' | 'invalid-module',
    message: string,
  ) {
    super(message);
    this.name = 'WasmEmitError';
  }
}
