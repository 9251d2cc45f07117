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
   * target := func(args...). `func` is a builtin's Rego name (see builtins/catalog.ts) or the name of a Func of this
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
