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
