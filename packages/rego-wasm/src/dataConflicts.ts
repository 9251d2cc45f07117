// Base data against rule paths, as OPA checks them when it loads data beside a policy: data at or below a
// rule's path, or a non-object in data above it, would give one document two definitions, so OPA refuses to
// load it ("conflicting rule for data path a/b found"). Compiled modules check the same at each evaluation;
// this lets a host refuse the data at load instead, before it serves a single request.

/** The first rule path (below `data`) that `data` conflicts with, as `a/b/c`; null when there is none. */
export function dataConflict(rulePaths: ReadonlyArray<readonly string[]>, data: unknown): string | null {
  for (const path of rulePaths) if (path.length > 0 && conflictsAt(data, path)) return path.join('/');
  return null;
}

/** OPA's storage.NonEmpty: a value at the path, or a non-object at the longest prefix that holds one. */
function conflictsAt(data: unknown, path: readonly string[]): boolean {
  let node: unknown = data;
  for (const segment of path) {
    if (!isObject(node)) return true;
    if (!Object.hasOwn(node, segment)) return false;
    node = node[segment];
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
