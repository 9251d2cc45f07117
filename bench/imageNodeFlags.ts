// The Node flags the image runs the server with (the Dockerfile's ENTRYPOINT, between `node` and the
// script), so that a benchmark measures the server as deployed without keeping a second copy of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function imageNodeFlags(root: string): string[] {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (entrypoint === undefined) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const argv = JSON.parse(entrypoint) as string[];
  const node = argv.indexOf('node');
  const script = argv.findIndex((arg) => arg.endsWith('.js'));
  if (node < 0 || script < node) throw new Error(`the Dockerfile's ENTRYPOINT does not run node: ${entrypoint}`);
  return argv.slice(node + 1, script);
}

/**
 * The environment the image's runtime stage sets for the process (its ENV lines after the last FROM), less the
 * PORTCULLIS_* settings (config file and addresses, which a benchmark sets itself): what tunes Node and the C
 * library (NODE_ENV, MALLOC_ARENA_MAX, ...), so a benchmark runs the server under them as it runs it with the flags.
 */
export function imageNodeEnv(root: string): Record<string, string> {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const runtime = dockerfile.slice(dockerfile.search(/^FROM .*$(?![\s\S]*^FROM )/m));
  const env: Record<string, string> = {};
  for (const line of runtime.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of line[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      const [, name, value] = pair as unknown as [string, string, string];
      if (!name.startsWith('PORTCULLIS_')) env[name] = value.replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}
