// Files named by the configuration are stat'ed before anything opens them: a FIFO blocks a read forever,
// /dev/zero never ends, and a multi-gigabyte file is a mistake, not a policy. Only regular files (and, for
// policy.path, directories) of a bounded size are read.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from './schema.js';

export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** policy.path (a .wasm or bundle) and policy.data */
export const MAX_POLICY_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_JWKS_FILE_BYTES = 1024 * 1024;

export interface PathIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * Why `file` cannot be read as configuration input, or null when it can. A missing file is left to the
 * reader (its message says where it looked); only what would hang or flood is refused here.
 */
export async function checkRegularFile(file: string, maxBytes: number, allowDirectory = false): Promise<string | null> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return null;
  }
  if (info.isDirectory()) return allowDirectory ? null : 'is a directory; expected a file';
  if (!info.isFile()) return `is not a regular file (${kindOf(info)}); expected a file`;
  if (info.size > maxBytes) return `is ${info.size} bytes, more than the ${maxBytes} allowed`;
  return null;
}

/** Every file the configuration names (policy.path, policy.data, jwt.providers[].jwksFile), checked. */
export async function checkConfigFiles(config: Config): Promise<PathIssue[]> {
  const checks: Array<{
    path: Array<string | number>;
    file: string | undefined;
    maxBytes: number;
    allowDirectory: boolean;
  }> = [
    { path: ['policy', 'path'], file: config.policy.path, maxBytes: MAX_POLICY_FILE_BYTES, allowDirectory: true },
    { path: ['policy', 'data'], file: config.policy.data, maxBytes: MAX_POLICY_FILE_BYTES, allowDirectory: false },
    ...config.jwt.providers.map((provider, i) => ({
      path: ['jwt', 'providers', i, 'jwksFile'],
      file: provider.jwksFile,
      maxBytes: MAX_JWKS_FILE_BYTES,
      allowDirectory: false,
    })),
  ];
  const issues: PathIssue[] = [];
  for (const check of checks) {
    if (check.file === undefined) continue;
    const problem = await checkRegularFile(resolve(check.file), check.maxBytes, check.allowDirectory);
    if (problem !== null) issues.push({ path: check.path, message: `${check.file} ${problem}` });
  }
  return issues;
}

function kindOf(info: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}
