// Checks Envoy YAML against Envoy's own protos, strictly. protobufjs's fromObject silently drops fields it
// does not know, so a misspelled `failure_mode_alow: true` would decode as the default (false) and pass. This
// walker visits every key of the YAML against the message's descriptor first — unknown fields, wrong types,
// oneof clashes, deprecated fields, a few protoc-gen-validate rules Envoy enforces at load — and converts the
// proto3-JSON forms Envoy's YAML uses (Duration strings, Any with "@type", wrappers, Struct) into the shape
// fromObject expects, so the result can then be encoded and decoded for real.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const depsDir = path.join(repoRoot, 'node_modules', '@grpc', 'grpc-js-xds', 'deps');
const includeDirs = [
  path.join(depsDir, 'envoy-api'),
  path.join(depsDir, 'googleapis'),
  path.join(depsDir, 'xds'),
  path.join(depsDir, 'protoc-gen-validate'),
  // google/protobuf/descriptor.proto (imported by the annotations) ships with protobufjs itself.
  path.join(repoRoot, 'node_modules', 'protobufjs'),
];

/** Loads Envoy proto files by their import path (`envoy/config/...proto`), field names as in the .proto. */
export async function loadEnvoyProtos(files: string[]): Promise<protobuf.Root> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    // Well-known google/protobuf types are bundled in protobufjs and resolved by their bare name.
    return target;
  };
  await root.load(files, { keepCase: true });
  root.resolveAll();
  return root;
}

export class ProtoWalkError extends Error {
  readonly code = 'PROTO_WALK';
  constructor(readonly issues: string[]) {
    super(`config does not match Envoy's protos:\n  ${issues.join('\n  ')}`);
    this.name = 'ProtoWalkError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Plain = Record<string, unknown>;

interface Walk {
  root: protobuf.Root;
  issues: string[];
}

const TYPE_URL_PREFIX = 'type.googleapis.com/';

const WRAPPERS: Readonly<Record<string, string>> = {
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.DoubleValue': 'double',
};

function isPlainObject(value: unknown): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fullName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function suggestion(name: string, candidates: string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === null ? '' : ` (did you mean "${best}"?)`;
}

/** Envoy's YAML accepts both the .proto name and the JSON (lowerCamel) name of a field. */
function findField(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const byName = type.fields[key];
  if (byName) return byName;
  return type.fieldsArray.find((f) => snakeToCamel(f.name) === key);
}

function checkScalar(w: Walk, scalar: string, value: Json, at: string): unknown {
  switch (scalar) {
    case 'string':
      if (typeof value !== 'string') w.issues.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') w.issues.push(`${at}: expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
        w.issues.push(`${at}: expected base64 bytes`);
      }
      return value;
    case 'double':
    case 'float':
      if (typeof value !== 'number') w.issues.push(`${at}: expected a number, got ${JSON.stringify(value)}`);
      return value;
    default: {
      // int32, uint32, sint32, fixed32, sfixed32, and the 64-bit ones (which proto3 JSON may quote).
      const unsigned = scalar.startsWith('u') || scalar.startsWith('fixed');
      const is64 = scalar.endsWith('64');
      const numeric = typeof value === 'string' && is64 && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof numeric !== 'number' || !Number.isInteger(numeric)) {
        w.issues.push(`${at}: expected an integer (${scalar}), got ${JSON.stringify(value)}`);
      } else if (unsigned && numeric < 0) {
        w.issues.push(`${at}: ${scalar} cannot be negative`);
      }
      return value;
    }
  }
}

const DURATION = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/;

function convertDuration(w: Walk, value: Json, at: string): unknown {
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  if (!match) {
    w.issues.push(`${at}: expected a duration such as "0.25s", got ${JSON.stringify(value)}`);
    return {};
  }
  const sign = match[1] === '-' ? -1 : 1;
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  return { seconds: sign * Number(match[2]), nanos: sign * nanos };
}

function convertStructValue(value: Json): unknown {
  if (value === null) return { null_value: 0 };
  if (typeof value === 'boolean') return { bool_value: value };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'string') return { string_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(convertStructValue) } };
  return { struct_value: convertStruct(value) };
}

function convertStruct(value: { [key: string]: Json }): unknown {
  return { fields: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertStructValue(v)])) };
}

function convertAny(w: Walk, value: Json, at: string): unknown {
  if (!isPlainObject(value) || typeof value['@type'] !== 'string') {
    w.issues.push(`${at}: expected an object with "@type"`);
    return {};
  }
  const typeUrl = value['@type'];
  if (!typeUrl.startsWith(TYPE_URL_PREFIX)) {
    w.issues.push(`${at}.@type: expected "${TYPE_URL_PREFIX}<message>", got "${typeUrl}"`);
    return {};
  }
  const typeName = typeUrl.slice(TYPE_URL_PREFIX.length);
  let inner: protobuf.Type;
  try {
    inner = w.root.lookupType(typeName);
  } catch {
    w.issues.push(`${at}.@type: unknown message type ${typeName} (not an Envoy type, or its .proto was not loaded)`);
    return {};
  }
  const { '@type': _ignored, ...fields } = value;
  const converted = convertMessage(w, inner, fields, at);
  const encoded = inner.encode(inner.fromObject(converted as Plain)).finish();
  return { type_url: typeUrl, value: encoded };
}

/** Well-known types have their own JSON forms; everything else is an object of fields. */
function convertValue(w: Walk, type: protobuf.Type, value: Json, at: string): unknown {
  const name = fullName(type);
  if (name === 'google.protobuf.Duration') return convertDuration(w, value, at);
  if (name === 'google.protobuf.Any') return convertAny(w, value, at);
  if (name === 'google.protobuf.Struct') {
    if (!isPlainObject(value)) w.issues.push(`${at}: expected an object`);
    return isPlainObject(value) ? convertStruct(value) : {};
  }
  if (name === 'google.protobuf.Value') return convertStructValue(value);
  if (name === 'google.protobuf.Empty') {
    if (!isPlainObject(value) || Object.keys(value).length > 0) w.issues.push(`${at}: expected {}`);
    return {};
  }
  const wrapped = WRAPPERS[name];
  if (wrapped !== undefined) return { value: checkScalar(w, wrapped, value, at) };
  if (name === 'google.protobuf.Timestamp' || name === 'google.protobuf.FieldMask') {
    w.issues.push(`${at}: ${name} is not supported by this checker`);
    return {};
  }
  return convertMessage(w, type, value, at);
}

function convertFieldValue(w: Walk, field: protobuf.Field, value: Json, at: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return convertValue(w, resolved, value, at);
  if (resolved instanceof protobuf.Enum) {
    const known =
      typeof value === 'string' ? value in resolved.values : Object.values(resolved.values).includes(value as number);
    if (!known) {
      w.issues.push(
        `${at}: ${JSON.stringify(value)} is not a value of ${resolved.name}${typeof value === 'string' ? suggestion(value, Object.keys(resolved.values)) : ''}`,
      );
    }
    return value;
  }
  return checkScalar(w, field.type, value, at);
}

function checkValidationRules(w: Walk, field: protobuf.Field, value: Json, at: string): void {
  const options = field.options ?? {};
  const minLen = options['(validate.rules).string.min_len'];
  if (typeof minLen === 'number' && typeof value === 'string' && [...value].length < minLen) {
    w.issues.push(`${at}: must be at least ${minLen} character(s)`);
  }
  const boolConst = options['(validate.rules).bool.const'];
  if (typeof boolConst === 'boolean' && typeof value === 'boolean' && value !== boolConst) {
    w.issues.push(`${at}: must be ${boolConst}`);
  }
  for (const kind of ['uint32', 'int32', 'uint64', 'int64', 'double']) {
    const gt = options[`(validate.rules).${kind}.gt`];
    const gte = options[`(validate.rules).${kind}.gte`];
    const lte = options[`(validate.rules).${kind}.lte`];
    const num = typeof value === 'string' ? Number(value) : value;
    if (typeof num !== 'number') continue;
    if (typeof gt === 'number' && !(num > gt)) w.issues.push(`${at}: must be greater than ${gt}`);
    if (typeof gte === 'number' && !(num >= gte)) w.issues.push(`${at}: must be at least ${gte}`);
    if (typeof lte === 'number' && !(num <= lte)) w.issues.push(`${at}: must be at most ${lte}`);
  }
}

function convertMessage(w: Walk, type: protobuf.Type, value: Json, at: string): Plain {
  if (!isPlainObject(value)) {
    w.issues.push(`${at}: expected an object for ${fullName(type)}, got ${JSON.stringify(value)}`);
    return {};
  }
  const out: Plain = {};
  const oneofMembers = new Map<string, string>();
  for (const [key, raw] of Object.entries(value)) {
    const at2 = `${at}.${key}`;
    const field = findField(type, key);
    if (!field) {
      w.issues.push(`${at2}: unknown field of ${fullName(type)}${suggestion(key, Object.keys(type.fields))}`);
      continue;
    }
    if (field.options?.deprecated === true) {
      w.issues.push(`${at2}: deprecated in ${fullName(type)}; Envoy may refuse it (use its replacement)`);
    }
    if (field.partOf) {
      const already = oneofMembers.get(field.partOf.name);
      if (already !== undefined) {
        w.issues.push(`${at2}: "${already}" and "${field.name}" are both set but belong to oneof ${field.partOf.name}`);
      }
      oneofMembers.set(field.partOf.name, field.name);
    }
    if (
      raw === null &&
      !(field.resolvedType instanceof protobuf.Type && fullName(field.resolvedType) === 'google.protobuf.Value')
    ) {
      w.issues.push(`${at2}: null is not a value (leave the field out instead)`);
      continue;
    }
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(raw)) {
        w.issues.push(`${at2}: expected a map (object)`);
        continue;
      }
      out[field.name] = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, convertFieldValue(w, field, v, `${at2}.${k}`)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(raw)) {
        w.issues.push(`${at2}: expected a list`);
        continue;
      }
      out[field.name] = raw.map((item, i) => {
        checkValidationRules(w, field, item, `${at2}[${i}]`);
        return convertFieldValue(w, field, item, `${at2}[${i}]`);
      });
    } else {
      checkValidationRules(w, field, raw, at2);
      out[field.name] = convertFieldValue(w, field, raw, at2);
    }
  }
  for (const oneof of type.oneofsArray) {
    if (oneof.options?.['(validate.required)'] === true && !oneofMembers.has(oneof.name)) {
      w.issues.push(`${at}: one of ${oneof.oneof.join(', ')} is required in ${fullName(type)}`);
    }
  }
  for (const field of type.fieldsArray) {
    if (field.options?.['(validate.rules).message.required'] === true && !field.partOf && !(field.name in out)) {
      w.issues.push(`${at}.${field.name}: required in ${fullName(type)}`);
    }
  }
  return out;
}

/**
 * Checks `value` (parsed YAML) as a `typeName` message, then encodes and decodes it through protobufjs.
 * Returns the decoded message as a plain object (enums as names, 64-bit ints as numbers, Any values
 * decoded recursively as `{"@type", ...}`). Throws ProtoWalkError listing every problem with its path.
 */
export function decodeStrict(root: protobuf.Root, typeName: string, value: unknown, at = typeName): Plain {
  const type = root.lookupType(typeName);
  const w: Walk = { root, issues: [] };
  const converted = convertValue(w, type, value as Json, at);
  if (w.issues.length > 0) throw new ProtoWalkError(w.issues);
  const message = type.fromObject(converted as Plain);
  const problem = type.verify(message);
  if (problem) throw new ProtoWalkError([`${at}: ${problem}`]);
  const decoded = type.decode(type.encode(message).finish());
  return type.toObject(decoded, { enums: String, longs: Number, json: true }) as Plain;
}

/** Decodes an Any as `toObject` returns it (`{type_url, value}` with base64 value) into its message. */
export function unpackAny(root: protobuf.Root, any: unknown): { typeName: string; message: Plain } {
  const { type_url: typeUrl, value } = any as { type_url: string; value: string };
  const typeName = typeUrl.slice(TYPE_URL_PREFIX.length);
  const type = root.lookupType(typeName);
  const decoded = type.decode(Buffer.from(value, 'base64'));
  return { typeName, message: type.toObject(decoded, { enums: String, longs: Number, json: true }) as Plain };
}
