// An entrypoint in any of the forms OPA-Envoy users write it -> the `package/path/rule` form Wasm modules
// name their entrypoints by. OPA-Envoy's `path` is `envoy/authz/allow` (leading and doubled slashes are
// skipped), its older `query` is `data.envoy.authz.allow`; people also write `envoy.authz.allow`.

/** The form given cannot name a rule; `reason` says what to write instead. */
export class EntrypointFormatError extends Error {
  readonly code = 'ENTRYPOINT_FORMAT';
  constructor(
    readonly entrypoint: string,
    reason: string,
  ) {
    super(`entrypoint "${entrypoint}": ${reason}; write it as package/path/rule, e.g. envoy/authz/allow`);
    this.name = 'EntrypointFormatError';
  }
}

export function normalizeEntrypoint(entrypoint: string): string {
  const text = entrypoint.trim();
  if (/[\s[\]"'(){}=:]/.test(text)) {
    throw new EntrypointFormatError(entrypoint, 'only a plain rule reference is accepted, not a query or brackets');
  }
  // A slash anywhere means the path form; without one, the dotted (Rego reference) form.
  const segments = (text.includes('/') ? text.split('/') : text.split('.')).filter((s) => s !== '');
  if (!text.includes('/') && segments[0] === 'data') segments.shift();
  if (segments.length === 0) throw new EntrypointFormatError(entrypoint, 'it names no rule');
  return segments.join('/');
}
