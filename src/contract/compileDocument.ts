// A bundled document -> routes and per-operation validators, all built at load time so a check only
// matches segments and calls compiled ajv functions.
import type { ValidateFunction } from 'ajv';
import { ContractLoadError } from './errors.js';
import { isObject, type LoadedDocument } from './loadDocument.js';
import { createSchemaCompiler, documentRef, type SchemaCompiler } from './schemaCompiler.js';
import type { ParameterLocation, SecurityRequirement } from './types.js';

export type ParameterStyle = 'simple' | 'label' | 'matrix' | 'form' | 'spaceDelimited' | 'pipeDelimited' | 'deepObject';

export interface CompiledParameter {
  name: string;
  /** lower-case for headers, as the request view holds them */
  key: string;
  style: ParameterStyle;
  explode: boolean;
  /** how the text is read: one value, a list, an object, or JSON (`content: application/json`) */
  shape: 'primitive' | 'array' | 'object' | 'json';
  /** an exploded form object's properties come as separate query keys */
  propertyNames: string[];
}

export interface CompiledParameters {
  list: CompiledParameter[];
  /** validates {name: value} of one location; coerces values to their schema types in place */
  validate: ValidateFunction;
}

export interface CompiledMedia {
  /** media range as written, lower-case: application/json, application/*, *\/* */
  range: string;
  kind: 'json' | 'form' | 'other';
  validate: ValidateFunction | null;
}

export interface CompiledBody {
  required: boolean;
  media: CompiledMedia[];
}

export interface CompiledOperation {
  method: string;
  /** base path + path template, as written */
  template: string;
  /** the metric label: operationId, or `METHOD template` */
  label: string;
  operationId: string | null;
  tags: string[];
  deprecated: boolean;
  security: SecurityRequirement[];
  /**
   * `security` with only the bearer-token schemes (oauth2, openIdConnect, http bearer) in each alternative;
   * an alternative left empty (anonymous, or an API key Portcullis does not see) needs no scope.
   */
  tokenSecurity: SecurityRequirement[];
  parameters: Record<ParameterLocation, CompiledParameters | null>;
  body: CompiledBody | null;
}

export type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string }
  | { kind: 'pattern'; regex: RegExp; names: string[] };

export interface Route {
  template: string;
  segments: Segment[];
  operations: Map<string, CompiledOperation>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const LOCATIONS: readonly ParameterLocation[] = ['path', 'query', 'header', 'cookie'];
/** RFC 9110 and OpenAPI: these header parameters are ignored (the request's own headers say them). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

/** Every route of one document (several per path when `servers` name several base paths). */
export function compileDocument(loaded: LoadedDocument): Route[] {
  const doc = loaded.document;
  const compilers = {
    strict: createSchemaCompiler(loaded.version, doc, { coerce: false }),
    coercing: createSchemaCompiler(loaded.version, doc, { coerce: true }),
  };
  const context: CompileContext = { loaded, compilers };
  const schemes = securitySchemes(doc);
  const routes = new Map<string, Route>();
  const paths = isObject(doc['paths']) ? doc['paths'] : {};
  for (const [template, rawItem] of Object.entries(paths)) {
    const itemPointer = `#/paths/${escapeToken(template)}`;
    const item = resolve(context, rawItem, itemPointer);
    if (!isObject(item.value)) continue;
    const pathItem = item.value;
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation)) continue;
      const pointer = `${item.pointer}/${method}`;
      const servers = operation['servers'] ?? pathItem['servers'] ?? doc['servers'];
      for (const base of basePaths(servers)) {
        const full = joinPath(base, template);
        let route = routes.get(full);
        if (route === undefined) {
          route = { template: full, segments: compileTemplate(full), operations: new Map() };
          routes.set(full, route);
        }
        route.operations.set(
          method.toUpperCase(),
          compileOperation(context, {
            method,
            template: full,
            operation,
            pathItem,
            pointer,
            itemPointer: item.pointer,
            schemes,
          }),
        );
      }
    }
  }
  return [...routes.values()];
}

interface CompileContext {
  loaded: LoadedDocument;
  compilers: { strict: SchemaCompiler; coercing: SchemaCompiler };
}

interface OperationSource {
  method: string;
  template: string;
  operation: Record<string, unknown>;
  pathItem: Record<string, unknown>;
  pointer: string;
  itemPointer: string;
  schemes: Map<string, string>;
}

function compileOperation(context: CompileContext, source: OperationSource): CompiledOperation {
  const { operation } = source;
  const operationId = typeof operation['operationId'] === 'string' ? operation['operationId'] : null;
  const security = securityOf(operation['security'] ?? context.loaded.document['security']);
  return {
    method: source.method.toUpperCase(),
    template: source.template,
    label: operationId ?? `${source.method.toUpperCase()} ${source.template}`,
    operationId,
    tags: Array.isArray(operation['tags']) ? operation['tags'].filter((t): t is string => typeof t === 'string') : [],
    deprecated: operation['deprecated'] === true,
    security,
    tokenSecurity: security.map((alternative) =>
      Object.fromEntries(Object.entries(alternative).filter(([name]) => source.schemes.get(name) === 'token')),
    ),
    parameters: compileParameters(context, source),
    body: compileBody(context, operation['requestBody'], `${source.pointer}/requestBody`),
  };
}

/** Path-level parameters, overridden by operation-level ones of the same name and location. */
function compileParameters(
  context: CompileContext,
  source: OperationSource,
): Record<ParameterLocation, CompiledParameters | null> {
  const byKey = new Map<string, { parameter: Record<string, unknown>; pointer: string }>();
  const collect = (list: unknown, pointer: string): void => {
    if (!Array.isArray(list)) return;
    list.forEach((raw, i) => {
      const resolved = resolve(context, raw, `${pointer}/${i}`);
      if (!isObject(resolved.value)) return;
      const p = resolved.value;
      byKey.set(`${String(p['in'])}:${String(p['name'])}`, { parameter: p, pointer: resolved.pointer });
    });
  };
  collect(source.pathItem['parameters'], `${source.itemPointer}/parameters`);
  collect(source.operation['parameters'], `${source.pointer}/parameters`);

  const result: Record<ParameterLocation, CompiledParameters | null> = {
    path: null,
    query: null,
    header: null,
    cookie: null,
  };
  for (const location of LOCATIONS) {
    const entries = [...byKey.values()].filter(({ parameter }) => parameter['in'] === location);
    const kept = entries.filter(
      ({ parameter }) => !(location === 'header' && IGNORED_HEADERS.has(String(parameter['name']).toLowerCase())),
    );
    if (kept.length === 0) continue;
    const list: CompiledParameter[] = [];
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const { parameter, pointer } of kept) {
      const name = String(parameter['name']);
      const compiled = describeParameter(context, parameter, pointer, location);
      // Compiled alone first, so a broken schema is reported at its own pointer.
      compileSchema(context, context.compilers.coercing, compiled.schema, pointer);
      list.push(compiled.parameter);
      properties[name] = compiled.schema;
      if (parameter['required'] === true || location === 'path') required.push(name);
    }
    const validate = compileSchema(
      context,
      context.compilers.coercing,
      { type: 'object', properties, required },
      `${source.pointer}/parameters`,
    );
    result[location] = { list, validate };
  }
  return result;
}

function describeParameter(
  context: CompileContext,
  parameter: Record<string, unknown>,
  pointer: string,
  location: ParameterLocation,
): { parameter: CompiledParameter; schema: object } {
  const name = String(parameter['name']);
  const style = (
    typeof parameter['style'] === 'string'
      ? parameter['style']
      : location === 'query' || location === 'cookie'
        ? 'form'
        : 'simple'
  ) as ParameterStyle;
  const explode = typeof parameter['explode'] === 'boolean' ? parameter['explode'] : style === 'form';
  const base = { name, key: location === 'header' ? name.toLowerCase() : name, style, explode };
  if (isObject(parameter['content'])) {
    const mediaType = Object.keys(parameter['content'])[0] ?? '';
    const schemaPointer = `${pointer}/content/${escapeToken(mediaType)}/schema`;
    const hasSchema = isObject((parameter['content'][mediaType] as Record<string, unknown> | undefined)?.['schema']);
    return {
      parameter: { ...base, shape: isJsonMediaType(mediaType) ? 'json' : 'primitive', propertyNames: [] },
      schema: hasSchema && isJsonMediaType(mediaType) ? documentRef(schemaPointer) : {},
    };
  }
  if (parameter['schema'] === undefined)
    return { parameter: { ...base, shape: 'primitive', propertyNames: [] }, schema: {} };
  const schema = resolve(context, parameter['schema'], `${pointer}/schema`).value;
  const types = isObject(schema) ? typesOf(schema) : [];
  const shape = types.includes('array') ? 'array' : types.includes('object') ? 'object' : 'primitive';
  const propertyNames = isObject(schema) && isObject(schema['properties']) ? Object.keys(schema['properties']) : [];
  return { parameter: { ...base, shape, propertyNames }, schema: documentRef(`${pointer}/schema`) };
}

function typesOf(schema: Record<string, unknown>): string[] {
  const type = schema['type'];
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  if (schema['items'] !== undefined) return ['array'];
  if (schema['properties'] !== undefined) return ['object'];
  return [];
}

function compileBody(context: CompileContext, raw: unknown, pointer: string): CompiledBody | null {
  if (raw === undefined) return null;
  const resolved = resolve(context, raw, pointer);
  if (!isObject(resolved.value) || !isObject(resolved.value['content'])) return null;
  const body = resolved.value;
  const content = resolved.value['content'] as Record<string, unknown>;
  const media: CompiledMedia[] = Object.entries(content).map(([range, rawMedia]) => {
    const kind = isJsonMediaType(range)
      ? 'json'
      : mediaTypeOf(range) === 'application/x-www-form-urlencoded'
        ? 'form'
        : 'other';
    const schemaPointer = `${resolved.pointer}/content/${escapeToken(range)}/schema`;
    const hasSchema = isObject(rawMedia) && rawMedia['schema'] !== undefined;
    const validate =
      kind === 'other' || !hasSchema
        ? null
        : compileSchema(
            context,
            kind === 'form' ? context.compilers.coercing : context.compilers.strict,
            documentRef(schemaPointer),
            schemaPointer,
          );
    return { range: mediaTypeOf(range), kind, validate };
  });
  return { required: body['required'] === true, media };
}

function compileSchema(
  context: CompileContext,
  compiler: SchemaCompiler,
  schema: object,
  pointer: string,
): ValidateFunction {
  try {
    return compiler.compile(schema);
  } catch (error) {
    // ajv names the failing keyword ("type must be JSONType..."); the pointer says where it is.
    const message = error instanceof Error ? error.message : String(error);
    throw new ContractLoadError(context.loaded.file, pointer, `schema does not compile: ${message}`, { cause: error });
  }
}

/** scheme name -> 'token' when a bearer token carries its scopes (oauth2, openIdConnect, http bearer). */
function securitySchemes(doc: Record<string, unknown>): Map<string, string> {
  const components = isObject(doc['components']) ? doc['components'] : {};
  const schemes = isObject(components['securitySchemes']) ? components['securitySchemes'] : {};
  const kinds = new Map<string, string>();
  for (const [name, raw] of Object.entries(schemes)) {
    if (!isObject(raw)) continue;
    const type = raw['type'];
    const bearer = type === 'http' && String(raw['scheme']).toLowerCase() === 'bearer';
    kinds.set(name, type === 'oauth2' || type === 'openIdConnect' || bearer ? 'token' : String(type));
  }
  return kinds;
}

function securityOf(raw: unknown): SecurityRequirement[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter(isObject)
    .map((alternative) =>
      Object.fromEntries(
        Object.entries(alternative).map(([name, scopes]) => [
          name,
          Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [],
        ]),
      ),
    );
}

/**
 * Base paths of `servers` (`https://api.example.com/v1` -> `/v1`, `/v1` -> `/v1`); variables take their
 * defaults. No servers: the paths are served at the root.
 */
export function basePaths(servers: unknown): string[] {
  if (!Array.isArray(servers) || servers.length === 0) return [''];
  const bases = new Set<string>();
  for (const server of servers) {
    if (!isObject(server) || typeof server['url'] !== 'string') continue;
    const variables = isObject(server['variables']) ? server['variables'] : {};
    const url = server['url'].replace(/\{([^}]+)\}/g, (_m, name: string) => {
      const variable = variables[name];
      return isObject(variable) && typeof variable['default'] === 'string' ? variable['default'] : '';
    });
    let path: string;
    try {
      path = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? new URL(url).pathname : url;
    } catch {
      path = '';
    }
    bases.add(`/${path.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, ''));
  }
  return bases.size === 0 ? [''] : [...bases];
}

function joinPath(base: string, template: string): string {
  return `${base}${template.startsWith('/') ? template : `/${template}`}`;
}

function compileTemplate(template: string): Segment[] {
  return template
    .split('/')
    .slice(1)
    .map((text): Segment => {
      const whole = /^\{([^{}]+)\}$/.exec(text);
      if (whole !== null) return { kind: 'param', name: whole[1] ?? '' };
      if (!text.includes('{')) return { kind: 'literal', text };
      const names: string[] = [];
      const source = text
        .split(/(\{[^{}]+\})/)
        .map((part) => {
          const param = /^\{([^{}]+)\}$/.exec(part);
          if (param === null) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(param[1] ?? '');
          return '([^/]+?)';
        })
        .join('');
      return { kind: 'pattern', regex: new RegExp(`^${source}$`), names };
    });
}

/** Follows internal `$ref`s (the bundle has only those), keeping the pointer of where the value really is. */
function resolve(
  context: CompileContext,
  value: unknown,
  pointer: string,
  depth = 0,
): { value: unknown; pointer: string } {
  if (!isObject(value) || typeof value['$ref'] !== 'string') return { value, pointer };
  const ref = value['$ref'];
  if (!ref.startsWith('#') || depth > 32) {
    throw new ContractLoadError(context.loaded.file, pointer, `cannot follow $ref ${JSON.stringify(ref)}`);
  }
  let target: unknown = context.loaded.document;
  for (const token of ref.slice(1).split('/').slice(1)) {
    const key = unescapeToken(decodeURIComponent(token));
    target = isObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[key] : undefined;
  }
  if (target === undefined)
    throw new ContractLoadError(context.loaded.file, pointer, `$ref ${JSON.stringify(ref)} does not resolve`);
  return resolve(context, target, ref, depth + 1);
}

export function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function isJsonMediaType(range: string): boolean {
  const type = mediaTypeOf(range);
  return type === 'application/json' || type.endsWith('+json');
}
