// Builtins that take their arguments as the wire's JSON texts and answer with one (a JSON text: a string
// result is quoted) or undefined, for values a parse into JavaScript would change: a decimal with more
// digits than a double holds.

export type TextBuiltin = (...texts: unknown[]) => string | undefined;

const TEXT_BUILTINS = new WeakSet<TextBuiltin>();

/** Marks `impl` as taking wire texts (see index.ts, which hands them over unparsed). */
export function textBuiltin(impl: TextBuiltin): TextBuiltin {
  TEXT_BUILTINS.add(impl);
  return impl;
}

export function takesTexts(impl: unknown): impl is TextBuiltin {
  return typeof impl === 'function' && TEXT_BUILTINS.has(impl as TextBuiltin);
}
