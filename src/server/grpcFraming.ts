// gRPC over HTTP/2, the pure parts (github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): the status codes
// the server answers with, the 5-byte length prefix of every message (a compressed flag and a big-endian
// length), `grpc-timeout`, `grpc-message`'s percent-encoding and the content types a gRPC request may carry.
// No I/O here: src/server/grpcTransport.ts feeds the request's DATA in and writes what comes out.

/** The gRPC status codes the transport itself answers with (a handler's own errors carry theirs). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A call's end other than OK: a gRPC status code and its `grpc-message`. */
export interface GrpcError {
  code: number;
  details: string;
}

/** The encodings a compressed request message may use (node:zlib), as `grpc-accept-encoding` lists them. */
export const ACCEPTED_ENCODINGS = 'identity,deflate,gzip';

export type MessageEncoding = 'identity' | 'gzip' | 'deflate';

/** `grpc-encoding` of a request (absent: identity); null for an encoding the server cannot decompress. */
export function messageEncoding(header: string | string[] | undefined): MessageEncoding | null {
  if (header === undefined || header === 'identity') return 'identity';
  return header === 'gzip' || header === 'deflate' ? header : null;
}

/**
 * Whether `content-type` names gRPC with protobuf messages: `application/grpc` or `application/grpc+proto`,
 * with or without parameters. Anything else (`application/grpc+json`, `application/json`) is answered 415.
 */
export function isGrpcProtoContentType(header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('application/grpc')) return false;
  const rest = header.slice('application/grpc'.length);
  return rest === '' || rest === '+proto' || rest.startsWith(';') || rest.startsWith('+proto;');
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * `grpc-timeout` (`TimeoutValue TimeoutUnit`: at most 8 ASCII digits and one of H M S m u n) in milliseconds;
 * undefined when absent, null when malformed (answered INTERNAL, as grpc-js does).
 */
export function parseGrpcTimeout(header: string | string[] | undefined): number | undefined | null {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') return null;
  const match = /^(\d{1,8})([HMSmun])$/.exec(header);
  if (match === null) return null;
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}

/**
 * `grpc-message` is percent-encoded UTF-8: every byte outside printable ASCII (0x20-0x7E) and `%` itself
 * becomes `%XX`, so any text survives a header (a decoder must accept any percent-encoding, so this is
 * the spec's minimal form rather than encodeURI's).
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let encoded = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** One message with its 5-byte prefix (never compressed: responses are small, and compressing costs CPU). */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** A request message as read from the stream, before decompression. */
export interface FramedMessage {
  compressed: boolean;
  bytes: Buffer;
}

/** Why a request's DATA is not one message of an acceptable size. */
export type FramingProblem =
  | { kind: 'too_large'; length: number; limit: number }
  | { kind: 'second_message' }
  | { kind: 'no_message' }
  | { kind: 'truncated' };

/** The status a framing problem is answered with; texts follow grpc-js's where it has one. */
export function framingError(problem: FramingProblem, path: string): GrpcError {
  switch (problem.kind) {
    case 'too_large':
      return {
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `Received message larger than max (${problem.length} vs ${problem.limit})`,
      };
    case 'second_message':
      return { code: GrpcStatus.UNIMPLEMENTED, details: `Received a second request message for method ${path}` };
    case 'no_message':
      return { code: GrpcStatus.UNIMPLEMENTED, details: `Received no request message for method ${path}` };
    case 'truncated':
      return { code: GrpcStatus.INTERNAL, details: `Request for method ${path} ended inside a message` };
  }
}

const PREFIX = 5;

/**
 * Reads exactly one length-prefixed message from a request's DATA chunks (unary and server-streaming calls
 * take one). The size is checked as soon as the prefix is in, so an oversized message is refused before its
 * body is buffered; the usual case, one chunk holding the whole message, costs no copy.
 */
export class SingleMessageReader {
  private readonly limit: number;
  private prefix: Buffer | undefined;
  private prefixLength = 0;
  private length = -1;
  private compressed = false;
  private chunks: Buffer[] = [];
  private received = 0;
  private message: FramedMessage | undefined;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes the next DATA chunk; a problem ends the call (nothing more needs reading). */
  push(chunk: Buffer): FramingProblem | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.message !== undefined) return { kind: 'second_message' };
      if (this.length < 0) {
        // The common case: the whole prefix in this chunk.
        if (this.prefixLength === 0 && chunk.length - offset >= PREFIX) {
          this.compressed = chunk[offset] === 1;
          this.length = chunk.readUInt32BE(offset + 1);
          offset += PREFIX;
        } else {
          this.prefix ??= Buffer.allocUnsafe(PREFIX);
          const take = Math.min(PREFIX - this.prefixLength, chunk.length - offset);
          chunk.copy(this.prefix, this.prefixLength, offset, offset + take);
          this.prefixLength += take;
          offset += take;
          if (this.prefixLength < PREFIX) return undefined;
          this.compressed = this.prefix[0] === 1;
          this.length = this.prefix.readUInt32BE(1);
        }
        if (this.length > this.limit) return { kind: 'too_large', length: this.length, limit: this.limit };
        if (this.length === 0) this.complete(Buffer.alloc(0));
        continue;
      }
      const take = Math.min(this.length - this.received, chunk.length - offset);
      const part = chunk.subarray(offset, offset + take);
      offset += take;
      this.received += take;
      if (this.received === this.length) {
        this.complete(this.chunks.length === 0 ? part : Buffer.concat([...this.chunks, part], this.length));
      } else {
        this.chunks.push(part);
      }
    }
    return undefined;
  }

  /** At the end of the request: the one message, or why there is none. */
  end(): FramedMessage | FramingProblem {
    if (this.message !== undefined) return this.message;
    return this.length < 0 && this.prefixLength === 0 ? { kind: 'no_message' } : { kind: 'truncated' };
  }

  private complete(bytes: Buffer): void {
    this.message = { compressed: this.compressed, bytes };
    this.chunks = [];
  }
}
