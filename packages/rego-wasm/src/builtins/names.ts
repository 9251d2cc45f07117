/**
 * The SDK prefers its own implementation of a builtin over customBuiltins when both exist, and its
 * `sprintf` (sprintf-js) does not follow Go's verbs. Modules Portcullis emits therefore list these builtins
 * under a Portcullis name, which customBuiltins also carries.
 */
const WIRE_NAMES: Readonly<Record<string, string>> = {
  sprintf: 'portcullis.sprintf',
};

/**
 * Builtins whose arguments or results can be integers beyond 2^53, which the SDK's JSON.parse would round.
 * Modules Portcullis emits call them as `portcullis.exact.<name>`: every argument goes out as its JSON text
 * (a string made in Wasm) and the result comes back as JSON text that Wasm parses, so big integers stay
 * exact both ways (see exact.ts).
 */
const EXACT = new Set([
  'time.now_ns', 'time.parse_rfc3339_ns', 'units.parse_bytes', 'time.date', 'time.clock', 'time.weekday',
  'time.add_date', 'time.parse_duration_ns', 'numbers.range', 'format_int', 'to_number', 'sprintf',
]);

const EXACT_PREFIX = 'portcullis.exact.';

export function isExactBuiltin(regoName: string): boolean {
  return EXACT.has(regoName);
}

export function builtinWireName(regoName: string): string {
  if (EXACT.has(regoName)) return `${EXACT_PREFIX}${regoName}`;
  return WIRE_NAMES[regoName] ?? regoName;
}

export function wireAliases(): Readonly<Record<string, string>> {
  return WIRE_NAMES;
}

export function exactWireNames(): ReadonlyArray<readonly [rego: string, wire: string]> {
  return [...EXACT].map((name) => [name, `${EXACT_PREFIX}${name}`] as const);
}
