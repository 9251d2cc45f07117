// Plain JSON objects: the one type guard and the one deep merge the sidecar uses.

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `over` laid over `base`: objects merge key by key, anything else in `over` replaces what `base` has there.
 * This is the rule for data an operator adds on top of a policy's own (`policy.data`, `policy eval --data`).
 * The files of one policy directory or bundle follow the other rule, OPA's: two files may not set the same
 * value, a conflict is an error (`mergeAt` of `@portcullis/rego-wasm/bundle`).
 */
export function mergeOver(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = key in merged ? mergeOver(merged[key], value) : value;
  return merged;
}
