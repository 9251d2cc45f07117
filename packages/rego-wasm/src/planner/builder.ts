// Mutable state of planning: the constant pool, the functions emitted so far, the dependency edges (to refuse
// recursion) and, per function, the local counter and the block statements are appended to.
import type { Location, Rule } from '../ast.js';
import type { RegoCompileError } from '../errors.js';
import type { AnnotatedProgram, FuncMock, RuleGroup, RuleTreeNode } from '../analysis/index.js';
import type { Block, Func, Local, Operand, Stmt } from '../ir.js';

/** In Funcs, param 0 is the input box (see PlanContext.inputBox); in Plans, local 0 is input itself. */
export const INPUT_LOCAL: Local = 0;
export const DATA_LOCAL: Local = 1;

export const CONFLICT_COMPLETE = 'eval_conflict_error: complete rules must not produce multiple outputs';
export const CONFLICT_FUNCTION = 'eval_conflict_error: functions must not produce multiple outputs for same inputs';
export const CONFLICT_OBJECT_KEY = 'eval_conflict_error: object keys must be unique';

/**
 * What a Func is planned from: one rule group, a node of the virtual document tree (a package object), or
 * the value of a partial object at its first `depth` keys (`lookup`: the keys as the arguments after input
 * and data), so that, as in OPA, reading `obj["a"]` or `p.a.k` raises no conflict that only other keys have.
 */
export type FuncSource =
  | { kind: 'group'; group: RuleGroup }
  | { kind: 'node'; node: RuleTreeNode }
  | { kind: 'lookup'; group: RuleGroup; depth: number };

/** A distinct map key for each of a group's lookup functions (one per depth). */
const lookupKeys = new WeakMap<RuleGroup, Map<number, object>>();
function lookupKey(group: RuleGroup, depth: number): object {
  let keys = lookupKeys.get(group);
  if (keys === undefined) {
    keys = new Map();
    lookupKeys.set(group, keys);
  }
  let key = keys.get(depth);
  if (key === undefined) {
    key = {};
    keys.set(depth, key);
  }
  return key;
}

export type { FuncMock } from '../analysis/index.js';

/**
 * The `with` modifiers in force where a function is planned. Overridden input and data travel in the input
 * box and data arguments every function already takes; this records what is planned differently: data paths
 * whose rules are replaced (read from the data argument instead), and replaced functions and builtins. Every
 * function reached under `with` is planned again for its context and never memoized, since its input or data
 * differs from the evaluation's.
 */
export interface MockContext {
  /** '' for the context without `with` (the only one whose functions are memoized). */
  key: string;
  /** Paths below `data` whose value comes from the data argument rather than from the rules there. */
  dataMocks: string[][];
  /** Replacements by `builtin:<name>` or `function:<group name>`. */
  funcMocks: ReadonlyMap<string, FuncMock>;
}

export const ROOT_CONTEXT: MockContext = { key: '', dataMocks: [], funcMocks: new Map() };

function mockKey(dataMocks: string[][], funcMocks: ReadonlyMap<string, FuncMock>): string {
  const funcs = [...funcMocks].map(([target, mock]) => [
    target,
    mock.kind === 'function' ? mock.group.name : mock.kind === 'builtin' ? mock.name : mock.json,
    mock.kind,
  ]);
  return `with:${JSON.stringify([dataMocks.map((path) => path.join('\u0000')).sort(), funcs.sort()])}`;
}

/** A context that adds `dataMocks` and `funcMocks` to `parent` (later modifiers win). */
export function extendContext(
  parent: MockContext,
  dataMocks: string[][],
  funcMocks: ReadonlyMap<string, FuncMock>,
): MockContext {
  const data = [...parent.dataMocks];
  for (const path of dataMocks)
    if (!data.some((known) => known.length === path.length && known.every((s, i) => s === path[i]))) data.push(path);
  const funcs = new Map([...parent.funcMocks, ...funcMocks]);
  return { key: mockKey(data, funcs), dataMocks: data, funcMocks: funcs };
}

/** True when the value at `path` (below data) is replaced by a `with` in this context. */
export function isDataMocked(context: MockContext, path: readonly string[]): boolean {
  return context.dataMocks.some(
    (mock) => mock.length <= path.length && mock.every((segment, i) => segment === path[i]),
  );
}

export interface Dependency {
  to: string;
  loc: Location;
}

export class FuncBuilder {
  private nextLocal: number;
  current: Stmt[];
  /** How many Blocks enclose `current` (1 in a top-level block); `break` indexes are computed from it. */
  depth = 0;

  constructor(
    firstFreeLocal: number,
    readonly blocks: Block[] = [],
  ) {
    this.nextLocal = firstFreeLocal;
    this.current = [];
  }

  get numLocals(): number {
    return this.nextLocal;
  }

  newLocal(): Local {
    return this.nextLocal++;
  }

  emit(stmt: Stmt): void {
    this.current.push(stmt);
  }

  /** Starts a new top-level block of the function and makes it current. */
  startBlock(): void {
    const block: Block = { stmts: [] };
    this.blocks.push(block);
    this.current = block.stmts;
    this.depth = 1;
  }

  /** Leaves every Block from the current one out to (and including) the Block at `depth`. */
  breakOutTo(depth: number): void {
    this.emit({ op: 'break', index: this.depth - depth });
  }

  /** Runs `fill` with a fresh block as the current one and returns that block. */
  nested(fill: () => void): Block {
    const block: Block = { stmts: [] };
    const saved = this.current;
    this.current = block.stmts;
    this.depth++;
    try {
      fill();
    } finally {
      this.current = saved;
      this.depth--;
    }
    return block;
  }

  /** A local holding the operand (scan and resultSetAdd take locals only). */
  toLocal(operand: Operand): Local {
    if (operand.kind === 'local') return operand.local;
    const local = this.newLocal();
    this.emit({ op: 'assign', source: operand, target: local });
    return local;
  }
}

export interface PlanOptions {
  /** Compile print() to calls of the host's `internal.print` instead of a no-op. */
  print?: boolean;
  /** Call the host's `internal.cover` with [file, line] before each expression. */
  coverage?: boolean;
}

export class PolicyBuilder {
  readonly root: RuleTreeNode;
  /** Refusals the analysis deferred until a rule is reached (see ModuleSet.deferredRefusals). */
  readonly deferredRefusals: ReadonlyMap<Rule, RegoCompileError>;

  constructor(
    /** What the analysis decided: the rule tree, and each body's scope and order. */
    readonly program: AnnotatedProgram,
    /** Host probes to emit (print output, coverage); production modules have none. */
    readonly options: PlanOptions = {},
  ) {
    this.root = program.root;
    this.deferredRefusals = program.deferredRefusals;
  }

  readonly constants: string[] = [];
  private readonly constantIndex = new Map<string, number>();
  readonly funcs: Func[] = [];
  private readonly funcNames = new Map<string, Map<object, string>>();
  private funcCount = 0;
  private readonly contextIds = new Map<string, number>();
  readonly pending: Array<{ source: FuncSource; name: string; context: MockContext }> = [];
  readonly dependencies = new Map<string, Dependency[]>();

  constant(json: string): Operand {
    let index = this.constantIndex.get(json);
    if (index === undefined) {
      index = this.constants.length;
      this.constants.push(json);
      this.constantIndex.set(json, index);
    }
    return { kind: 'const', index };
  }

  constantIndexOf(json: string): number {
    const operand = this.constant(json);
    return operand.kind === 'const' ? operand.index : 0;
  }

  message(text: string): number {
    return this.constantIndexOf(JSON.stringify(text));
  }

  /** The IR name of the function for a group or tree node; schedules its planning the first time. */
  funcFor(source: FuncSource, context: MockContext = ROOT_CONTEXT): string {
    const key =
      source.kind === 'group'
        ? source.group
        : source.kind === 'lookup'
          ? lookupKey(source.group, source.depth)
          : source.node;
    let names = this.funcNames.get(context.key);
    if (names === undefined) {
      names = new Map();
      this.funcNames.set(context.key, names);
    }
    let name = names.get(key);
    if (name === undefined) {
      const label =
        source.kind === 'group'
          ? source.group.name
          : source.kind === 'lookup'
            ? `${source.group.name}${'[key]'.repeat(source.depth)}`
            : source.node.path.join('.');
      let contextId = this.contextIds.get(context.key);
      if (contextId === undefined) {
        contextId = this.contextIds.size;
        this.contextIds.set(context.key, contextId);
      }
      name = context.key === '' ? `g${this.funcCount}.${label}` : `g${this.funcCount}.with${contextId}.${label}`;
      this.funcCount++;
      names.set(key, name);
      this.pending.push({ source, name, context });
    }
    return name;
  }

  addDependency(from: string, to: string, loc: Location): void {
    let edges = this.dependencies.get(from);
    if (edges === undefined) {
      edges = [];
      this.dependencies.set(from, edges);
    }
    edges.push({ to, loc });
  }
}
