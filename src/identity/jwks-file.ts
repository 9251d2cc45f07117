// Static keys from `jwksFile`, read once at start-up (path relative to the process cwd).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { JwksInvalidError } from './errors.js';
import { parseJwks } from './key-set.js';
import type { KeySet } from './key-set.js';

export async function loadJwksFile(file: string, providerName: string): Promise<KeySet> {
  const path = resolve(process.cwd(), file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new JwksInvalidError(
      `jwt.providers[${providerName}].jwksFile: cannot read ${path}; check the path (relative to ${process.cwd()})`,
      { cause },
    );
  }
  const loaded = parseJwks(text, `jwt.providers[${providerName}].jwksFile ${path}`);
  const loadedAt = Date.now();
  return {
    getKey: loaded.lookup,
    status: () => ({ origin: 'file', keys: loaded.keyCount, fetches: 1, failures: 0, consecutiveFailures: 0, loadedAt }),
    close: () => {},
  };
}
