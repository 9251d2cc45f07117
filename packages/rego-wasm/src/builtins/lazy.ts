// The JavaScript builtins a policy module calls, as the SDK's customBuiltins table, with only their
// namespaces' code loaded. A server evaluates one module, which calls a handful of builtins; importing every
// namespace (index.ts) would keep the X.509 parsers with asn1js, the time layouts, YAML and the rest loaded
// for the life of the process (~1 MB of its idle memory, bench:footprint). The namespaces that hold top-level
// names (`plus`, `split`, `sprintf`, `re_match`, ...) are always loaded; every other one holds only names
// under its own dotted prefix and is imported when a module calls one of them. test/lazy-builtins.test.ts
// proves that each builtin in index.ts's table is found here, with the same wrappers.
import { arithmeticBuiltins } from './arithmetic.js';
import { opaBuiltins } from './opa.js';
import { regexBuiltins } from './regex.js';
import { sdkBuiltins, WIRE_PREFIX, type Builtin } from './sdkGlue.js';
import { setBuiltins } from './sets.js';
import { sprintfBuiltins } from './sprintf.js';
import { stringBuiltins } from './strings.js';
import { typeBuiltins } from './types.js';

export { answerSizes, builtinWireName } from './sdkGlue.js';

type Table = Readonly<Record<string, Builtin>>;

/** The namespaces with top-level names. */
const ALWAYS: readonly Table[] = [
  arithmeticBuiltins,
  opaBuiltins,
  regexBuiltins,
  setBuiltins,
  sprintfBuiltins,
  stringBuiltins,
  typeBuiltins,
];

const encoding = async (): Promise<Table> => (await import('./encoding.js')).encodingBuiltins;
const numbers = async (): Promise<Table> => (await import('./numbers.js')).numbersBuiltins;

/** The other namespaces, by the first segment of their builtins' names. */
const BY_PREFIX: Readonly<Record<string, () => Promise<Table>>> = {
  array: async () => (await import('./array.js')).arrayBuiltins,
  base64: encoding,
  base64url: encoding,
  bits: async () => (await import('./bits.js')).bitsBuiltins,
  // crypto.* and crypto.x509.*: two files, one prefix.
  crypto: async () => ({
    ...(await import('./crypto.js')).cryptoBuiltins,
    ...(await import('./x509.js')).x509Builtins,
  }),
  glob: async () => (await import('./glob.js')).globBuiltins,
  graph: async () => (await import('./graph.js')).graphBuiltins,
  hex: encoding,
  io: async () => (await import('./jwt.js')).jwtBuiltins,
  json: async () => (await import('./json.js')).jsonBuiltins,
  net: async () => (await import('./net.js')).netBuiltins,
  numbers,
  object: async () => (await import('./object.js')).objectBuiltins,
  rand: numbers,
  semver: async () => (await import('./semver.js')).semverBuiltins,
  time: async () => (await import('./time.js')).timeBuiltins,
  units: async () => (await import('./units.js')).unitsBuiltins,
  uri: async () => (await import('./uri.js')).uriBuiltins,
  urlquery: encoding,
  uuid: async () => (await import('./uuid.js')).uuidBuiltins,
  yaml: async () => (await import('./yaml.js')).yamlBuiltins,
};

/**
 * customBuiltins (index.ts) for a module that calls `names` (as its `builtins` export lists them: plain or
 * wire names): every builtin of the namespaces they belong to, and of the always-loaded ones.
 */
export async function customBuiltinsFor(names: Iterable<string>): Promise<Record<string, Builtin>> {
  const loaders = new Set<() => Promise<Table>>();
  for (const name of names) {
    const plain = name.startsWith(WIRE_PREFIX) ? name.slice(WIRE_PREFIX.length) : name;
    const prefix = plain.slice(0, plain.indexOf('.'));
    if (plain.includes('.') && Object.hasOwn(BY_PREFIX, prefix)) loaders.add(BY_PREFIX[prefix]!);
  }
  const loaded = await Promise.all([...loaders].map((load) => load()));
  return sdkBuiltins(Object.assign(Object.create(null) as Record<string, Builtin>, ...ALWAYS, ...loaded));
}
