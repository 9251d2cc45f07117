// The ajv instances a document's schemas are compiled with: draft-04 rules for OpenAPI 3.0 (boolean
// exclusiveMinimum, `nullable`), JSON Schema 2020-12 for 3.1, both with ajv-formats and OpenAPI's own formats.
import type { Ajv as AjvCore } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import draft04 from 'ajv-draft-04';
import formats from 'ajv-formats';
import type { OpenApiVersion } from './loadDocument.js';

export type SchemaCompiler = AjvCore;

/** The id the bundled document is registered under, so `{$ref: DOCUMENT_ID + '#/components/...'}` compiles. */
export const DOCUMENT_ID = 'openapi-document';

/**
 * `coerce`: parameters and form fields arrive as strings; ajv converts them in place to the schema's type
 * ("7" -> 7, "a" -> ["a"]). JSON bodies are validated without coercion: "7" is not an integer there.
 */
export function createSchemaCompiler(
  version: OpenApiVersion,
  document: object,
  options: { coerce: boolean },
): SchemaCompiler {
  const settings = {
    // OpenAPI adds keywords (example, xml, discriminator, readOnly...) that JSON Schema does not know.
    strict: false,
    allErrors: true,
    logger: false as const,
    coerceTypes: options.coerce ? ('array' as const) : false,
    // The document as a whole is not a JSON Schema; its schemas are checked when compiled.
    validateSchema: false,
  };
  const ajv: AjvCore = version === '3.0' ? new draft04.default(settings) : new Ajv2020(settings);
  formats.default(ajv);
  addOpenApiFormats(ajv);
  ajv.addSchema(document, DOCUMENT_ID);
  return ajv;
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

function addOpenApiFormats(ajv: AjvCore): void {
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('binary', true);
  ajv.addFormat('password', true);
}

/** A `$ref` to a JSON pointer of the bundled document, URI-encoded as ajv resolves it. */
export function documentRef(pointer: string): { $ref: string } {
  const tokens = pointer
    .replace(/^#/, '')
    .split('/')
    .map((t) => encodeURIComponent(t));
  return { $ref: `${DOCUMENT_ID}#${tokens.join('/')}` };
}
