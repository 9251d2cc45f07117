/**
 * `input.parsed_path`: the path before `?`, split on `/` after dropping exactly one leading `/`, each
 * segment percent-decoded. Empty segments are kept (`//admin/x` -> ["", "admin", "x"]) so a policy
 * matching `parsed_path[0] == "admin"` cannot be bypassed by doubling a slash. Segments are decoded after
 * splitting, so `%2F` stays inside its segment instead of inventing a new one.
 */
export function parsePath(path: string): string[] {
  const cut = firstIndexOf(path, '?', '#');
  const pathOnly = cut === -1 ? path : path.slice(0, cut);
  const relative = pathOnly.startsWith('/') ? pathOnly.slice(1) : pathOnly;
  return relative.split('/').map(decodeSegment);
}

function firstIndexOf(text: string, ...chars: string[]): number {
  const found = chars.map((c) => text.indexOf(c)).filter((i) => i !== -1);
  return found.length === 0 ? -1 : Math.min(...found);
}

/** A malformed escape (`%zz`) is kept as sent rather than failing the check. */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
