// Builtins implemented in JavaScript, called by policy modules through the SDK's opa_builtinN hook with
// JSON arguments (sets arrive as arrays). The same table serves bundles built by `opa build -t wasm`, so it
// also carries OPA's names for what the SDK lacks. Every entry catches its own errors and returns undefined:
// in OPA's non-strict evaluation a builtin error makes the expression undefined, it never fails the query.
import { compatBuiltins } from './compat.js';
import { encodingBuiltins } from './encoding.js';
import { globMatch } from './glob.js';
import { decodeVerify, jwtVerifyBuiltins } from './jwt.js';
import { exactWireNames, wireAliases } from './names.js';
import { parseExactJson, stringifyExactJson, toJsNumbers } from './exact.js';
import { cidrContains } from './net.js';
import { regexMatch } from './regex.js';
import { sprintf } from './sprintf.js';
import { stringBuiltins } from './strings.js';
import { jwtDecode, nowNs, parseBytes, parseRfc3339Ns } from './time.js';

type Builtin = (...args: unknown[]) => unknown;

const implementations: Record<string, Builtin> = {
  ...(compatBuiltins as Record<string, Builtin>),
  ...jwtVerifyBuiltins,
  'io.jwt.decode_verify': (token: unknown, constraints: unknown) => decodeVerify(token, constraints, Number(nowNs())),
  ...(stringBuiltins as Record<string, Builtin>),
  ...(encodingBuiltins as Record<string, Builtin>),
  sprintf: sprintf as Builtin,
  'glob.match': globMatch as Builtin,
  'regex.match': regexMatch as Builtin,
  'net.cidr_contains': cidrContains as Builtin,
  'time.now_ns': nowNs as Builtin,
  'time.parse_rfc3339_ns': parseRfc3339Ns as Builtin,
  'units.parse_bytes': parseBytes as Builtin,
  'io.jwt.decode': jwtDecode as Builtin,
};

/** Results the module can take back: JSON values only (NaN and infinities are errors). */
function isJsonValue(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  return v !== undefined;
}

function nonStrict(impl: Builtin): Builtin {
  return (...args: unknown[]) => {
    try {
      // Bundles built by `opa build` take a JS number back: a BigInt becomes the nearest double.
      const result = toJsNumbers(impl(...args));
      return isJsonValue(result) ? result : undefined;
    } catch {
      return undefined;
    }
  };
}

/** The `portcullis.exact.*` form: JSON texts in, JSON text out, integers exact at any size (names.ts). */
function exactWire(impl: Builtin): Builtin {
  return (...texts: unknown[]) => {
    try {
      const args = texts.map((t) => (typeof t === 'string' ? parseExactJson(t) : undefined));
      if (args.includes(undefined)) return undefined;
      const result = impl(...args);
      if (result === undefined || (typeof result === 'number' && !Number.isFinite(result))) return undefined;
      return stringifyExactJson(result);
    } catch {
      return undefined;
    }
  };
}

export const customBuiltins: Record<string, Builtin> = Object.fromEntries(
  Object.entries(implementations).map(([name, impl]) => [name, nonStrict(impl)]),
);
for (const [rego, wire] of Object.entries(wireAliases())) {
  const impl = customBuiltins[rego];
  if (impl) customBuiltins[wire] = impl;
}
for (const [rego, wire] of exactWireNames()) {
  const impl = implementations[rego];
  if (impl) customBuiltins[wire] = exactWire(impl);
}
