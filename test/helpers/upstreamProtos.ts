// Envoy's API protos as @grpc/grpc-js-xds vendors them (a development dependency): the upstream the
// server's own proto/ copies are checked against, and what the test client encodes with.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export const UPSTREAM_TREES = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'] as const;

/** Include dirs of Envoy's API and its dependencies, as grpc-js-xds vendors them. */
export function envoyIncludeDirs(): string[] {
  const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return UPSTREAM_TREES.map((tree) => join(depsDir, tree));
}
