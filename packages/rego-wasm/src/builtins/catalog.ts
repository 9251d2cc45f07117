// The one list of builtins: every builtin a compiled policy may call, how the compiler lowers it, and every
// OPA builtin it refuses, with the reason a policy author reads. The analysis (arity, refusals), the planner,
// the Wasm emitter (lowering), the SDK glue (index.ts) and the policy authors' guide all read this table;
// tests check that each entry has an implementation and a test.

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

export interface BuiltinSpec {
  /** Arguments, not counting the result. */
  readonly arity: number;
  readonly lowering: Lowering;
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
   * arguments with the same value for the rest of one evaluation.
   */
  readonly perEvaluation?: boolean;
}

const native = (arity: number): BuiltinSpec => ({ arity, lowering: 'native' });
const fast = (arity: number): BuiltinSpec => ({ arity, lowering: 'js', fastPath: true });
const js = (arity: number): BuiltinSpec => ({ arity, lowering: 'js' });
const deprecated = (spec: BuiltinSpec): BuiltinSpec => ({ ...spec, deprecated: true });
const host = (arity: number): BuiltinSpec => ({ arity, lowering: 'host' });
const perEvaluation = (spec: BuiltinSpec): BuiltinSpec => ({ ...spec, perEvaluation: true });

export const CATALOG: Readonly<Record<string, BuiltinSpec>> = {
  // operators (`==`, `+`, `&`, `in`, ...) and comparisons
  equal: native(2),
  neq: native(2),
  lt: native(2),
  lte: native(2),
  gt: native(2),
  gte: native(2),
  plus: fast(2),
  minus: fast(2),
  mul: fast(2),
  div: fast(2),
  rem: fast(2),
  and: native(2),
  or: native(2),
  'internal.member_2': native(2),
  'internal.member_3': native(3),
  // numbers and aggregates
  count: native(1),
  sum: fast(1),
  product: fast(1),
  max: native(1),
  min: native(1),
  sort: native(1),
  abs: fast(1),
  round: fast(1),
  ceil: fast(1),
  floor: fast(1),
  'numbers.range': js(2),
  'numbers.range_step': js(3),
  'bits.and': js(2),
  'bits.or': js(2),
  'bits.xor': js(2),
  'bits.negate': js(1),
  'bits.lsh': js(2),
  'bits.rsh': js(2),
  // strings
  startswith: native(2),
  endswith: native(2),
  contains: native(2),
  concat: native(2),
  'strings.any_prefix_match': native(2),
  'strings.any_suffix_match': native(2),
  lower: fast(1),
  upper: fast(1),
  split: fast(2),
  replace: fast(3),
  trim: fast(2),
  trim_left: fast(2),
  trim_right: fast(2),
  trim_prefix: fast(2),
  trim_suffix: fast(2),
  trim_space: fast(1),
  indexof: fast(2),
  substring: fast(3),
  to_number: fast(1),
  sprintf: js(2),
  format_int: js(2),
  indexof_n: js(2),
  'strings.reverse': js(1),
  'strings.count': js(2),
  'strings.replace_n': js(2),
  // types
  is_string: native(1),
  is_number: native(1),
  is_boolean: native(1),
  is_array: native(1),
  is_object: native(1),
  is_set: native(1),
  is_null: native(1),
  type_name: native(1),
  cast_array: deprecated(js(1)),
  cast_boolean: deprecated(js(1)),
  cast_null: deprecated(js(1)),
  cast_object: deprecated(js(1)),
  cast_set: deprecated(js(1)),
  cast_string: deprecated(js(1)),
  // collections
  'object.get': native(3),
  'object.keys': native(1),
  'object.union': native(2),
  'object.remove': native(2),
  'object.filter': js(2),
  'object.subset': js(2),
  'object.union_n': js(1),
  'array.concat': native(2),
  'array.slice': native(3),
  'array.reverse': native(1),
  'array.flatten': js(1),
  intersection: native(1),
  union: native(1),
  set_diff: deprecated(js(2)),
  any: deprecated(js(1)),
  all: deprecated(js(1)),
  'graph.reachable': js(2),
  'graph.reachable_paths': js(2),
  walk: { ...native(1), relation: true },
  // patterns
  'glob.match': js(3),
  'glob.quote_meta': js(1),
  'regex.match': js(2),
  re_match: deprecated(js(2)),
  'regex.is_valid': js(1),
  'regex.split': js(2),
  'regex.replace': js(3),
  'regex.find_n': js(3),
  'regex.find_all_string_submatch_n': js(3),
  'regex.template_match': js(4),
  // networks
  'net.cidr_contains': js(2),
  'net.cidr_is_valid': js(1),
  'net.cidr_intersects': js(2),
  'net.cidr_overlap': deprecated(js(2)),
  'net.cidr_expand': js(1),
  'net.cidr_merge': js(1),
  'net.cidr_contains_matches': js(2),
  // encodings
  'base64.encode': js(1),
  'base64.decode': js(1),
  'base64.is_valid': js(1),
  'base64url.encode': js(1),
  'base64url.encode_no_pad': js(1),
  'base64url.decode': js(1),
  'hex.encode': js(1),
  'hex.decode': js(1),
  'urlquery.encode': js(1),
  'urlquery.decode': js(1),
  'urlquery.encode_object': js(1),
  'urlquery.decode_object': js(1),
  'json.marshal': fast(1),
  'json.unmarshal': fast(1),
  'json.is_valid': native(1),
  'json.remove': js(2),
  'json.filter': js(2),
  'json.patch': js(2),
  'json.marshal_with_options': js(2),
  'yaml.marshal': js(1),
  'yaml.unmarshal': js(1),
  'yaml.is_valid': js(1),
  // time
  'time.now_ns': js(0),
  'time.parse_rfc3339_ns': js(1),
  'time.date': js(1),
  'time.clock': js(1),
  'time.weekday': js(1),
  'time.add_date': js(4),
  'time.parse_duration_ns': js(1),
  'time.diff': js(2),
  'time.format': js(1),
  'time.parse_ns': js(2),
  // tokens, hashes, certificates
  'io.jwt.decode': js(1),
  'io.jwt.decode_verify': js(2),
  'io.jwt.verify_rs256': js(2),
  'io.jwt.verify_rs384': js(2),
  'io.jwt.verify_rs512': js(2),
  'io.jwt.verify_ps256': js(2),
  'io.jwt.verify_ps384': js(2),
  'io.jwt.verify_ps512': js(2),
  'io.jwt.verify_es256': js(2),
  'io.jwt.verify_es384': js(2),
  'io.jwt.verify_es512': js(2),
  'io.jwt.verify_hs256': js(2),
  'io.jwt.verify_hs384': js(2),
  'io.jwt.verify_hs512': js(2),
  'io.jwt.verify_eddsa': js(2),
  'io.jwt.encode_sign': js(3),
  'io.jwt.encode_sign_raw': js(3),
  'crypto.sha256': js(1),
  'crypto.sha1': js(1),
  'crypto.md5': js(1),
  'crypto.hmac.sha256': js(2),
  'crypto.hmac.sha1': js(2),
  'crypto.hmac.sha512': js(2),
  'crypto.hmac.md5': js(2),
  'crypto.hmac.equal': js(2),
  'crypto.x509.parse_rsa_private_key': js(1),
  'crypto.x509.parse_certificates': js(1),
  'crypto.x509.parse_and_verify_certificates': js(1),
  'crypto.x509.parse_and_verify_certificates_with_options': js(2),
  'crypto.x509.parse_certificate_request': js(1),
  'crypto.x509.parse_keypair': js(2),
  'crypto.parse_private_keys': js(1),
  // versions, units, identifiers, runtime
  'semver.is_valid': js(1),
  'semver.compare': js(2),
  'units.parse_bytes': js(1),
  'units.parse': js(1),
  'uuid.parse': js(1),
  'uri.parse': js(1),
  'uri.is_valid': js(1),
  'uuid.rfc4122': perEvaluation(js(1)),
  'rand.intn': perEvaluation(js(2)),
  'opa.runtime': js(0),
  trace: js(1),
  // probes emitted only when CompileOptions.print / .coverage ask for them
  'internal.print': host(1),
  'internal.cover': host(1),
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
