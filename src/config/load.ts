// Config file -> validated Config. YAML is parsed with positions kept, `${VAR}` references are expanded in
// the parsed scalars, and zod's issues are reported as `file:line: key.path: problem`.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parse as parseYaml, parseDocument, visit, type Document, type Node } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { expandEnv, isUnsetReference, shieldReferences, type Env, type ShieldedText } from './env.js';

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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_READ', `cannot read config file ${file}: ${(error as Error).message}`, file, [], {
      cause: error,
    });
  }
  return { config: parseConfigText(text, file, env), file };
}

export function parseConfigText(text: string, file: string, env: Env): Config {
  const lineCounter = new LineCounter();
  const shielded = shieldReferences(text);
  const doc = parseDocument(shielded.text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new ConfigError(
      'CONFIG_YAML',
      `${file}:${line}: invalid YAML: ${shielded.restore(yamlError.message.split('\n')[0] ?? '')}`,
      file,
    );
  }
  expandReferences(doc, shielded, env);
  const raw: unknown = doc.toJS() ?? {};
  return validate(raw, doc, { file, lineCounter });
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

function validate(raw: unknown, doc: Document | null, where: { file: string; lineCounter: LineCounter } | null): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = result.error.issues.flatMap((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        keyPath: formatPath([...path, key]),
        message: 'unknown key (check the spelling against the configuration reference)',
        line: lineOf(doc, [...path, key], where, true),
      }));
    }
    return [{ keyPath: formatPath(path) || '(root)', message: issue.message, line: lineOf(doc, path, where, false) }];
  });
  const source = where?.file ?? '(embedded defaults)';
  const lines = issues.map((i) => `${source}${i.line === null ? '' : `:${i.line}`}: ${i.keyPath}: ${i.message}`);
  throw new ConfigError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`, where?.file ?? null, issues);
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
      offset = wantKey && part === path[path.length - 1] ? rangeStart(pair.key) : rangeStart(pair.value) ?? rangeStart(pair.key);
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
