// The planner's output and the Wasm emitter's input: a small block-structured IR in the spirit of OPA's own
// (`ir.Policy`), shaped so each construct maps onto Wasm structured control flow.
//
// Execution model
// - Every value is an i32 pointer into the module's memory; 0 means "undefined".
// - A function body is a list of Blocks run in order. Each Block is a list of Stmts.
// - A statement that FAILS (a `dot` on a missing key, an `equal` that is false, a `call` whose result is
//   undefined, `notFalse` on false, ...) breaks out of the innermost enclosing Block; execution continues
//   after that Block. Block-exits are how backtracking works: `scan` runs its body Block once per element,
//   and a failure inside the body just moves on to the next element.
// - `break` with index N leaves N+1 enclosing Blocks (0 = the innermost, the same as failing).
// - A Func returns the value of its `result` local when its blocks are done (0 if never assigned).

export type Local = number;

/** A local variable, or an entry of Policy.constants (any JSON value, written as JSON text). */
export type Operand = { kind: 'local'; local: Local } | { kind: 'const'; index: number };

export interface Block {
  stmts: Stmt[];
}

export type Stmt =
  /** target := source. Never fails. */
  | { op: 'assign'; source: Operand; target: Local }
  /** target := undefined (0). Never fails. */
  | { op: 'reset'; target: Local }
  /**
   * Complete-rule / function result: if target is undefined, target := source; else if the two values
   * differ, abort the evaluation with Policy.constants[message] (a string) — OPA's conflict error.
   */
  | { op: 'assignOnce'; source: Operand; target: Local; message: number }
  /**
   * target := source[key]. Fails when source is not a collection or has no such key. On a set, yields the
   * element itself when present. Array indexes must be integral numbers.
   */
  | { op: 'dot'; source: Operand; key: Operand; target: Local }
  /**
   * Runs `block` once per element of source (array: key = index; object: key = key; set: key = value = element),
   * in the collection's order. When source is not a collection, runs zero times. Never fails by itself.
   */
  | { op: 'scan'; source: Local; key: Local; value: Local; block: Block }
  /** Runs block; FAILS if block ran to its end, succeeds if something in it failed. Binds nothing outside. */
  | { op: 'not'; block: Block }
  /** Runs each block in order; a failure inside one continues with the next. Never fails by itself. */
  | { op: 'blocks'; blocks: Block[] }
  /** Leaves index+1 enclosing Blocks. */
  | { op: 'break'; index: number }
  /**
   * target := func(args...). `func` is a builtin's Rego name (see BUILTINS) or the name of a Func of this
   * Policy. FAILS when the result is undefined (a builtin error also yields undefined, as OPA's non-strict
   * mode does).
   */
  | { op: 'call'; func: string; args: Operand[]; target: Local }
  /** Fails unless a == b (Rego equality: 1 == 1.0, sets and objects by content). */
  | { op: 'equal'; a: Operand; b: Operand }
  /** Fails unless a != b. */
  | { op: 'notEqual'; a: Operand; b: Operand }
  /** Fails when source is the boolean false (or undefined). Every other value passes. */
  | { op: 'notFalse'; source: Operand }
  /** Fails when source is undefined. */
  | { op: 'isDefined'; source: Local }
  /** Fails when source is defined. */
  | { op: 'isUndefined'; source: Local }
  /** Fails unless source has this type. */
  | { op: 'isType'; source: Operand; type: 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set' }
  /** Fails unless source is an array/object/set with exactly `length` elements. */
  | { op: 'lenEqual'; source: Operand; length: number }
  | { op: 'makeArray'; target: Local; capacity: number }
  | { op: 'makeObject'; target: Local }
  | { op: 'makeSet'; target: Local }
  | { op: 'arrayAppend'; array: Local; value: Operand }
  | { op: 'setAdd'; set: Local; value: Operand }
  /**
   * target := a copy of source with key := value (a new object when source is not an object or undefined).
   * How `with` builds the input and data it overrides; never fails, never modifies source.
   */
  | { op: 'objectUpsert'; source: Operand; key: Operand; value: Operand; target: Local }
  /** object[key] := value, replacing an existing key. */
  | { op: 'objectInsert'; object: Local; key: Operand; value: Operand }
  /**
   * object[key] := value; if key exists with a different value, abort with Policy.constants[message]
   * (partial-object key conflict). An equal existing value is fine.
   */
  | { op: 'objectInsertOnce'; object: Local; key: Operand; value: Operand; message: number }
  /**
   * target := deep merge of a and b (objects merged key by key, recursively; for non-object leaves `a` wins).
   * Combines a package's virtual document with base data. An undefined side yields the other side; fails
   * only when both are undefined.
   */
  | { op: 'objectMerge'; a: Operand; b: Operand; target: Local }
  /** Adds value to the entrypoint's result set (only in Plans). */
  | { op: 'resultSetAdd'; value: Local }
  /** Aborts the evaluation with Policy.constants[message]. */
  | { op: 'abort'; message: number };

export interface Func {
  /** Unique, e.g. `g0.data.envoy.authz.allow` or `g0.data.lib.f`. */
  name: string;
  /** Locals that receive the arguments, in order. By convention params[0] = input, params[1] = data. */
  params: Local[];
  /** The local whose value is returned (0 / never assigned = undefined). */
  result: Local;
  /** Total number of locals used (locals are 0 .. numLocals-1 and start undefined). */
  numLocals: number;
  blocks: Block[];
  /**
   * True for functions of only (input, data): their result may be cached for the rest of one evaluation.
   */
  memoize: boolean;
}

export interface Plan {
  /** Entrypoint name as the SDK sees it, e.g. `envoy/authz/allow`. */
  name: string;
  /** Local 0 holds input (undefined when no input was given), local 1 holds data. */
  numLocals: number;
  blocks: Block[];
}

export interface Policy {
  /** JSON text of each constant, e.g. `"\"abc\""`, `1`, `1.5e300`, `{"a":[1]}`, `true`, `null`. */
  constants: string[];
  funcs: Func[];
  plans: Plan[];
}

/**
 * Builtins the compiler accepts, with their arity (arguments, not counting the result). Anything else is
 * refused at compile time. Operators are builtins too (`plus` for `+`, `internal.member_2` for `x in xs`).
 * The backend implements each one natively in Wasm or through the SDK's customBuiltins hook.
 */
export const BUILTINS: Readonly<Record<string, number>> = {
  // operators
  equal: 2, neq: 2, lt: 2, lte: 2, gt: 2, gte: 2,
  plus: 2, minus: 2, mul: 2, div: 2, rem: 2,
  and: 2, or: 2, // set intersection and union (`minus` on two sets is set difference)
  'internal.member_2': 2, // x in xs
  'internal.member_3': 3, // k, v in xs
  // aggregates
  count: 1, sum: 1, product: 1, max: 1, min: 1, sort: 1, abs: 1, round: 1, ceil: 1, floor: 1,
  // strings
  startswith: 2, endswith: 2, contains: 2, lower: 1, upper: 1, split: 2, concat: 2, trim: 2,
  trim_left: 2, trim_right: 2, trim_prefix: 2, trim_suffix: 2, trim_space: 1, replace: 3, substring: 3,
  indexof: 2, sprintf: 2, format_int: 2, to_number: 1, 'strings.any_prefix_match': 2,
  'strings.any_suffix_match': 2, 'strings.reverse': 1,
  // types
  is_string: 1, is_number: 1, is_boolean: 1, is_array: 1, is_object: 1, is_set: 1, is_null: 1, type_name: 1,
  // collections
  'object.get': 3, 'object.keys': 1, 'object.union': 2, 'object.remove': 2, 'array.concat': 2,
  'array.slice': 3, 'array.reverse': 1, intersection: 1, union: 1,
  // patterns and networks
  'glob.match': 3, 'regex.match': 2, 'net.cidr_contains': 2,
  // encodings
  'base64.encode': 1, 'base64.decode': 1, 'base64url.encode_no_pad': 1, 'base64url.encode': 1,
  'base64url.decode': 1, 'json.marshal': 1, 'json.unmarshal': 1, 'json.is_valid': 1,
  'urlquery.encode': 1, 'urlquery.decode': 1, 'urlquery.encode_object': 1,
  // time, tokens, units
  'time.now_ns': 0, 'time.parse_rfc3339_ns': 1, 'io.jwt.decode': 1, 'units.parse_bytes': 1,
  'time.date': 1, 'time.clock': 1, 'time.weekday': 1, 'time.add_date': 4, 'time.parse_duration_ns': 1,
  'numbers.range': 2,
  // hashes, hex, more strings, semantic versions, networks, regular expressions
  'crypto.sha256': 1, 'crypto.sha1': 1, 'crypto.md5': 1, 'crypto.hmac.sha256': 2, 'crypto.hmac.sha1': 2,
  'crypto.hmac.sha512': 2, 'crypto.hmac.md5': 2, 'crypto.hmac.equal': 2, 'hex.encode': 1, 'hex.decode': 1,
  'strings.count': 2, 'strings.replace_n': 2, 'semver.is_valid': 1, 'semver.compare': 2, 'net.cidr_is_valid': 1,
  'regex.replace': 3, 'regex.find_n': 3,
};

/**
 * Host probes the planner emits only when CompileOptions.print / .coverage ask for them (tools/host.ts answers
 * them). Not in BUILTINS: a policy cannot call them, since a production host does not provide them.
 */
export const HOST_PROBES: Readonly<Record<string, number>> = { 'internal.print': 1, 'internal.cover': 1 };

/** Arity of anything a `call` statement may name besides the policy's own functions. */
export function callableArity(name: string): number | undefined {
  return BUILTINS[name] ?? HOST_PROBES[name];
}
