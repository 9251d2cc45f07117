// The one list of builtins: every builtin a compiled policy may call, how the compiler lowers it, what OPA
// declares it takes and returns, and every OPA builtin it refuses, with the reason a policy author reads. The
// analysis (arity, literal argument types, refusals), the planner (operators, relations), the Wasm emitter
// (lowering, fuel, caches), the SDK glue (index.ts: exact number texts, integer operands) and the policy
// authors' guide (tools/builtinTable.ts) all read this table; tests check that each entry has an
// implementation and a test. Nothing else keys a list, a record or a switch by builtin name.

export type Lowering =
  /** The AssemblyScript runtime's export `b_<name>` (dots as underscores). */
  | 'native'
  /**
   * A JavaScript implementation (index.ts), called through the SDK's opa_builtinN hook over the builtin wire
   * (wire.ts): arguments and result cross as exact JSON texts with sets and non-string keys tagged.
   */
  | 'js'
  /**
   * A probe the host answers (print output, coverage), listed to the SDK under its plain name with the SDK's
   * JSON: the `policy test` runner and `policy eval` plug their callbacks in (tools/host.ts).
   */
  | 'host';

/** A Rego value's type as OPA's type checker names it; `any` admits every value. */
export type ValueType = 'any' | 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object' | 'set';

/** What an argument or a result may be: one type, or a union (`number|set` for `-`). */
export type Shape = readonly ValueType[];

/**
 * How OPA reads an argument that must be an integer:
 * - `int64`: its IntOperand, which parses the number as written: `1.0` and `1e0` are errors, and so is a
 *   value outside int64 (substring, array.slice, time.add_date, regex.find_n, rand.intn, format_int's base);
 * - `integer`: its BigIntOperand, which reads the number as a big.Float with a 64-bit mantissa and takes it
 *   when that is whole: `2.0` is 2, `1.00000000000000001` is an error, and an integer of more than 64
 *   significant bits is rounded to 64 (18446744073709551617 is read as 2^64): numbers.range, bits.*.
 * Either way the implementation receives the operand as that BigInt (operands.ts), never a double.
 */
export type IntegerOperand = 'int64' | 'integer';

export interface BuiltinSpec {
  /** Arguments, not counting the result. */
  readonly arity: number;
  readonly lowering: Lowering;
  /**
   * OPA's declared type of each argument (its capabilities for v1.20.2, top level: `array` stands for an
   * array of anything the builtin then checks), in order; as many as `arity`.
   */
  readonly args: readonly Shape[];
  /** OPA's declared type of the result. */
  readonly result: Shape;
  /** Arguments OPA requires to be integers, by position, and how it reads them; the SDK glue checks them. */
  readonly integers?: Readonly<Record<number, IntegerOperand>>;
  /**
   * js only: arguments cross as exact number texts: a number not written as a plain integer (`1.0`, `1e2`)
   * reaches the implementation as its NumberText, for builtins whose answer depends on how a number is
   * written. Implied by an integer operand (`int64` or `integer`), whose text decides how OPA reads it.
   */
  readonly numberTexts?: boolean;
  /** js only: the runtime's `f_<name>` answers the common case in Wasm; 0 from it asks JavaScript. */
  readonly fastPath?: boolean;
  /** OPA still accepts it but marks it deprecated (`policy check --strict` reports it). */
  readonly deprecated?: boolean;
  /**
   * A relation (OPA's `walk`): the implementation returns an array of every answer and the planner iterates
   * over it, so `walk(x, [path, value])` binds once per answer.
   */
  readonly relation?: boolean;
  /**
   * OPA caches the answer per query by argument (rand.intn, uuid.rfc4122): the module answers the same
   * arguments with the same value for the rest of one evaluation. `absoluteArgs` are keyed by their absolute
   * value (OPA keys rand.intn by |n|, so rand.intn(k, -n) and rand.intn(k, n) share one answer).
   */
  readonly perEvaluation?: { readonly absoluteArgs: readonly number[] };
  /**
   * native only: the builtin loops over a collection argument without allocating, so its time grows with it:
   * the emitter charges fuel for its length (wasm/fuel.ts). `arg` is its position; `setIsLookup` when a set
   * there is a binary search, not a scan (objects are scanned by value). A native builtin with such a loop
   * must say so here, or it escapes the budget.
   */
  readonly scans?: { readonly arg: number; readonly setIsLookup: boolean };
  /** The operator Rego writes it as (`+` is plus, `in` is internal.member_2 and _3). */
  readonly infix?: string;
  /**
   * js only: how many values the answer holds, from its integer operands (in order), so that a host can
   * charge fuel for them before the call builds them (numbers.range(1, 1e7) would otherwise spend seconds
   * before the module takes one step over the result).
   */
  readonly elementsBuilt?: (integers: readonly bigint[]) => bigint;
}

/** Options an entry adds to what its lowering and signature say. */
type Extra = Omit<Partial<BuiltinSpec>, 'arity' | 'lowering' | 'args' | 'result' | 'integers'>;

const VALUE_TYPES: ReadonlySet<string> = new Set([
  'any',
  'string',
  'number',
  'boolean',
  'null',
  'array',
  'object',
  'set',
]);

function shape(text: string, where: string): Shape {
  const types = text.split('|').map((t) => t.trim());
  for (const t of types) if (!VALUE_TYPES.has(t)) throw new Error(`catalog: ${where}: unknown type ${t}`);
  return types as ValueType[];
}

/**
 * An entry from its signature as the guide prints it: `string, int64, int64 -> string`, each argument a type
 * or a union of types (`array|set`), `int64` and `integer` numbers that must be integers (IntegerOperand).
 */
function entry(arity: number, lowering: Lowering, signature: string, extra: Extra = {}): BuiltinSpec {
  const [argText = '', resultText = ''] = signature.split('->').map((part) => part.trim());
  const words = argText === '' ? [] : argText.split(',').map((a) => a.trim());
  const integers: Record<number, IntegerOperand> = {};
  const args = words.map((word, i) => {
    if (word !== 'int64' && word !== 'integer') return shape(word, signature);
    integers[i] = word;
    return ['number'] as Shape;
  });
  return {
    arity,
    lowering,
    args,
    result: shape(resultText, signature),
    ...(Object.keys(integers).length > 0 ? { integers } : {}),
    ...extra,
  };
}

const native = (arity: number, signature: string, extra?: Extra): BuiltinSpec =>
  entry(arity, 'native', signature, extra);
const fast = (arity: number, signature: string, extra?: Extra): BuiltinSpec =>
  entry(arity, 'js', signature, { fastPath: true, ...extra });
const js = (arity: number, signature: string, extra?: Extra): BuiltinSpec => entry(arity, 'js', signature, extra);
const host = (arity: number, signature: string): BuiltinSpec => entry(arity, 'host', signature);
const deprecated = (spec: BuiltinSpec): BuiltinSpec => ({ ...spec, deprecated: true });
const perEvaluation = (spec: BuiltinSpec, absoluteArgs: readonly number[] = []): BuiltinSpec => ({
  ...spec,
  perEvaluation: { absoluteArgs },
});
const magnitude = (n: bigint): bigint => (n < 0n ? -n : n);
/** numbers.range(a, b) and numbers.range_step(a, b, step): the length of the range (see BuiltinSpec.elementsBuilt). */
const rangeLength = ([from = 0n, to = 0n, step = 1n]: readonly bigint[]): bigint =>
  step > 0n ? magnitude(to - from) / step + 1n : 0n;

/** Scanning natives (see BuiltinSpec.scans). */
const scansArg = (arg: number): Extra => ({ scans: { arg, setIsLookup: false } });

export const CATALOG: Readonly<Record<string, BuiltinSpec>> = {
  // operators (`==`, `+`, `&`, `in`, ...) and comparisons
  equal: native(2, 'any, any -> boolean', { infix: '==' }),
  neq: native(2, 'any, any -> boolean', { infix: '!=' }),
  lt: native(2, 'any, any -> boolean', { infix: '<' }),
  lte: native(2, 'any, any -> boolean', { infix: '<=' }),
  gt: native(2, 'any, any -> boolean', { infix: '>' }),
  gte: native(2, 'any, any -> boolean', { infix: '>=' }),
  plus: fast(2, 'number, number -> number', { infix: '+' }),
  minus: fast(2, 'number|set, number|set -> number|set', { infix: '-' }),
  mul: fast(2, 'number, number -> number', { infix: '*' }),
  div: fast(2, 'number, number -> number', { infix: '/' }),
  rem: fast(2, 'number, number -> number', { infix: '%' }),
  and: native(2, 'set, set -> set', { infix: '&' }),
  or: native(2, 'set, set -> set', { infix: '|' }),
  'internal.member_2': native(2, 'any, any -> boolean', { infix: 'in', scans: { arg: 1, setIsLookup: true } }),
  'internal.member_3': native(3, 'any, any, any -> boolean', { infix: 'in' }),
  // numbers and aggregates
  count: native(1, 'string|array|object|set -> number'),
  sum: fast(1, 'array|set -> number', scansArg(0)),
  product: fast(1, 'array|set -> number', scansArg(0)),
  max: native(1, 'array|set -> any', scansArg(0)),
  min: native(1, 'array|set -> any', scansArg(0)),
  sort: native(1, 'array|set -> array'),
  abs: fast(1, 'number -> number'),
  round: fast(1, 'number -> number'),
  ceil: fast(1, 'number -> number'),
  floor: fast(1, 'number -> number'),
  'numbers.range': js(2, 'integer, integer -> array', { elementsBuilt: rangeLength }),
  'numbers.range_step': js(3, 'integer, integer, integer -> array', { elementsBuilt: rangeLength }),
  'bits.and': js(2, 'integer, integer -> number'),
  'bits.or': js(2, 'integer, integer -> number'),
  'bits.xor': js(2, 'integer, integer -> number'),
  'bits.negate': js(1, 'integer -> number'),
  'bits.lsh': js(2, 'integer, integer -> number'),
  'bits.rsh': js(2, 'integer, integer -> number'),
  // strings
  startswith: native(2, 'string, string -> boolean'),
  endswith: native(2, 'string, string -> boolean'),
  contains: native(2, 'string, string -> boolean'),
  concat: native(2, 'string, array|set -> string'),
  'strings.any_prefix_match': native(2, 'string|array|set, string|array|set -> boolean'),
  'strings.any_suffix_match': native(2, 'string|array|set, string|array|set -> boolean'),
  lower: fast(1, 'string -> string'),
  upper: fast(1, 'string -> string'),
  split: fast(2, 'string, string -> array'),
  replace: fast(3, 'string, string, string -> string'),
  trim: fast(2, 'string, string -> string'),
  trim_left: fast(2, 'string, string -> string'),
  trim_right: fast(2, 'string, string -> string'),
  trim_prefix: fast(2, 'string, string -> string'),
  trim_suffix: fast(2, 'string, string -> string'),
  trim_space: fast(1, 'string -> string'),
  indexof: fast(2, 'string, string -> number'),
  substring: fast(3, 'string, int64, int64 -> string'),
  to_number: fast(1, 'null|boolean|number|string -> number'),
  sprintf: js(2, 'string, array -> string'),
  format_int: js(2, 'number, int64 -> string'),
  indexof_n: js(2, 'string, string -> array'),
  'strings.reverse': js(1, 'string -> string'),
  'strings.count': js(2, 'string, string -> number'),
  'strings.replace_n': js(2, 'object, string -> string'),
  // types
  is_string: native(1, 'any -> boolean'),
  is_number: native(1, 'any -> boolean'),
  is_boolean: native(1, 'any -> boolean'),
  is_array: native(1, 'any -> boolean'),
  is_object: native(1, 'any -> boolean'),
  is_set: native(1, 'any -> boolean'),
  is_null: native(1, 'any -> boolean'),
  type_name: native(1, 'any -> string'),
  cast_array: deprecated(js(1, 'any -> array')),
  cast_boolean: deprecated(js(1, 'any -> boolean')),
  cast_null: deprecated(js(1, 'any -> null')),
  cast_object: deprecated(js(1, 'any -> object')),
  cast_set: deprecated(js(1, 'any -> set')),
  cast_string: deprecated(js(1, 'any -> string')),
  // collections
  'object.get': native(3, 'object, any, any -> any'),
  'object.keys': native(1, 'object -> set'),
  'object.union': native(2, 'object, object -> object'),
  'object.remove': native(2, 'object, array|object|set -> object'),
  'object.filter': js(2, 'object, array|object|set -> object'),
  'object.subset': js(2, 'array|object|set, array|object|set -> boolean'),
  'object.union_n': js(1, 'array -> object'),
  'array.concat': native(2, 'array, array -> array'),
  'array.slice': native(3, 'array, int64, int64 -> array'),
  'array.reverse': native(1, 'array -> array'),
  'array.flatten': js(1, 'array -> array'),
  intersection: native(1, 'set -> set'),
  union: native(1, 'set -> set'),
  set_diff: deprecated(js(2, 'set, set -> set')),
  any: deprecated(js(1, 'array|set -> boolean')),
  all: deprecated(js(1, 'array|set -> boolean')),
  'graph.reachable': js(2, 'object, array|set -> set'),
  'graph.reachable_paths': js(2, 'object, array|set -> set'),
  walk: native(1, 'any -> array', { relation: true }),
  // patterns
  'glob.match': js(3, 'string, null|array, string -> boolean'),
  'glob.quote_meta': js(1, 'string -> string'),
  'regex.match': js(2, 'string, string -> boolean'),
  re_match: deprecated(js(2, 'string, string -> boolean')),
  'regex.is_valid': js(1, 'string -> boolean'),
  'regex.split': js(2, 'string, string -> array'),
  'regex.replace': js(3, 'string, string, string -> string'),
  'regex.find_n': js(3, 'string, string, int64 -> array'),
  'regex.find_all_string_submatch_n': js(3, 'string, string, int64 -> array'),
  'regex.template_match': js(4, 'string, string, string, string -> boolean'),
  // networks
  'net.cidr_contains': js(2, 'string, string -> boolean'),
  'net.cidr_is_valid': js(1, 'string -> boolean'),
  'net.cidr_intersects': js(2, 'string, string -> boolean'),
  'net.cidr_overlap': deprecated(js(2, 'string, string -> boolean')),
  'net.cidr_expand': js(1, 'string -> set'),
  'net.cidr_merge': js(1, 'array|set -> set'),
  'net.cidr_contains_matches': js(2, 'string|array|object|set, string|array|object|set -> set'),
  // encodings
  'base64.encode': js(1, 'string -> string'),
  'base64.decode': js(1, 'string -> string'),
  'base64.is_valid': js(1, 'string -> boolean'),
  'base64url.encode': js(1, 'string -> string'),
  'base64url.encode_no_pad': js(1, 'string -> string'),
  'base64url.decode': js(1, 'string -> string'),
  'hex.encode': js(1, 'string -> string'),
  'hex.decode': js(1, 'string -> string'),
  'urlquery.encode': js(1, 'string -> string'),
  'urlquery.decode': js(1, 'string -> string'),
  'urlquery.encode_object': js(1, 'object -> string'),
  'urlquery.decode_object': js(1, 'string -> object'),
  'json.marshal': fast(1, 'any -> string'),
  'json.unmarshal': fast(1, 'string -> any'),
  'json.is_valid': native(1, 'string -> boolean'),
  'json.remove': js(2, 'object, array|set -> object'),
  'json.filter': js(2, 'object, array|set -> object'),
  'json.patch': js(2, 'any, array -> any', { numberTexts: true }),
  'json.marshal_with_options': js(2, 'any, object -> string', { numberTexts: true }),
  'yaml.marshal': js(1, 'any -> string'),
  'yaml.unmarshal': js(1, 'string -> any'),
  'yaml.is_valid': js(1, 'string -> boolean'),
  // time
  'time.now_ns': js(0, '-> number'),
  'time.parse_rfc3339_ns': js(1, 'string -> number'),
  'time.date': js(1, 'number|array -> array'),
  'time.clock': js(1, 'number|array -> array'),
  'time.weekday': js(1, 'number|array -> string'),
  'time.add_date': js(4, 'number, int64, int64, int64 -> number'),
  'time.parse_duration_ns': js(1, 'string -> number'),
  'time.diff': js(2, 'number|array, number|array -> array'),
  'time.format': js(1, 'number|array -> string'),
  'time.parse_ns': js(2, 'string, string -> number'),
  // tokens, hashes, certificates
  'io.jwt.decode': js(1, 'string -> array'),
  'io.jwt.decode_verify': js(2, 'string, object -> array'),
  'io.jwt.verify_rs256': js(2, 'string, string -> boolean'),
  'io.jwt.verify_rs384': js(2, 'string, string -> boolean'),
  'io.jwt.verify_rs512': js(2, 'string, string -> boolean'),
  'io.jwt.verify_ps256': js(2, 'string, string -> boolean'),
  'io.jwt.verify_ps384': js(2, 'string, string -> boolean'),
  'io.jwt.verify_ps512': js(2, 'string, string -> boolean'),
  'io.jwt.verify_es256': js(2, 'string, string -> boolean'),
  'io.jwt.verify_es384': js(2, 'string, string -> boolean'),
  'io.jwt.verify_es512': js(2, 'string, string -> boolean'),
  'io.jwt.verify_hs256': js(2, 'string, string -> boolean'),
  'io.jwt.verify_hs384': js(2, 'string, string -> boolean'),
  'io.jwt.verify_hs512': js(2, 'string, string -> boolean'),
  'io.jwt.verify_eddsa': js(2, 'string, string -> boolean'),
  'io.jwt.encode_sign': js(3, 'object, object, object -> string'),
  'io.jwt.encode_sign_raw': js(3, 'string, string, string -> string'),
  'crypto.sha256': js(1, 'string -> string'),
  'crypto.sha1': js(1, 'string -> string'),
  'crypto.md5': js(1, 'string -> string'),
  'crypto.hmac.sha256': js(2, 'string, string -> string'),
  'crypto.hmac.sha1': js(2, 'string, string -> string'),
  'crypto.hmac.sha512': js(2, 'string, string -> string'),
  'crypto.hmac.md5': js(2, 'string, string -> string'),
  'crypto.hmac.equal': js(2, 'string, string -> boolean'),
  'crypto.x509.parse_rsa_private_key': js(1, 'string -> object'),
  'crypto.x509.parse_certificates': js(1, 'string -> array'),
  'crypto.x509.parse_and_verify_certificates': js(1, 'string -> array'),
  'crypto.x509.parse_and_verify_certificates_with_options': js(2, 'string, object -> array', { numberTexts: true }),
  'crypto.x509.parse_certificate_request': js(1, 'string -> object'),
  'crypto.x509.parse_keypair': js(2, 'string, string -> object'),
  'crypto.parse_private_keys': js(1, 'string -> array'),
  // versions, units, identifiers, runtime
  'semver.is_valid': js(1, 'any -> boolean'),
  'semver.compare': js(2, 'string, string -> number'),
  'units.parse_bytes': js(1, 'string -> number'),
  'units.parse': js(1, 'string -> number'),
  'uuid.parse': js(1, 'string -> object'),
  'uri.parse': js(1, 'string -> object'),
  'uri.is_valid': js(1, 'string -> boolean'),
  'uuid.rfc4122': perEvaluation(js(1, 'string -> string')),
  'rand.intn': perEvaluation(js(2, 'string, int64 -> number'), [1]),
  'opa.runtime': js(0, '-> object'),
  trace: js(1, 'string -> boolean'),
  // probes emitted only when CompileOptions.print / .coverage ask for them
  'internal.print': host(1, 'array -> boolean'),
  'internal.cover': host(1, 'any -> boolean'),
};

/** OPA builtins the compiler refuses at compile time, with what the policy author should do instead. */
export const REFUSED: Readonly<Record<string, string>> = {
  'http.send':
    'network calls from policies are not supported: put the data in input (Envoy headers, metadata) or in data (a bundle)',
  'net.lookup_ip_addr':
    'DNS lookups from policies are not supported: resolve addresses outside the policy and pass them in data',
  'providers.aws.sign_req': 'request signing for outgoing calls has no use without http.send',
  'rego.parse_module': 'parsing Rego inside a policy is not supported',
  'rego.metadata.chain': 'rule metadata annotations are not compiled',
  'rego.metadata.rule': 'rule metadata annotations are not compiled',
  'graphql.is_valid':
    "GraphQL parsing is not compiled (OPA returns its own parser's AST, which cannot be reproduced exactly)",
  'graphql.parse':
    "GraphQL parsing is not compiled (OPA returns its own parser's AST, which cannot be reproduced exactly)",
  'graphql.parse_and_verify':
    "GraphQL parsing is not compiled (OPA returns its own parser's AST, which cannot be reproduced exactly)",
  'graphql.parse_query':
    "GraphQL parsing is not compiled (OPA returns its own parser's AST, which cannot be reproduced exactly)",
  'graphql.parse_schema':
    "GraphQL parsing is not compiled (OPA returns its own parser's AST, which cannot be reproduced exactly)",
  'graphql.schema_is_valid':
    "GraphQL parsing is not compiled (OPA returns its own parser's AST, which cannot be reproduced exactly)",
  'strings.render_template': 'Go text/template rendering is not compiled: use sprintf or concat',
  'regex.globs_match': 'intersection of regular-expression globs is not compiled',
  'internal.test_case': 'internal to OPA',
  'json.verify_schema':
    "not compiled: OPA checks schemas with its own fork of gojsonschema (RE2 patterns, its draft detection, its error texts), which is not reproduced exactly; validate request bodies with Portcullis's openapi stage",
  'json.match_schema':
    "not compiled: OPA lists errors from its fork of gojsonschema in an order that follows Go map iteration (not stable even between OPA runs) and with its own texts; validate request bodies with Portcullis's openapi stage",
  'internal.template_string': 'template strings are not supported yet: use sprintf',
};

/** OPA builtins that are language rather than calls: `:=`, `=` and print (compiled, not looked up here). */
export const LANGUAGE_BUILTINS: readonly string[] = ['assign', 'eq', 'print'];

/** The catalog entry of a builtin, or undefined when the compiler does not accept that name. */
export function builtinSpec(name: string): BuiltinSpec | undefined {
  return Object.hasOwn(CATALOG, name) ? CATALOG[name] : undefined;
}

const BY_OPERATOR: ReadonlyMap<string, string> = new Map(
  Object.entries(CATALOG).flatMap(([name, spec]) =>
    spec.infix === undefined ? [] : [[`${spec.infix}/${spec.arity}`, name] as const],
  ),
);

/** The builtin an operator calls with `arity` operands (`+` with 2 is plus, `in` with 3 internal.member_3). */
export function operatorBuiltin(op: string, arity: number): string | undefined {
  return BY_OPERATOR.get(`${op}/${arity}`);
}

/** Whether a JavaScript builtin's numbers cross as exact texts (BuiltinSpec.numberTexts, or an integer operand). */
export function takesNumberTexts(spec: BuiltinSpec): boolean {
  return spec.numberTexts === true || Object.keys(spec.integers ?? {}).length > 0;
}
