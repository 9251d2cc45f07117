// The rate limit service's rule files in force: read at start-up (a bad file stops start-up, naming it),
// then re-read on every change the shell reports; a bad edit keeps the last good rules and says so.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Logger } from 'pino';
import { buildRules, RuleFileError, type ServiceRules } from './service-rules.js';

export interface ServiceRulesSource {
  current(): ServiceRules;
  /** Re-read every file; keeps the rules in force when one is bad. Resolves true when the new rules are in force. */
  reload(): Promise<boolean>;
}

/** A configured path: a rule file, or a directory whose *.yaml / *.yml files are read (as ratelimit reads one). */
async function expand(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new RuleFileError(path, `cannot read: ${(error as Error).message}`);
  }
  if (!info.isDirectory()) return [path];
  const names = await readdir(path);
  return names
    .filter((n) => !n.startsWith('.') && ['.yaml', '.yml'].includes(extname(n)))
    .sort()
    .map((n) => join(path, n));
}

async function readRules(paths: readonly string[]): Promise<ServiceRules> {
  const files = (await Promise.all(paths.map(expand))).flat();
  const texts = await Promise.all(
    files.map(async (file) => {
      try {
        return { file, text: await readFile(file, 'utf8') };
      } catch (error) {
        throw new RuleFileError(file, `cannot read: ${(error as Error).message}`);
      }
    }),
  );
  return buildRules(texts);
}

export async function loadServiceRules(paths: readonly string[], logger: Logger): Promise<ServiceRulesSource> {
  let rules = await readRules(paths);
  logger.info({ files: rules.files, domains: [...rules.domains.keys()] }, 'rate limit service rules loaded');
  return {
    current: () => rules,
    async reload() {
      try {
        rules = await readRules(paths);
      } catch (error) {
        logger.error({ err: error }, 'rate limit service rules not reloaded: keeping the last good rules');
        return false;
      }
      logger.info({ files: rules.files, domains: [...rules.domains.keys()] }, 'rate limit service rules reloaded');
      return true;
    },
  };
}
