/** `{name: [values]}` of a `a=1&a=2&b` query string (form decoding: `+` is a space, as Envoy and Go do). */
export function parseQueryString(query: string): Record<string, string[]> {
  const parsed: Record<string, string[]> = {};
  if (query === '') return parsed;
  for (const [name, value] of new URLSearchParams(query)) {
    (parsed[name] ??= []).push(value);
  }
  return parsed;
}

/** `input.parsed_query` of a request path such as `/a?x=1&x=2`. */
export function parseQuery(path: string): Record<string, string[]> {
  const start = path.indexOf('?');
  if (start === -1) return {};
  const end = path.indexOf('#', start);
  return parseQueryString(path.slice(start + 1, end === -1 ? undefined : end));
}
