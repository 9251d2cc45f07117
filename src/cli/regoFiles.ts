// The files `policy check|test|fmt` work on: every .rego file under the PATHs given (a file, or a directory
// read as `policy build` reads it, test files included), and for `policy test` the data.json/yaml files
// beside them, merged at their directory's path (a data file named as a PATH: at the root of data, as
// `opa test policy.rego data.json` loads it).
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { mergeAt } from '@portcullis/rego-wasm/bundle';
import { readRegoDir, RegoDirError } from '@portcullis/rego-wasm/dir';
import type { RegoSource } from '@portcullis/rego-wasm';
import { UsageError } from './policy.js';

export interface RegoFiles {
  rego: RegoSource[];
  /** Base data from data.json / data.yaml files, or undefined when there is none. */
  data: unknown;
}

const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml']);

export async function readRegoFiles(paths: string[]): Promise<RegoFiles> {
  const rego: RegoSource[] = [];
  let data: unknown;
  const seen = new Set<string>();
  for (const root of paths.length === 0 ? ['.'] : paths) {
    const info = await stat(root).catch(() => undefined);
    if (info === undefined) throw new UsageError(`${root}: no such file or directory`);
    if (!info.isDirectory()) {
      if (!seen.has(root) && root.endsWith('.rego')) rego.push({ path: root, source: await readFile(root, 'utf8') });
      else if (!seen.has(root) && DATA_FILES.has(basename(root)))
        data = mergeAt(data ?? {}, [], await readData(root), root);
      seen.add(root);
      continue;
    }
    const dir = await readDirectory(root);
    for (const source of dir.sources) {
      if (seen.has(source.path)) continue;
      seen.add(source.path);
      rego.push(source);
    }
    if (dir.data !== undefined) data = mergeAt(data ?? {}, [], dir.data, root);
  }
  if (rego.length === 0) throw new UsageError(`${paths.join(' ') || '.'}: no .rego files found`);
  return { rego, data };
}

async function readDirectory(root: string): Promise<Awaited<ReturnType<typeof readRegoDir>>> {
  try {
    return await readRegoDir(root, { tests: true });
  } catch (error) {
    if (error instanceof RegoDirError) throw new UsageError(error.message);
    throw error;
  }
}

async function readData(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  const json = file.endsWith('.json');
  try {
    return json ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    throw new UsageError(`${file}: not valid ${json ? 'JSON' : 'YAML'} (${(error as Error).message})`);
  }
}
