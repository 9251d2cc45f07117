// The files `policy check|test|fmt` work on: every .rego file under the PATHs given (a file, or a directory
// searched recursively; test files included), and for `policy test` the data.json/yaml files beside them,
// merged at their directory's path as `policy build` does.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { mergeAt } from '@portcullis/rego-wasm/bundle';
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
    const files = info.isDirectory() ? await listFiles(root) : [root];
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      const base = file.split(sep).pop() as string;
      if (file.endsWith('.rego')) {
        rego.push({ path: file, source: await readFile(file, 'utf8') });
      } else if (info.isDirectory() && DATA_FILES.has(base)) {
        const segments = relative(root, file).split(sep).slice(0, -1);
        const text = await readFile(file, 'utf8');
        let parsed: unknown;
        try {
          parsed = base.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
        } catch (error) {
          throw new UsageError(
            `${file}: not valid ${base.endsWith('.json') ? 'JSON' : 'YAML'} (${(error as Error).message})`,
          );
        }
        data = mergeAt(data ?? {}, segments, parsed, file);
      }
    }
  }
  if (rego.length === 0) throw new UsageError(`${paths.join(' ') || '.'}: no .rego files found`);
  return { rego, data };
}

/** Files under dir, sorted, skipping hidden entries and node_modules. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
