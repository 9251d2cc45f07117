// `${VAR}` and `${VAR:-default}` in YAML scalars. Expansion happens on parsed scalars, not on the text, so
// a value holding `:` or `#` cannot change the document's structure. Because `{` is a flow indicator, an
// unquoted `${VAR}` inside `{ ... }` is not valid YAML; references are first swapped for inert placeholders
// (same line, so error positions stay right) and restored in the parsed scalars.

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$/g;
const WHOLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Expands every reference in `text`. `$$` is a literal `$`. An unset variable without a default becomes
 * the empty string; `${VAR:-x}` uses `x` when VAR is unset or empty, as in POSIX shells.
 */
export function expandEnv(text: string, env: Env): string {
  return text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$$') return '$';
    const value = env[name ?? ''];
    if (value !== undefined && value !== '') return value;
    return fallback ?? '';
  });
}

/**
 * A scalar that is exactly one `${VAR}` whose variable is unset and has no default means "not configured":
 * the key is dropped so the schema's default or optionality applies (e.g. `token: ${PORTCULLIS_ADMIN_TOKEN}`
 * leaves the admin token unset instead of setting it to "").
 */
export function isUnsetReference(text: string, env: Env): boolean {
  const match = WHOLE_REFERENCE.exec(text);
  if (match === null || match[2] !== undefined) return false;
  const value = env[match[1] ?? ''];
  return value === undefined || value === '';
}

export interface ShieldedText {
  text: string;
  /** placeholder -> the reference it stands for */
  restore(scalar: string): string;
  hasPlaceholder(scalar: string): boolean;
}

const PLACEHOLDER = /__portcullis_env_(\d+)__/g;

export function shieldReferences(text: string): ShieldedText {
  const references: string[] = [];
  const shielded = text.replace(REFERENCE, (match) => {
    references.push(match);
    return `__portcullis_env_${references.length - 1}__`;
  });
  return {
    text: shielded,
    restore: (scalar) => scalar.replace(PLACEHOLDER, (match, index: string) => references[Number(index)] ?? match),
    hasPlaceholder: (scalar) => scalar.includes('__portcullis_env_'),
  };
}
