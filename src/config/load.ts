// Config file -> validated Config. YAML is parsed with positions kept, `${VAR}` references are expanded in
// the parsed scalars, and zod's issues are reported as `file:line: key.path: problem`.
import { readFile } from 'node:fs/promises';
import {
  LineCounter,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parse as parseYaml,
  parseDocument,
  visit,
  type Alias,
  type Document,
  type Node,
} from 'yaml';
import { configSchema, type Config } from './schema.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { expandEnv, isUnsetReference, shieldReferences, type Env, type ShieldedText } from './env.js';
import { checkConfigFiles, checkRegularFile, MAX_CONFIG_BYTES } from './files.js';
import { checkAddresses } from './addresses.js';

/** Problems listed one per line; the rest are counted ("and N more"), so a huge bad file gives a short message. */
export const MAX_REPORTED_ISSUES = 20;
/** An alias chain can expand a few lines into gigabytes; a configuration has no use for many aliases. */
const MAX_ALIAS_COUNT = 100;

export interface LoadedConfig {
  config: Config;
  /** the file read, or null for the embedded defaults */
  file: string | null;
}

/** `file` wins over PORTCULLIS_CONFIG; neither means the embedded defaults. */
export async function loadConfig(options: { file?: string | undefined; env?: Env } = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const file = options.file ?? (env['PORTCULLIS_CONFIG'] || undefined);
  if (file === undefined) return { config: validate({}, null, null), file: null };
  // Stat before opening: a FIFO would block the read forever and /dev/zero would never end.
  const problem = await checkRegularFile(file, MAX_CONFIG_BYTES);
  if (problem !== null) throw new ConfigError('CONFIG_READ', `cannot read config file ${file}: ${problem}`, file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_READ', `cannot read config file ${file}: ${(error as Error).message}`, file, [], {
      cause: error,
    });
  }
  const { config, locate } = parseWithPositions(text, file, env);
  // What the schema cannot see: files that are not regular files, hosts that do not resolve.
  const issues = [...(await checkConfigFiles(config)), ...(await checkAddresses(config))];
  if (issues.length > 0) {
    throw invalid(
      issues.map((i) => ({ keyPath: formatPath(i.path), message: i.message, line: locate(i.path) })),
      file,
    );
  }
  return { config, file };
}

export function parseConfigText(text: string, file: string, env: Env): Config {
  return parseWithPositions(text, file, env).config;
}

function parseWithPositions(
  text: string,
  file: string,
  env: Env,
): { config: Config; locate(path: ReadonlyArray<string | number>): number | null } {
  const lineCounter = new LineCounter();
  const shielded = shieldReferences(text);
  // yaml's own uniqueKeys check compares each key with every other (quadratic); ours uses a Set.
  const doc = parseDocument(shielded.text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new ConfigError(
      'CONFIG_YAML',
      `${file}:${line}: invalid YAML: ${shielded.restore(yamlError.message.split('\n')[0] ?? '')}`,
      file,
    );
  }
  const duplicate = firstDuplicateKey(doc);
  if (duplicate !== null) {
    const line = duplicate.offset === undefined ? '' : `:${lineCounter.linePos(duplicate.offset).line}`;
    throw new ConfigError(
      'CONFIG_YAML',
      `${file}${line}: invalid YAML: ${duplicate.keyPath}: duplicate key (map keys must be unique)`,
      file,
    );
  }
  expandReferences(doc, shielded, env);
  const raw: unknown = toJS(doc, file, lineCounter) ?? {};
  const where = { file, lineCounter };
  return { config: validate(raw, doc, where), locate: (path) => lineOf(doc, path, where, false) };
}

/** The document as plain data; an alias that is unresolved or expands too much names its file, line and key. */
function toJS(doc: Document, file: string, lineCounter: LineCounter): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const aliases: Array<{ node: Alias; keyPath: string }> = [];
    visit(doc, {
      Alias(_key, node, path) {
        aliases.push({ node, keyPath: keyPathOf(path, node) });
      },
    });
    const unresolved = aliases.find((a) => a.node.resolve(doc) === undefined);
    const culprit = unresolved ?? aliases.at(-1);
    const offset = rangeStart(culprit?.node);
    const at = offset === undefined ? '' : `:${lineCounter.linePos(offset).line}`;
    // yaml throws a ReferenceError for both: when every alias names an anchor before it, the count was too high.
    const reason =
      unresolved === undefined
        ? `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} alias uses); write the values out`
        : `alias *${unresolved.node.source} names no anchor defined before it`;
    throw new ConfigError(
      'CONFIG_YAML',
      `${file}${at}: invalid YAML: ${culprit?.keyPath || '(root)'}: ${reason}`,
      file,
      [],
      {
        cause: error,
      },
    );
  }
}

/** The first key repeated within one map, in one pass over the document. */
function firstDuplicateKey(doc: Document): { keyPath: string; offset: number | undefined } | null {
  let found: { keyPath: string; offset: number | undefined } | null = null;
  visit(doc, {
    Map(_key, node, path) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (seen.has(key)) {
          found = { keyPath: formatPath([...pathParts(path, node), key]), offset: rangeStart(pair.key) };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

/** Config key path (`a.b[2]`) of a node from the visitor's ancestor list. */
function keyPathOf(path: readonly unknown[], node: unknown): string {
  return formatPath(pathParts(path, node));
}

function pathParts(path: readonly unknown[], node: unknown): Array<string | number> {
  const parts: Array<string | number> = [];
  const chain = [...path, node];
  for (let i = 0; i < chain.length; i++) {
    const current = chain[i];
    const next = chain[i + 1];
    if (isPair(current) && isScalar(current.key)) parts.push(String(current.key.value));
    else if (isSeq(current) && next !== undefined) parts.push(current.items.indexOf(next as never));
  }
  return parts;
}

function expandReferences(doc: Document, shielded: ShieldedText, env: Env): void {
  visit(doc, {
    Pair(_key, pair) {
      const value = pair.value;
      if (isScalar(value) && typeof value.value === 'string' && isUnsetReference(shielded.restore(value.value), env)) {
        return visit.REMOVE;
      }
      return undefined;
    },
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !shielded.hasPlaceholder(node.value)) return;
      const expanded = expandEnv(shielded.restore(node.value), env);
      // An unquoted `${LIMIT:-100}` should be the number 100, as if written in place; quoted stays a string.
      node.value = node.type === 'PLAIN' ? asPlainScalar(expanded) : expanded;
    },
  });
}

function asPlainScalar(text: string): unknown {
  if (text === '') return '';
  try {
    const value: unknown = parseYaml(text);
    return value === null || typeof value === 'object' ? text : value;
  } catch {
    return text;
  }
}

function validate(
  raw: unknown,
  doc: Document | null,
  where: { file: string; lineCounter: LineCounter } | null,
): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const found = result.error.issues.flatMap((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: 'unknown key (check the spelling against the configuration reference)',
        wantKey: true,
      }));
    }
    return [{ path, message: issue.message, wantKey: false }];
  });
  // Finding a line scans its map, so only the reported issues get one: 100,000 unknown keys stay linear.
  const issues: ConfigIssue[] = found.map((issue, index) => ({
    keyPath: formatPath(issue.path) || '(root)',
    message: issue.message,
    line: index < MAX_REPORTED_ISSUES ? lineOf(doc, issue.path, where, issue.wantKey) : null,
  }));
  throw invalid(issues, where?.file ?? null);
}

/** One ConfigError for all issues, listing the first MAX_REPORTED_ISSUES and counting the rest. */
function invalid(issues: ConfigIssue[], file: string | null): ConfigError {
  const source = file ?? '(embedded defaults)';
  const lines = issues
    .slice(0, MAX_REPORTED_ISSUES)
    .map((i) => `${source}${i.line === null ? '' : `:${i.line}`}: ${i.keyPath}: ${i.message}`);
  if (issues.length > MAX_REPORTED_ISSUES) lines.push(`... and ${issues.length - MAX_REPORTED_ISSUES} more problems`);
  return new ConfigError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`, file, issues);
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text === '' ? part : `${text}.${part}`),
    '',
  );
}

/** Line of the value at `path` (or of the key itself, for unknown keys); the nearest existing ancestor otherwise. */
function lineOf(
  doc: Document | null,
  path: ReadonlyArray<string | number>,
  where: { lineCounter: LineCounter } | null,
  wantKey: boolean,
): number | null {
  if (doc === null || where === null) return null;
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
      if (pair === undefined) break;
      offset =
        wantKey && part === path[path.length - 1]
          ? rangeStart(pair.key)
          : (rangeStart(pair.value) ?? rangeStart(pair.key));
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset === undefined ? null : where.lineCounter.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range?.[0];
}
