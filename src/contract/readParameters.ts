// Parameter text -> values, by OpenAPI `style` and `explode`, before ajv coerces them to their schema types.
// Supported: path simple/label/matrix, query form/spaceDelimited/pipeDelimited/deepObject, header simple,
// cookie form. A value that cannot be read (bad percent-encoding, JSON that does not parse) is a FieldError.
import type { CompiledParameter } from './compileDocument.js';
import type { FieldError, ParameterLocation } from './types.js';

export interface ParameterSources {
  /** raw (percent-encoded) path segment values by template name */
  pathValues: Record<string, string>;
  /** decoded query values by name (form decoding: `+` is a space) */
  query: Record<string, string[]>;
  headers: Readonly<Record<string, string>>;
  cookies: Record<string, string>;
}

export function readLocation(
  location: ParameterLocation,
  list: readonly CompiledParameter[],
  sources: ParameterSources,
  errors: FieldError[],
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const parameter of list) {
    let value: unknown;
    try {
      value = readOne(location, parameter, sources);
    } catch (error) {
      errors.push({
        in: location,
        name: parameter.name,
        message: error instanceof UnreadableValue ? error.message : 'cannot be read',
      });
      continue;
    }
    if (value !== undefined) values[parameter.name] = value;
  }
  return values;
}

class UnreadableValue extends Error {}

function readOne(location: ParameterLocation, parameter: CompiledParameter, sources: ParameterSources): unknown {
  switch (location) {
    case 'path': {
      const raw = sources.pathValues[parameter.name];
      return raw === undefined ? undefined : readPath(parameter, raw);
    }
    case 'query':
      return readQuery(parameter, sources.query);
    case 'header': {
      const raw = sources.headers[parameter.key];
      return raw === undefined ? undefined : readDelimited(parameter, raw.trim(), ',', '=');
    }
    case 'cookie': {
      const raw = sources.cookies[parameter.name];
      return raw === undefined ? undefined : readDelimited(parameter, raw, ',', ',');
    }
  }
}

function readPath(parameter: CompiledParameter, raw: string): unknown {
  let text = raw;
  let separator = ',';
  if (parameter.style === 'label') {
    // `.blue` / `.blue.black` (explode) / `.blue,black`
    text = text.replace(/^\./, '');
    if (parameter.explode) separator = '.';
  } else if (parameter.style === 'matrix') {
    // `;color=blue` / `;color=blue,black` / `;color=blue;color=black` (explode)
    const prefix = `;${parameter.name}=`;
    if (parameter.explode && parameter.shape === 'array') {
      return text
        .split(';')
        .slice(1)
        .map((part) => decode(part.slice(parameter.name.length + 1)));
    }
    text = text.startsWith(prefix) ? text.slice(prefix.length) : text;
  }
  // Split before decoding, so an encoded `%2C` stays inside one item.
  switch (parameter.shape) {
    case 'array':
      return text.split(separator).map(decode);
    case 'object':
      return toObject(text.split(parameter.explode ? /[,=]/ : separator).map(decode));
    case 'json':
      return parseJson(decode(text));
    default:
      return decode(text);
  }
}

function readQuery(parameter: CompiledParameter, query: Record<string, string[]>): unknown {
  if (parameter.style === 'deepObject') {
    // `color[R]=100&color[G]=200` -> {R: "100", G: "200"}
    const prefix = `${parameter.name}[`;
    let object: Record<string, unknown> | undefined;
    for (const [key, values] of Object.entries(query)) {
      if (key.startsWith(prefix) && key.endsWith(']')) (object ??= {})[key.slice(prefix.length, -1)] = values[0];
    }
    return object;
  }
  if (parameter.shape === 'object' && parameter.explode) {
    // form, exploded: each property is its own query key (`?role=admin&firstName=Alex`)
    let object: Record<string, unknown> | undefined;
    for (const property of parameter.propertyNames) {
      const values = query[property];
      if (values !== undefined) (object ??= {})[property] = values[0];
    }
    return object;
  }
  const values = query[parameter.name];
  if (values === undefined) return undefined;
  switch (parameter.shape) {
    case 'array': {
      if (parameter.explode) return values;
      const separator = parameter.style === 'spaceDelimited' ? ' ' : parameter.style === 'pipeDelimited' ? '|' : ',';
      return (values[0] ?? '').split(separator);
    }
    case 'object':
      return toObject((values[0] ?? '').split(','));
    case 'json':
      return parseJson(values[0] ?? '');
    default:
      return values[0];
  }
}

/** Header (simple) and cookie (form) values: `a,b` lists, `k,v,k,v` or (exploded header) `k=v,k=v` objects. */
function readDelimited(parameter: CompiledParameter, raw: string, separator: string, explodedPair: string): unknown {
  switch (parameter.shape) {
    case 'array':
      return raw.split(separator).map((s) => s.trim());
    case 'object':
      return toObject(
        raw.split(parameter.explode ? new RegExp(`[${separator}${explodedPair}]`) : separator).map((s) => s.trim()),
      );
    case 'json':
      return parseJson(raw);
    default:
      return raw;
  }
}

function toObject(flat: string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i]!] = flat[i + 1]!;
  return object;
}

function decode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UnreadableValue('is not valid percent-encoding');
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UnreadableValue('is not valid JSON');
  }
}

/** `a=1; b=2` -> {a: "1", b: "2"}; the first of a repeated name wins, as RFC 6265 user agents send the most specific first. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (header === undefined) return cookies;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    if (name !== '' && !Object.hasOwn(cookies, name)) cookies[name] = pair.slice(eq + 1).trim();
  }
  return cookies;
}
