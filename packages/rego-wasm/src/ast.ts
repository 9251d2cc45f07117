// Abstract syntax of the Rego v1 subset. Every node carries the source position it came from so any later
// phase (analysis, planner) can report `file:line:col` for the construct it refuses.

export interface Location {
  file: string;
  line: number; // 1-based
  col: number; // 1-based, in code points
}

export interface Node {
  loc: Location;
}

// ---------- terms ----------
export type Term =
  | NullTerm
  | BooleanTerm
  | NumberTerm
  | StringTerm
  | VarTerm
  | RefTerm
  | ArrayTerm
  | ObjectTerm
  | SetTerm
  | ArrayComprehension
  | SetComprehension
  | ObjectComprehension
  | CallTerm
  | BinaryTerm
  | MembershipTerm;

export interface NullTerm extends Node {
  type: 'null';
}
export interface BooleanTerm extends Node {
  type: 'boolean';
  value: boolean;
}
/** `text` is the literal as written (JSON number syntax) so large integers keep their precision. */
export interface NumberTerm extends Node {
  type: 'number';
  text: string;
}
export interface StringTerm extends Node {
  type: 'string';
  value: string;
  raw: boolean;
}
/** `_` is a wildcard: the parser renames each occurrence to a unique `$wildcardN` var with `wildcard: true`. */
export interface VarTerm extends Node {
  type: 'var';
  name: string;
  wildcard?: boolean;
}
/**
 * `a.b[c]["d"]`: head is a var (`input`, `data`, a local, a rule name, an import alias) or, for
 * `f(x).y` / `[1,2][0]`, any term. Each path element is a term: `.b` becomes a string term `"b"`.
 */
export interface RefTerm extends Node {
  type: 'ref';
  head: Term;
  path: Term[];
}
export interface ArrayTerm extends Node {
  type: 'array';
  items: Term[];
}
export interface ObjectTerm extends Node {
  type: 'object';
  entries: Array<{ key: Term; value: Term }>;
}
export interface SetTerm extends Node {
  type: 'set';
  items: Term[];
}
export interface ArrayComprehension extends Node {
  type: 'arraycompr';
  head: Term;
  body: Body;
}
export interface SetComprehension extends Node {
  type: 'setcompr';
  head: Term;
  body: Body;
}
export interface ObjectComprehension extends Node {
  type: 'objectcompr';
  key: Term;
  value: Term;
  body: Body;
}
/** `f(a, b)` or `pkg.f(a)`: `name` is the dotted operator as written (`startswith`, `data.lib.f`, `lib.f`). */
export interface CallTerm extends Node {
  type: 'call';
  name: string;
  nameLoc: Location;
  args: Term[];
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '==' | '!=' | '<' | '<=' | '>' | '>=';
export interface BinaryTerm extends Node {
  type: 'binary';
  op: BinaryOp;
  left: Term;
  right: Term;
}
/** `x in xs` or `k, v in obj` used as a term (a boolean membership test, never binding). */
export interface MembershipTerm extends Node {
  type: 'in';
  key: Term | null;
  value: Term;
  collection: Term;
}

// ---------- expressions (body literals) ----------
export type Expr = TermExpr | AssignExpr | UnifyExpr | NotExpr | SomeDeclExpr | SomeInExpr | EveryExpr;

/** A bare term used as a condition: fails when false or undefined. Comparisons are BinaryTerms. */
export interface TermExpr extends Node {
  type: 'term';
  term: Term;
  with: WithModifier[];
}
/** `x := term` (declares and binds; `[a, b] := arr` destructures). */
export interface AssignExpr extends Node {
  type: 'assign';
  left: Term;
  right: Term;
  with: WithModifier[];
}
/** `a = b` (unification: binds whichever side has unbound vars, otherwise compares). */
export interface UnifyExpr extends Node {
  type: 'unify';
  left: Term;
  right: Term;
  with: WithModifier[];
}
export interface NotExpr extends Node {
  type: 'not';
  expr: Expr;
}
/** `some x, y` (declares vars local to the body). */
export interface SomeDeclExpr extends Node {
  type: 'some';
  vars: VarTerm[];
  with?: WithModifier[];
}
/** `some x in xs` / `some k, v in obj` (iterates; key and value may be patterns). */
export interface SomeInExpr extends Node {
  type: 'somein';
  key: Term | null;
  value: Term;
  collection: Term;
  with?: WithModifier[];
}
/** `every x in xs { ... }` / `every k, v in obj { ... }` */
export interface EveryExpr extends Node {
  type: 'every';
  key: VarTerm | null;
  value: VarTerm;
  collection: Term;
  body: Body;
  /** `every ... { } with input as x`: the modifiers apply to the domain and the body. */
  with?: WithModifier[];
}

/** `with target as value`: replaces input, a data path (base or virtual), a function or a builtin for one expression. */
export interface WithModifier extends Node {
  target: Term;
  value: Term;
}

export interface Body extends Node {
  exprs: Expr[];
}

// ---------- rules and modules ----------
export type RuleKind =
  | 'complete' // p := v if {...} / p if {...} / p = v
  | 'partialSet' // p contains x if {...}
  | 'partialObject' // p[k] := v if {...}
  | 'function'; // f(x) := v if {...}

export interface Rule extends Node {
  kind: RuleKind;
  default: boolean;
  /** Rule name path relative to the package; `a.b.c` heads (ref heads) give several segments. */
  name: string[];
  /** partialObject: the key term; partialSet: the element term. */
  key: Term | null;
  /**
   * Keys of the object levels above `key` when a variable comes before the last position of the head
   * (`p[x][y] := v`: keyPath [x], key y; `o.s[x][x] contains x`: keyPath [x, x], element x). Absent otherwise.
   */
  keyPath?: Term[];
  /** Value term; `p if {...}` has an implicit `true` (with `implicitValue: true`). */
  value: Term;
  implicitValue: boolean;
  /** Function parameters (terms, may be patterns). */
  args: Term[] | null;
  /** Empty body = always true (`p := 1`). */
  body: Body;
  /** `else [= v] [if] {...}` chain, in order. */
  elses: ElseClause[];
  /** `:=` in the head (complete rules may only be defined once per module with `:=`). */
  assign: boolean;
}

export interface ElseClause extends Node {
  value: Term;
  implicitValue: boolean;
  body: Body;
}

export interface Import extends Node {
  /** `input.x.y` / `data.lib` / `rego.v1` / `future.keywords...` as a path of names. */
  path: string[];
  alias: string | null;
}

export interface Module {
  file: string;
  package: { path: string[]; loc: Location };
  imports: Import[];
  rules: Rule[];
}

/** The `with` modifiers of an expression (`not` carries them on its inner expression). */
export function withModifiersOf(expr: Expr): WithModifier[] {
  if (expr.type === 'not') return withModifiersOf(expr.expr);
  return expr.with ?? [];
}
