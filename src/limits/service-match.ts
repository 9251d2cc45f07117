// Descriptors of a ShouldRateLimit call -> the limits that apply, with ratelimit's matching rules: at each
// level `key_value` first, then a `key_value*` wildcard, then `key` alone; a limit applies only when its
// level is the descriptor's last entry; `replaces` drops the named limits of the same call; `unlimited`
// never reaches the store; a descriptor's own `limit` (Envoy's override) replaces the file's.
import {
  UNIT_SECONDS,
  serviceStoreRule,
  type DescriptorNode,
  type RateLimitUnit,
  type ServiceLimit,
  type ServiceRules,
} from './service-rules.js';

export interface DescriptorEntry {
  key: string;
  value: string;
}

export interface RequestDescriptor {
  entries: readonly DescriptorEntry[];
  /** Envoy's per-descriptor override (`limit` in the rate_limit action) */
  limit?: { requestsPerUnit: number; unit: RateLimitUnit } | undefined;
}

/** What one descriptor gets. `name` names it in headers and logs (rate_limit.name, else its key path). */
export type DescriptorPlan =
  { kind: 'none' } | { kind: 'unlimited' } | { kind: 'limited'; limit: ServiceLimit; name: string };

/** ratelimit's GetLimit: the limit one descriptor matches in a domain's tree, or null. */
export function findLimit(
  root: DescriptorNode,
  entries: readonly DescriptorEntry[],
): { limit: ServiceLimit; name: string } | null {
  let level = root;
  let found: { limit: ServiceLimit; name: string } | null = null;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const withValue = `${entry.key}_${entry.value}`;
    let next = level.children.get(withValue);
    if (next === undefined) next = level.wildcards.find((w) => withValue.startsWith(w.prefix))?.node;
    let keyOnly = false;
    if (next === undefined) {
      next = level.children.get(entry.key);
      keyOnly = next !== undefined;
    }
    if (next === undefined) break;
    if (next.limit !== null && i === entries.length - 1) {
      const limit = next.limit;
      const name = limit.name ?? (keyOnly && limit.detailedMetric ? `${limit.id}_${entry.value}` : limit.id);
      found = { limit, name };
    }
    if (next.children.size === 0) break;
    level = next;
  }
  return found;
}

function overrideLimit(domain: string, descriptor: RequestDescriptor): { limit: ServiceLimit; name: string } {
  const { requestsPerUnit, unit } = descriptor.limit!;
  const id = `${domain}.${descriptor.entries.map((e) => `${e.key}_${e.value}`).join('.')}`;
  const periodSeconds = UNIT_SECONDS[unit];
  // The unit is part of the bucket: a new override unit starts a new budget, as ratelimit keys it.
  const limit: ServiceLimit = {
    id,
    name: null,
    replaces: [],
    unlimited: false,
    unit,
    requestsPerUnit,
    periodSeconds,
    shadow: false,
    detailedMetric: false,
    storeRule: serviceStoreRule(`${domain}#override#${unit}`, requestsPerUnit, periodSeconds, false),
  };
  return { limit, name: id };
}

/** Every descriptor of a call, planned; `replaces` applied across the call. */
export function planDescriptors(
  rules: ServiceRules,
  domain: string,
  descriptors: readonly RequestDescriptor[],
): DescriptorPlan[] {
  const root = rules.domains.get(domain);
  if (root === undefined) return descriptors.map(() => ({ kind: 'none' }));
  const matched = descriptors.map((d) =>
    d.limit !== undefined ? overrideLimit(domain, d) : findLimit(root, d.entries),
  );
  const replaced = new Set<string>();
  for (const m of matched) if (m !== null) for (const name of m.limit.replaces) replaced.add(name);
  return matched.map((m): DescriptorPlan => {
    if (m === null) return { kind: 'none' };
    if (m.limit.unlimited) return { kind: 'unlimited' };
    if (m.limit.name !== null && replaced.has(m.limit.name)) return { kind: 'none' };
    return { kind: 'limited', limit: m.limit, name: m.name };
  });
}

/** The store's key value of a descriptor: its entries, so `to_number` keyed without value counts per number. */
export function descriptorKeyValue(entries: readonly DescriptorEntry[]): string {
  return JSON.stringify(entries.map((e) => [e.key, e.value]));
}
