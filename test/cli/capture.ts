// An in-memory CliOutput for driving the policy commands in-process.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliOutput } from '../../src/cli/policy.js';

export function capture(): CliOutput & { out: string; err: string } {
  const sink = {
    out: '',
    err: '',
    stdout(text: string) {
      sink.out += text;
    },
    stderr(text: string) {
      sink.err += text;
    },
  };
  return sink;
}

export async function writeTree(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}
