/**
 * An OpenAPI document that cannot be used: unreadable, not YAML/JSON, a `$ref` that does not resolve, not a
 * valid OpenAPI 3.0/3.1 document, or a schema ajv cannot compile. The message names the file and the JSON
 * pointer; at start-up the CLI prints it and exits 2, on reload the last good documents stay in force.
 */
export class ContractLoadError extends Error {
  readonly code = 'OPENAPI_INVALID';
  constructor(
    readonly file: string,
    readonly pointer: string | null,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`openapi: ${file}${pointer === null ? '' : `: ${pointer}`}: ${problem}`, options);
    this.name = 'ContractLoadError';
  }
}
