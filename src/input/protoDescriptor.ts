// `input.protoDescriptor`: the FileDescriptorSet (`protoc --descriptor_set_out=FILE --include_imports`, or
// `buf build --as-file-descriptor-set -o FILE`) gRPC request bodies are decoded with. Read at start-up (a file
// that cannot be used stops the start, naming the file and why) and again when it changes while
// `policy.watch` is on (a bad edit keeps the last good set in force).
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { Logger } from 'pino';
import { checkRegularFile } from '../config/files.js';
import { serialReloads } from '../policy/serialReloads.js';
import { watchPaths, type PolicyWatch } from '../policy/watch.js';
import { decodeGrpcBody, type GrpcBodyFacts } from './grpcBody.js';

/** Far above any real service's descriptor set (Envoy's own API with every import is about 2 MiB). */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024 * 1024;

/** A descriptor set that cannot be used; at start-up the CLI prints the message and exits 2. */
export class ProtoDescriptorError extends Error {
  readonly code = 'PROTO_DESCRIPTOR_INVALID';
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`input.protoDescriptor: ${file}: ${problem}`, options);
    this.name = 'ProtoDescriptorError';
  }
}

const HOW_TO_BUILD =
  'expected a binary FileDescriptorSet (protoc --descriptor_set_out=FILE --include_imports, or buf build ' +
  '--as-file-descriptor-set -o FILE)';

/** Reads and links the descriptor set; throws ProtoDescriptorError. */
export async function loadProtoDescriptor(file: string): Promise<FileRegistry> {
  const path = resolvePath(file);
  const refused = await checkRegularFile(path, MAX_DESCRIPTOR_BYTES);
  if (refused !== null) throw new ProtoDescriptorError(file, refused);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new ProtoDescriptorError(file, `cannot be read: ${reason}`, { cause: error });
  }
  let registry: FileRegistry;
  try {
    const set = fromBinary(FileDescriptorSetSchema, bytes);
    if (set.file.length === 0) throw new Error('it holds no file descriptors');
    registry = createFileRegistry(set);
  } catch (error) {
    // The usual cause is a set built without --include_imports: an import's types are then missing.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProtoDescriptorError(file, `${reason}; ${HOW_TO_BUILD}`, { cause: error });
  }
  if (servicesOf(registry) === 0) {
    throw new ProtoDescriptorError(file, `it declares no service, so no gRPC method can be decoded; ${HOW_TO_BUILD}`);
  }
  return registry;
}

function servicesOf(registry: FileRegistry): number {
  let services = 0;
  for (const file of registry.files) services += file.services.length;
  return services;
}

/** What the input builder calls for a gRPC body; reads whichever descriptor set is in force. */
export interface GrpcBodyDecoder {
  decode(parsedPath: readonly string[], bytes: Uint8Array): GrpcBodyFacts;
}

export interface GrpcBodyStage extends GrpcBodyDecoder {
  /** re-reads the file; false (and the last good set kept) when it cannot be used */
  reload(): Promise<boolean>;
  watch(options: { debounceMs?: number | undefined; pollMs: number }): Promise<void>;
  close(): void;
}

export async function createGrpcBodyStage(file: string, logger: Logger): Promise<GrpcBodyStage> {
  let registry = await loadProtoDescriptor(file);
  logger.info({ file, services: servicesOf(registry) }, 'gRPC descriptor set loaded');
  let watcher: PolicyWatch | undefined;

  const reload = serialReloads(async () => {
    try {
      registry = await loadProtoDescriptor(file);
      logger.info({ file, services: servicesOf(registry) }, 'gRPC descriptor set reloaded');
      return true;
    } catch (error) {
      logger.error({ err: error }, 'gRPC descriptor set reload failed; keeping the last good set');
      return false;
    }
  });

  return {
    decode: (parsedPath, bytes) => decodeGrpcBody(registry, parsedPath, bytes),
    reload,
    async watch(options) {
      watcher?.close();
      watcher = await watchPaths([resolvePath(file)], () => void reload(), {
        debounceMs: options.debounceMs ?? 200,
        pollMs: options.pollMs,
        onProblem: (problem) =>
          logger.warn({ kind: problem.kind }, 'gRPC descriptor watch problem; the periodic check covers it'),
      });
    },
    close() {
      watcher?.close();
      watcher = undefined;
    },
  };
}
