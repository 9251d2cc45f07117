// `input.parsed_body` for a gRPC request (content-type application/grpc), decoded as OPA-Envoy decodes it with
// `proto-descriptor`: the first length-prefixed frame, as the input type of the method the path names
// (`/package.Service/Method`), written in protobuf's JSON mapping (lowerCamelCase or json_name keys, 64-bit
// integers as strings, enums by name, bytes in base64, well-known types in their JSON forms, fields at their
// default value left out). OPA-Envoy fails the whole check on some of these bodies and silently gives null on
// others; here every one that cannot be decoded is `null` with a `body_error` naming why.
//
// @bufbuild/protobuf does the wire decoding and the JSON mapping: it passes protobuf's conformance suite, so
// its output is protojson's (the Go library OPA-Envoy uses) except for one detail fixed below (float32).
import { fromBinary, ScalarType, toJson, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { nestsDeeperThan } from './grpcDepth.js';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from './limits.js';

/** The `input.body_error` codes only a gRPC body produces (policies/README.md lists them). */
export type GrpcBodyError =
  /** the frame's compressed flag is set (OPA-Envoy does not decompress either) */
  | 'grpc_compressed'
  /** the path is not `/package.Service/Method` of a service in the descriptor set */
  | 'grpc_unknown_method'
  /** a client- or bidirectional-streaming method: its messages are a stream, not one input */
  | 'grpc_client_streaming'
  /** shorter than a frame header, or a message the method's input type cannot decode */
  | 'invalid_grpc'
  /** Envoy sent the body as text (`body`), which cannot carry protobuf bytes: set `pack_as_bytes: true` */
  | 'grpc_needs_raw_body';

export interface GrpcBodyFacts {
  parsedBody: unknown;
  truncatedBody: boolean;
  bodyError: GrpcBodyError | 'truncated' | 'too_large' | 'too_deep' | null;
}

const FRAME_HEADER_BYTES = 5;

/**
 * Decodes the first frame of a gRPC request body. `parsedPath` is `input.parsed_path` (for `/pkg.Svc/Method`,
 * `["pkg.Svc", "Method"]`). Never throws.
 */
export function decodeGrpcBody(registry: Registry, parsedPath: readonly string[], bytes: Uint8Array): GrpcBodyFacts {
  if (parsedPath.length !== 2) return failed('grpc_unknown_method');
  if (bytes.length < FRAME_HEADER_BYTES) return failed('invalid_grpc');
  if (bytes[0] !== 0) return failed('grpc_compressed');
  const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  // Only the first message is read, as OPA-Envoy does: a unary or server-streaming call sends exactly one.
  if (size > bytes.length - FRAME_HEADER_BYTES)
    return { parsedBody: null, truncatedBody: true, bodyError: 'truncated' };
  if (size > MAX_BODY_BYTES) return failed('too_large');
  const input = methodInput(registry, parsedPath[0] ?? '', parsedPath[1] ?? '');
  if (typeof input === 'string') return failed(input);

  const frame = bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + size);
  let json: unknown;
  try {
    // The recursion limit bounds the decoder's stack; a message nested deeper never reaches the policy.
    const message = fromBinary(input, frame, { readUnknownFields: false, recursionLimit: MAX_JSON_DEPTH });
    json = toJson(input, message, { registry });
  } catch {
    // The decoder's errors carry no code: a walk of our own over the frame tells a message nested past the
    // limit from bytes that are not the input type (only here, on the error path).
    return failed(nestsDeeperThan(input, frame, MAX_JSON_DEPTH) ? 'too_deep' : 'invalid_grpc');
  }
  json = withFloat32Digits(registry, input, json);
  if (deeperThan(json, MAX_JSON_DEPTH)) return failed('too_deep');
  return { parsedBody: json, truncatedBody: false, bodyError: null };
}

function failed(bodyError: NonNullable<GrpcBodyFacts['bodyError']>): GrpcBodyFacts {
  return { parsedBody: null, truncatedBody: false, bodyError };
}

function methodInput(registry: Registry, serviceName: string, methodName: string): DescMessage | GrpcBodyError {
  const service = registry.getService(serviceName);
  const method = service?.methods.find((m) => m.name === methodName);
  if (method === undefined) return 'grpc_unknown_method';
  if (method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming') {
    return 'grpc_client_streaming';
  }
  return method.input;
}

// protojson writes a float32 field with the fewest digits that read back as the same float32 (0.1f is 0.1);
// @bufbuild/protobuf writes the float32 widened to a double (0.10000000149011612). A policy comparing
// `parsed_body.ratio == 0.1` must see what it sees under OPA-Envoy, so float32 values are rewritten here,
// walking the JSON along the message's descriptor.

function withFloat32Digits(registry: Registry, desc: DescMessage, json: unknown): unknown {
  if (desc.typeName === 'google.protobuf.FloatValue') return shortestFloat32(json);
  if (desc.typeName === 'google.protobuf.Any') return anyWithFloat32Digits(registry, json);
  // No other well-known type holds a float32, and their JSON forms are not field objects.
  if (desc.typeName.startsWith('google.protobuf.') || !isObject(json)) return json;
  for (const field of desc.fields) {
    const value = json[field.jsonName];
    if (value === undefined) continue;
    switch (field.fieldKind) {
      case 'scalar':
        if (field.scalar === ScalarType.FLOAT) json[field.jsonName] = shortestFloat32(value);
        break;
      case 'message':
        json[field.jsonName] = withFloat32Digits(registry, field.message, value);
        break;
      case 'list':
        if (!Array.isArray(value)) break;
        if (field.listKind === 'scalar' && field.scalar === ScalarType.FLOAT)
          value.forEach((v, i) => (value[i] = shortestFloat32(v)));
        if (field.listKind === 'message')
          value.forEach((v, i) => (value[i] = withFloat32Digits(registry, field.message, v)));
        break;
      case 'map':
        if (!isObject(value)) break;
        for (const key of Object.keys(value)) {
          if (field.mapKind === 'scalar' && field.scalar === ScalarType.FLOAT) value[key] = shortestFloat32(value[key]);
          if (field.mapKind === 'message') value[key] = withFloat32Digits(registry, field.message, value[key]);
        }
        break;
      case 'enum':
        break;
    }
  }
  return json;
}

/** An Any's JSON is its type's JSON plus `@type`, or `{"@type", "value"}` for a type with a non-object form. */
function anyWithFloat32Digits(registry: Registry, json: unknown): unknown {
  if (!isObject(json) || typeof json['@type'] !== 'string') return json;
  const typeName = json['@type'].slice(json['@type'].lastIndexOf('/') + 1);
  const packed = registry.getMessage(typeName);
  if (packed === undefined) return json;
  if (packed.typeName.startsWith('google.protobuf.') && 'value' in json) {
    json['value'] = withFloat32Digits(registry, packed, json['value']);
    return json;
  }
  return withFloat32Digits(registry, packed, json);
}

function shortestFloat32(value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether objects and arrays nest deeper than `max` levels (the same bound as a JSON body's). */
function deeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => deeperThan(child, max - 1));
}
