// Compressed request messages (`grpc-encoding: gzip | deflate` with the compressed flag set), inflated with
// node:zlib off the event loop (libuv's thread pool) and bounded by grpc.maxReceiveMessageBytes on the
// OUTPUT: zlib stops at `maxOutputLength`, so a small message that inflates to gigabytes (a zip bomb) is
// refused after the limit's worth of work, never held in memory.
import { gunzip, inflate } from 'node:zlib';
import { GrpcStatus, type GrpcError, type MessageEncoding } from './grpcFraming.js';

/** The message's bytes as sent, or a GrpcError: RESOURCE_EXHAUSTED past the limit, INTERNAL when corrupt. */
export function decompressMessage(
  bytes: Buffer,
  encoding: Exclude<MessageEncoding, 'identity'>,
  limit: number,
): Promise<Buffer | GrpcError> {
  const method = encoding === 'gzip' ? gunzip : inflate;
  return new Promise((resolve) => {
    method(bytes, { maxOutputLength: limit }, (error, result) => {
      if (error === null) resolve(result);
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        resolve({
          code: GrpcStatus.RESOURCE_EXHAUSTED,
          details: `Received message that decompresses to a size larger than ${limit}`,
        });
      } else resolve({ code: GrpcStatus.INTERNAL, details: 'Failed to decompress message' });
    });
  });
}
