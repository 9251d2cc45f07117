// Request method + path -> one operation. Routes are grouped by segment count and ordered most specific
// first, as OpenAPI says: a concrete segment beats a templated one (`/pets/mine` before `/pets/{id}`).
import type { CompiledOperation, Route, Segment } from './compileDocument.js';

export interface RouteTable {
  bySegmentCount: Map<number, Route[]>;
}

export type RouteMatch =
  | { kind: 'operation'; operation: CompiledOperation; pathValues: Record<string, string> }
  /** the path matched a route, the method none of its operations */
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'none' };

/** Routes of several documents in one table; the first document to describe a method on a path wins. */
export function buildRouteTable(routes: Route[]): RouteTable {
  const merged = new Map<string, Route>();
  for (const route of routes) {
    const existing = merged.get(route.template);
    if (existing === undefined) {
      merged.set(route.template, { ...route, operations: new Map(route.operations) });
      continue;
    }
    for (const [method, operation] of route.operations)
      if (!existing.operations.has(method)) existing.operations.set(method, operation);
  }
  const bySegmentCount = new Map<number, Route[]>();
  for (const route of merged.values()) {
    const list = bySegmentCount.get(route.segments.length) ?? [];
    list.push(route);
    bySegmentCount.set(route.segments.length, list);
  }
  for (const list of bySegmentCount.values()) list.sort(compareSpecificity);
  return { bySegmentCount };
}

const RANK: Record<Segment['kind'], number> = { literal: 0, pattern: 1, param: 2 };

function compareSpecificity(a: Route, b: Route): number {
  for (let i = 0; i < a.segments.length; i++) {
    const difference = RANK[a.segments[i]!.kind] - RANK[b.segments[i]!.kind];
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * `path` is the request path without its query, still percent-encoded (values are decoded by the
 * parameter reader, so `%2F` stays inside one segment). HEAD falls back to GET, as HTTP servers answer it.
 */
export function matchRoute(table: RouteTable, method: string, path: string): RouteMatch {
  const parts = path.split('/').slice(1);
  const candidates = table.bySegmentCount.get(parts.length);
  if (candidates === undefined) return { kind: 'none' };
  let allow: Set<string> | undefined;
  for (const route of candidates) {
    const pathValues = matchSegments(route.segments, parts);
    if (pathValues === null) continue;
    const operation = route.operations.get(method) ?? (method === 'HEAD' ? route.operations.get('GET') : undefined);
    if (operation !== undefined) return { kind: 'operation', operation, pathValues };
    allow ??= new Set();
    for (const m of route.operations.keys()) allow.add(m);
  }
  return allow === undefined ? { kind: 'none' } : { kind: 'method_not_allowed', allow: [...allow].sort() };
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | null {
  let values: Record<string, string> | null = null;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    switch (segment.kind) {
      case 'literal':
        if (part !== segment.text && safeDecode(part) !== segment.text) return null;
        break;
      case 'param':
        if (part === '') return null;
        (values ??= {})[segment.name] = part;
        break;
      case 'pattern': {
        const match = segment.regex.exec(part);
        if (match === null) return null;
        values ??= {};
        segment.names.forEach((name, n) => {
          values![name] = match[n + 1] ?? '';
        });
        break;
      }
    }
  }
  return values ?? {};
}

function safeDecode(text: string): string | null {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
