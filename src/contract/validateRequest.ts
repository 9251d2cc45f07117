// One request against the compiled documents: find the operation, read and validate its parameters and
// body, and say what failed. Pure: no counting, no mode, no I/O.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseQueryString } from '../input/parseQuery.js';
import type { HttpRequestView } from '../input/types.js';
import { mediaTypeOf, type CompiledBody, type CompiledOperation } from './compileDocument.js';
import { matchRoute, type RouteTable } from './matchRoute.js';
import { parseCookies, readLocation, type ParameterSources } from './readParameters.js';
import type { FieldError, OpenApiInput, ParameterLocation, RequestBody } from './types.js';

export type Evaluation =
  | { kind: 'matched'; operation: CompiledOperation; errors: FieldError[]; openapi: OpenApiInput }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'none' };

/** Enough for any person to fix a request; a hostile one cannot make the 400 body large. */
const MAX_ERRORS = 20;
const LOCATIONS: readonly ParameterLocation[] = ['path', 'query', 'header', 'cookie'];

export function validateRequest(table: RouteTable, request: HttpRequestView, body: RequestBody | null): Evaluation {
  const queryAt = request.path.indexOf('?');
  const path = queryAt === -1 ? request.path : request.path.slice(0, queryAt);
  const match = matchRoute(table, request.method.toUpperCase(), path);
  if (match.kind !== 'operation') return match;
  const { operation } = match;

  const errors: FieldError[] = [];
  const query = queryAt === -1 ? null : parseQueryString(request.path.slice(queryAt + 1).split('#')[0] ?? '');
  if (query !== null && !query.ok)
    errors.push({ in: 'query', name: '', message: `is not a valid query string (${query.detail})` });
  const sources: ParameterSources = {
    pathValues: match.pathValues,
    query: query?.ok === true ? query.values : {},
    headers: request.headers,
    cookies: operation.parameters.cookie === null ? {} : parseCookies(request.headers['cookie']),
  };
  let pathParams: Record<string, unknown> = {};
  for (const location of LOCATIONS) {
    const compiled = operation.parameters[location];
    if (compiled === null) continue;
    const unreadable = errors.length;
    const values = readLocation(location, compiled.list, sources, errors);
    // ajv coerces the values in place ("7" -> 7): after this, path values are typed. A value that could not
    // be read is already reported; ajv would only add that it is missing.
    const reported = new Set(errors.slice(unreadable).map((e) => e.name));
    if (!compiled.validate(values)) {
      errors.push(...parameterErrors(location, compiled.validate.errors).filter((e) => !reported.has(e.name)));
    }
    if (location === 'path') pathParams = values;
  }
  const bodyValidated = operation.body === null ? false : validateBody(operation.body, request, body, errors);

  return {
    kind: 'matched',
    operation,
    errors: dedupe(errors).slice(0, MAX_ERRORS),
    openapi: {
      operationId: operation.operationId,
      tags: operation.tags,
      pathParams,
      deprecated: operation.deprecated,
      security: operation.security,
      bodyValidated,
    },
  };
}

/** Returns whether the body was validated (false: none sent, truncated, or a media type not validated). */
function validateBody(
  spec: CompiledBody,
  request: HttpRequestView,
  body: RequestBody | null,
  errors: FieldError[],
): boolean {
  if (body === null || body.bytes.length === 0) {
    // Without the body, only an explicit `content-length: 0` proves the client sent none: Envoy may simply
    // not be configured to forward bodies (with_request_body).
    if (spec.required && request.headers['content-length'] === '0')
      errors.push({ in: 'body', name: '', message: 'is required' });
    return false;
  }
  if (body.truncated) return false;
  const type = mediaTypeOf(request.headers['content-type'] ?? '');
  const media =
    spec.media.find((m) => m.range === type) ??
    spec.media.find((m) => m.range.endsWith('/*') && type.startsWith(m.range.slice(0, -1))) ??
    spec.media.find((m) => m.range === '*/*');
  if (media === undefined) {
    // The header's value is not repeated: only what the document allows.
    errors.push({
      in: 'header',
      name: 'content-type',
      message: `must be one of: ${spec.media.map((m) => m.range).join(', ')}`,
    });
    return false;
  }
  if (media.validate === null) return false;
  let value: unknown;
  const text = body.bytes.toString('utf8');
  if (media.kind === 'json') {
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      errors.push({ in: 'body', name: '', message: 'is not valid JSON' });
      return true;
    }
  } else {
    const fields = formFields(text);
    if (fields === null) {
      errors.push({ in: 'body', name: '', message: 'is not a valid form body' });
      return true;
    }
    value = fields;
  }
  if (!media.validate(value)) errors.push(...bodyErrors(media.validate.errors));
  return true;
}

/** `a=1&b=2&b=3` -> {a: "1", b: ["2", "3"]}; ajv then coerces each field to its schema type. */
function formFields(text: string): Record<string, unknown> | null {
  const parsed = parseQueryString(text);
  if (!parsed.ok) return null;
  const fields: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(parsed.values)) fields[name] = values.length === 1 ? values[0] : values;
  return fields;
}

function parameterErrors(location: ParameterLocation, errors: ValidateFunction['errors']): FieldError[] {
  return (errors ?? []).map((error) => {
    if (error.instancePath === '' && error.keyword === 'required') {
      return { in: location, name: String(error.params['missingProperty']), message: 'is required' };
    }
    const [name = '', ...rest] = error.instancePath.split('/').slice(1).map(unescapeToken);
    const inside = rest.length === 0 ? '' : ` at /${rest.join('/')}`;
    return { in: location, name, message: `${describe(error)}${inside}` };
  });
}

function bodyErrors(errors: ValidateFunction['errors']): FieldError[] {
  return (errors ?? []).map((error) => {
    if (error.keyword === 'required') {
      return {
        in: 'body',
        name: `${error.instancePath}/${String(error.params['missingProperty'])}`,
        message: 'is required (required)',
      };
    }
    if (error.keyword === 'additionalProperties') {
      return {
        in: 'body',
        name: `${error.instancePath}/${String(error.params['additionalProperty'])}`,
        message: 'is not allowed (additionalProperties)',
      };
    }
    return { in: 'body', name: error.instancePath, message: describe(error) };
  });
}

/** ajv's message names the rule's limit, never the value ("must be <= 100"); the keyword names the rule. */
function describe(error: ErrorObject): string {
  return `${error.message ?? 'is invalid'} (${error.keyword})`;
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.in}\u0000${e.name}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}
