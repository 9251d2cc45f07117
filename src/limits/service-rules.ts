// envoyproxy/ratelimit's rule files (domain, nested descriptors with key/value, rate_limit {unit,
// requests_per_unit, unlimited, name, replaces}, shadow_mode, detailed_metric) -> one lookup tree per domain,
// built once per load so a ShouldRateLimit call only walks maps. The file format and the checks at load
// time follow ratelimit's own (unknown keys, empty keys, duplicate composite keys, duplicate domains, a unit
// with `unlimited`, a bad unit and an empty `replaces` entry are errors), so a file ratelimit accepts is
// accepted here with the same meaning.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { encodeKeyComponent } from './keys.js';
import type { LimitRule } from './types.js';

/** Seconds per unit, as ratelimit divides time (a month is 30 days, a year 365). */
export const UNIT_SECONDS = {
  SECOND: 1,
  MINUTE: 60,
  HOUR: 3600,
  DAY: 86_400,
  MONTH: 30 * 86_400,
  YEAR: 365 * 86_400,
} as const;
export type RateLimitUnit = keyof typeof UNIT_SECONDS;

export interface ServiceLimit {
  /** `domain.key_value.key…`: names the descriptor in logs, headers and store keys */
  id: string;
  /** rate_limit.name, which `replaces` refers to */
  name: string | null;
  replaces: readonly string[];
  unlimited: boolean;
  unit: RateLimitUnit;
  requestsPerUnit: number;
  periodSeconds: number;
  shadow: boolean;
  /** detailed_metric: a key-only match is named with the request's value too */
  detailedMetric: boolean;
  /** what the store counts against: one bucket per descriptor entry and request values */
  storeRule: LimitRule;
}

/** A descriptor's store rule: `rls:` keeps it apart from rateLimits names, which cannot hold `:`. */
export function serviceStoreRule(
  id: string,
  requestsPerUnit: number,
  periodSeconds: number,
  shadow: boolean,
): LimitRule {
  return { name: `rls:${encodeKeyComponent(id)}`, limit: requestsPerUnit, periodSeconds, shadow };
}

export interface DescriptorNode {
  /** by `key_value` and by `key` alone, as ratelimit keys its map */
  children: Map<string, DescriptorNode>;
  /** `key_value*` entries of this level: prefix (without `*`) -> node, in file order */
  wildcards: Array<{ prefix: string; node: DescriptorNode }>;
  limit: ServiceLimit | null;
}

export interface ServiceRules {
  domains: ReadonlyMap<string, DescriptorNode>;
  /** the files they came from, for logs */
  files: readonly string[];
}

/** A rule file ratelimit would refuse too: names the file and what to fix. */
export class RuleFileError extends Error {
  readonly code = 'RATELIMIT_RULES';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'RuleFileError';
  }
}

interface YamlDescriptor {
  key: string;
  value?: string | undefined;
  rate_limit?: YamlRateLimit | undefined;
  shadow_mode?: boolean | undefined;
  detailed_metric?: boolean | undefined;
  descriptors?: YamlDescriptor[] | undefined;
}

interface YamlRateLimit {
  name?: string | undefined;
  replaces?: Array<{ name?: string | undefined }> | undefined;
  unit?: string | undefined;
  requests_per_unit?: number | undefined;
  unlimited?: boolean | undefined;
}

// YAML scalars: ratelimit reads values as strings even when written as numbers (`value: 50`).
const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const rateLimitSchema: z.ZodType<YamlRateLimit> = z.strictObject({
  name: scalarText.optional(),
  replaces: z.array(z.strictObject({ name: scalarText.optional() })).optional(),
  unit: z.string().optional(),
  requests_per_unit: z.number().int().min(0).max(4_294_967_295).optional(),
  unlimited: z.boolean().optional(),
});

const descriptorSchema: z.ZodType<YamlDescriptor> = z.lazy(() =>
  z.strictObject({
    key: scalarText,
    value: scalarText.optional(),
    rate_limit: rateLimitSchema.nullish().transform((v) => v ?? undefined),
    shadow_mode: z.boolean().optional(),
    detailed_metric: z.boolean().optional(),
    descriptors: z
      .array(descriptorSchema)
      .nullish()
      .transform((v) => v ?? undefined),
  }),
);

const fileSchema = z.strictObject({
  domain: scalarText,
  descriptors: z
    .array(descriptorSchema)
    .nullish()
    .transform((v) => v ?? []),
});

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return `${path === '' ? '' : `${path}: `}${issue.message}`;
}

/** One file's text -> its domain and tree. `file` names it in errors. */
export function parseRuleFile(text: string, file: string): { domain: string; root: DescriptorNode } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new RuleFileError(file, `invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const parsed = fileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new RuleFileError(file, parsed.error.issues.slice(0, 5).map(describeIssue).join('; '));
  const { domain, descriptors } = parsed.data;
  if (domain === '') throw new RuleFileError(file, 'config file cannot have empty domain');
  const root = emptyNode();
  loadLevel(root, descriptors, `${domain}.`, file);
  return { domain, root };
}

function emptyNode(): DescriptorNode {
  return { children: new Map(), wildcards: [], limit: null };
}

function loadLevel(
  level: DescriptorNode,
  descriptors: readonly YamlDescriptor[],
  parentId: string,
  file: string,
): void {
  for (const descriptor of descriptors) {
    if (descriptor.key === '') throw new RuleFileError(file, `descriptor under "${parentId}" has an empty key`);
    const finalKey =
      descriptor.value === undefined || descriptor.value === ''
        ? descriptor.key
        : `${descriptor.key}_${descriptor.value}`;
    const id = parentId + finalKey;
    if (level.children.has(finalKey)) throw new RuleFileError(file, `duplicate descriptor composite key '${id}'`);
    const node = emptyNode();
    if (descriptor.rate_limit !== undefined) node.limit = toLimit(descriptor, id, file);
    loadLevel(node, descriptor.descriptors ?? [], `${id}.`, file);
    level.children.set(finalKey, node);
    if (finalKey.endsWith('*')) level.wildcards.push({ prefix: finalKey.slice(0, -1), node });
  }
}

function toLimit(descriptor: YamlDescriptor, id: string, file: string): ServiceLimit {
  const block = descriptor.rate_limit!;
  const unlimited = block.unlimited === true;
  const unitName = (block.unit ?? '').toUpperCase();
  const validUnit = Object.hasOwn(UNIT_SECONDS, unitName);
  if (unlimited && validUnit) throw new RuleFileError(file, `${id}: should not specify rate limit unit when unlimited`);
  if (!unlimited && !validUnit) {
    throw new RuleFileError(
      file,
      `${id}: invalid rate limit unit '${block.unit ?? ''}' (second, minute, hour, day, month or year)`,
    );
  }
  const name = block.name === undefined || block.name === '' ? null : block.name;
  const replaces = (block.replaces ?? []).map((r) => r.name ?? '');
  for (const replaced of replaces) {
    if (replaced === '') throw new RuleFileError(file, `${id}: should not have an empty replaces entry`);
    if (replaced === name) throw new RuleFileError(file, `${id}: replaces should not contain name of same descriptor`);
  }
  const unit: RateLimitUnit = validUnit ? (unitName as RateLimitUnit) : 'SECOND';
  const requestsPerUnit = block.requests_per_unit ?? 0;
  const shadow = descriptor.shadow_mode === true;
  return {
    id,
    name,
    replaces,
    unlimited,
    unit,
    requestsPerUnit,
    periodSeconds: UNIT_SECONDS[unit],
    shadow,
    detailedMetric: descriptor.detailed_metric === true,
    storeRule: serviceStoreRule(id, requestsPerUnit, UNIT_SECONDS[unit], shadow),
  };
}

/** Every file -> one rule set. Two files may not share a domain (as ratelimit without MERGE_DOMAIN_CONFIG). */
export function buildRules(files: ReadonlyArray<{ file: string; text: string }>): ServiceRules {
  const domains = new Map<string, DescriptorNode>();
  const owner = new Map<string, string>();
  for (const { file, text } of files) {
    const { domain, root } = parseRuleFile(text, file);
    const first = owner.get(domain);
    if (first !== undefined) throw new RuleFileError(file, `duplicate domain '${domain}' (also in ${first})`);
    owner.set(domain, file);
    domains.set(domain, root);
  }
  return { domains, files: files.map((f) => f.file) };
}
