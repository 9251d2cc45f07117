// `{name: [values]}` of a query string or form body, as Go's url.ParseQuery builds it for OPA-Envoy:
// pairs split on `&`, empty pairs skipped, the name ends at the first `=`, `+` is a space. A pair with a
// malformed escape or a `;` makes the whole string invalid (OPA-Envoy answers 400 for such a query).
// The map has no prototype, so `constructor` or `__proto__` are ordinary names.
import { MAX_QUERY_PAIRS } from './limits.js';
import { queryUnescape } from './percentDecode.js';

export type FormMap = Record<string, string[]>;

export type QueryOutcome =
  { ok: true; values: FormMap } | { ok: false; error: 'invalid_encoding' | 'too_many_pairs'; detail: string };

export function parseQueryString(query: string, maxPairs = MAX_QUERY_PAIRS): QueryOutcome {
  const values: FormMap = Object.create(null) as FormMap;
  if (query === '') return { ok: true, values };
  let pairs = 0;
  // Walked pair by pair (not split up front), so a string far over the limit costs no more than the limit.
  for (let from = 0; from <= query.length;) {
    const amp = query.indexOf('&', from);
    const end = amp === -1 ? query.length : amp;
    const pair = query.slice(from, end);
    from = end + 1;
    if (pair === '') continue;
    if (++pairs > maxPairs) return { ok: false, error: 'too_many_pairs', detail: `more than ${maxPairs} pairs` };
    if (pair.includes(';')) return { ok: false, error: 'invalid_encoding', detail: 'a ";" separates pairs' };
    const eq = pair.indexOf('=');
    const name = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq === -1 ? '' : pair.slice(eq + 1));
    if (name === undefined || value === undefined) {
      return { ok: false, error: 'invalid_encoding', detail: 'a malformed percent-escape' };
    }
    (values[name] ??= []).push(value);
  }
  return { ok: true, values };
}
