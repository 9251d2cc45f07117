/**
 * The SDK prefers its own implementation of a builtin over customBuiltins when both exist, and its
 * `sprintf` (sprintf-js) does not follow Go's verbs. Modules Portcullis emits therefore list these builtins
 * under a Portcullis name, which customBuiltins also carries.
 */
const WIRE_NAMES: Readonly<Record<string, string>> = {
  sprintf: 'portcullis.sprintf',
};

export function builtinWireName(regoName: string): string {
  return WIRE_NAMES[regoName] ?? regoName;
}

export function wireAliases(): Readonly<Record<string, string>> {
  return WIRE_NAMES;
}
