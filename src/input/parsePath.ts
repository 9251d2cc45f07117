// `input.parsed_path` and `input.parsed_query` exactly as current OPA-Envoy builds them: the path is cut
// at the first `?`; the part before is percent-decoded as a whole, every leading `/` is trimmed and the
// rest split on `/` (`/` -> [""], `/a/` -> ["a", ""], `//admin/x` -> ["admin", "x"], `/a%2Fb/c` ->
// ["a", "b", "c"]); the part after is the query. A malformed escape in either makes the request invalid
// (400, as OPA-Envoy answers), so a policy never sees a path or query other than the one the upstream
// will decode. The raw path stays in `input.attributes`.
import { MAX_PATH_SEGMENTS } from './limits.js';
import { pathUnescape } from './percentDecode.js';
import { parseQueryString, type FormMap } from './parseQuery.js';

export type PathOutcome = { ok: true; parsedPath: string[]; parsedQuery: FormMap } | { ok: false; detail: string };

export function parsePathAndQuery(path: string, maxSegments = MAX_PATH_SEGMENTS): PathOutcome {
  const cut = path.indexOf('?');
  const rawPath = cut === -1 ? path : path.slice(0, cut);
  const decoded = pathUnescape(rawPath);
  if (decoded === undefined) return { ok: false, detail: 'path: malformed percent-escape' };
  const parsedPath = splitSegments(trimLeadingSlashes(decoded), maxSegments);
  if (parsedPath === undefined) return { ok: false, detail: `path: more than ${maxSegments} segments` };
  const query = parseQueryString(cut === -1 ? '' : path.slice(cut + 1));
  if (!query.ok) return { ok: false, detail: `query: ${query.detail}` };
  return { ok: true, parsedPath, parsedQuery: query.values };
}

function trimLeadingSlashes(path: string): string {
  let start = 0;
  while (path.charCodeAt(start) === 0x2f) start++;
  return path.slice(start);
}

/** `split('/')` that stops counting once past the limit instead of building a huge array first. */
function splitSegments(path: string, maxSegments: number): string[] | undefined {
  const segments: string[] = [];
  let from = 0;
  for (;;) {
    if (segments.length === maxSegments) return undefined;
    const slash = path.indexOf('/', from);
    if (slash === -1) {
      segments.push(path.slice(from));
      return segments;
    }
    segments.push(path.slice(from, slash));
    from = slash + 1;
  }
}

/**
 * The path before its query (`?`) or fragment (`#`), for logs, rate-limit keys and the admin routes: a
 * query neither opens a fresh bucket per request nor puts tokens sent as query parameters in a log. (The
 * policy input's own split, above, follows OPA-Envoy and cuts at `?` only.)
 */
export function pathWithoutQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}
