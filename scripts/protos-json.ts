// Generates proto/authorization.json and proto/ratelimit.json, the protobufjs JSON form of the services the
// server answers, from the .proto files in proto/ (`npm run protos` after updating them). The server loads
// these with protobufjs's light build: no .proto parser, no descriptor machinery, no per-message definitions
// (@grpc/proto-loader built one for each of the ~400 types it loaded, ~2 MB of heap the server never read).
// test/server/protos.test.ts fails when a file here is not what this script makes of proto/ today.
import { accessSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// proto-loader registers google/protobuf/{api,descriptor,source_context,type}.proto with protobufjs when
// imported, as it does when it loads .proto files itself: the JSON then holds the same types.
import '@grpc/proto-loader';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

/** Each generated file and the .proto files its root is loaded from (as the server loaded them before). */
export const SERVICE_ROOTS = {
  'authorization.json': ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'],
  'ratelimit.json': ['envoy/service/ratelimit/v3/rls.proto'],
} as const;

/** The protobufjs JSON of `files` as @grpc/proto-loader loads them (include dir proto/, lowerCamelCase names). */
export function rootJson(files: readonly string[], protoDir = PROTO_DIR): protobuf.INamespace {
  const root = new protobuf.Root();
  const resolvePath = root.resolvePath.bind(root);
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    const inDir = join(protoDir, target);
    try {
      accessSync(inDir);
      return inDir;
    } catch {
      return resolvePath(origin, target);
    }
  };
  root.loadSync([...files], { keepCase: false });
  root.resolveAll();
  return root.toJSON();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [name, files] of Object.entries(SERVICE_ROOTS)) {
    writeFileSync(join(PROTO_DIR, name), `${JSON.stringify(rootJson(files))}\n`);
    console.log(`wrote proto/${name}`);
  }
}
