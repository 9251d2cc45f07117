// Builtins implemented in JavaScript, called by policy modules through the SDK's opa_builtinN hook.
import { wireAliases } from './names.js';

type Builtin = (...args: unknown[]) => unknown;

const implementations: Record<string, Builtin> = {};

export const customBuiltins: Record<string, Builtin> = { ...implementations };
for (const [rego, wire] of Object.entries(wireAliases())) {
  const impl = implementations[rego];
  if (impl) customBuiltins[wire] = impl;
}
