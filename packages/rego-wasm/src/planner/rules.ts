// One IR Func per rule group (complete, partial set, partial object, function) and per inner node of the
// virtual document tree (a package's object of rules, merged with the base data under the same path).
import type { Body, Location, Rule, Term } from '../ast.js';
import { annotatedBody, findNode, type RuleDefinition, type RuleGroup, type RuleTreeNode } from '../analysis/index.js';
import type { Func, Local, Operand } from '../ir.js';
import { planBody, planHeadTerms, planTerm, matchPattern, type PlanContext } from './body.js';
import {
  CONFLICT_COMPLETE,
  CONFLICT_FUNCTION,
  CONFLICT_OBJECT_KEY,
  DATA_LOCAL,
  FuncBuilder,
  INPUT_LOCAL,
  isDataMocked,
  type MockContext,
  type PolicyBuilder,
} from './builder.js';

interface Clause {
  body: Body;
  value: Term;
  /** Where the clause's head is (the rule's, or its `else`). */
  loc: Location;
}

function clausesOf(rule: Rule): Clause[] {
  return [
    { body: rule.body, value: rule.value, loc: rule.loc },
    ...rule.elses.map((e) => ({ body: e.body, value: e.value, loc: e.loc })),
  ];
}

function headsOf(group: RuleGroup, rule: Rule, clause: Clause): Term[] {
  switch (group.kind) {
    case 'partialSet':
      return [...(rule.keyPath ?? []), rule.key ?? rule.value];
    case 'partialObject':
      return [...(rule.keyPath ?? []), rule.key as Term, rule.value];
    default:
      return [clause.value];
  }
}

/** Binds the function's parameters to its argument patterns (in order), then plans `k`. */
function matchArguments(rule: Rule, ctx: PlanContext, k: () => void): void {
  const args = rule.args ?? [];
  const next = (index: number): void => {
    const arg = args[index];
    if (arg === undefined) {
      k();
      return;
    }
    matchPattern(arg, { kind: 'local', local: 2 + index }, ctx, () => next(index + 1));
  };
  next(0);
}

function planClause(
  policy: PolicyBuilder,
  func: FuncBuilder,
  owner: string,
  group: RuleGroup,
  definition: RuleDefinition,
  clause: Clause,
  context: MockContext,
  emitResult: (values: Operand[]) => void,
): void {
  const { scope } = annotatedBody(policy.program, clause.body);
  const ctx: PlanContext = {
    policy,
    func,
    scope,
    env: new Map(),
    owner,
    inputBox: INPUT_LOCAL,
    data: DATA_LOCAL,
    mocks: context,
    clauseVars: annotatedBody(policy.program, clause.body).clauseVars,
  };
  matchArguments(definition.rule, ctx, () =>
    planBody(clause.body, ctx, () => {
      planHeadProbe(policy, func, clause.loc);
      planHeadTerms(headsOf(group, definition.rule, clause), ctx, emitResult);
    }),
  );
}

/** Coverage: tells the host (`internal.cover`) that the rule whose head is at `loc` produced a value. */
function planHeadProbe(policy: PolicyBuilder, func: FuncBuilder, loc: Location): void {
  if (policy.options.coverage !== true) return;
  const where = policy.constant(JSON.stringify([loc.file, loc.line]));
  func.emit({ op: 'call', func: 'internal.cover', args: [where], target: func.newLocal() });
}

/**
 * A head with variables before its last position: walks (creating) `levels` object levels keyed by the
 * first values, then adds the element (partial set) or inserts key: value (partial object) at the deepest
 * level. Levels are objects this evaluation created, so inserting into them in place is safe.
 */
function storeNested(
  policy: PolicyBuilder,
  func: FuncBuilder,
  kind: RuleGroup['kind'],
  levels: number,
  result: Local,
  values: Operand[],
): void {
  let current = result;
  for (let i = 0; i < levels; i++) {
    const key = values[i] as Operand;
    const last = i === levels - 1;
    const next = func.newLocal();
    func.emit({ op: 'reset', target: next });
    func.emit({
      op: 'blocks',
      blocks: [
        func.nested(() => func.emit({ op: 'dot', source: { kind: 'local', local: current }, key, target: next })),
      ],
    });
    func.emit({
      op: 'blocks',
      blocks: [
        func.nested(() => {
          func.emit({ op: 'isUndefined', source: next });
          func.emit(
            last && kind === 'partialSet' ? { op: 'makeSet', target: next } : { op: 'makeObject', target: next },
          );
          func.emit({ op: 'objectInsert', object: current, key, value: { kind: 'local', local: next } });
        }),
      ],
    });
    current = next;
  }
  const element = values[levels] as Operand;
  if (kind === 'partialSet') {
    func.emit({ op: 'isType', source: { kind: 'local', local: current }, type: 'set' });
    func.emit({ op: 'setAdd', set: current, value: element });
    return;
  }
  func.emit({ op: 'isType', source: { kind: 'local', local: current }, type: 'object' });
  func.emit({
    op: 'objectInsertOnce',
    object: current,
    key: element,
    value: values[levels + 1] as Operand,
    message: policy.message(CONFLICT_OBJECT_KEY),
  });
}

/**
 * A partial object read at its first keys (see FuncSource `lookup`): the keys (locals) a solution's head
 * must match, and the object the remaining levels are built in when the value below them is an object.
 */
interface Lookup {
  keys: Local[];
  accumulator: Local | null;
}

/**
 * Rules below a partial object (`c["hello"] := false` beside `c[k] := v`) add their keys to it, as in OPA;
 * a key both produce with different values is the usual object key conflict. Read at one key (a lookup,
 * the key in param 2), only the rule below at that key counts.
 */
function addRulesBelow(
  policy: PolicyBuilder,
  func: FuncBuilder,
  group: RuleGroup,
  name: string,
  result: Local,
  context: MockContext,
  atLookupKey: boolean,
): void {
  const node = findNode(policy.root, group.path);
  for (const [key, childNode] of node?.children ?? []) {
    if (childNode.group?.kind === 'function') continue;
    if (isDataMocked(context, childNode.path.slice(1))) continue;
    const childFunc = policy.funcFor(
      childNode.group === null ? { kind: 'node', node: childNode } : { kind: 'group', group: childNode.group },
      context,
    );
    policy.addDependency(name, childFunc, firstLocation(childNode));
    func.startBlock();
    const keyOperand = policy.constant(JSON.stringify(key));
    if (atLookupKey) func.emit({ op: 'equal', a: { kind: 'local', local: 2 }, b: keyOperand });
    const value = func.newLocal();
    func.emit({
      op: 'call',
      func: childFunc,
      args: [
        { kind: 'local', local: INPUT_LOCAL },
        { kind: 'local', local: DATA_LOCAL },
      ],
      target: value,
    });
    const source: Operand = { kind: 'local', local: value };
    const message = policy.message(CONFLICT_OBJECT_KEY);
    func.emit(
      atLookupKey
        ? { op: 'assignOnce', source, target: result, message }
        : { op: 'objectInsertOnce', object: result, key: keyOperand, value: source, message },
    );
  }
}

function planDefinition(
  policy: PolicyBuilder,
  func: FuncBuilder,
  owner: string,
  group: RuleGroup,
  definition: RuleDefinition,
  result: Local,
  context: MockContext,
  lookup: Lookup | null,
): void {
  const conflict = policy.message(group.kind === 'function' ? CONFLICT_FUNCTION : CONFLICT_COMPLETE);
  const clauses = clausesOf(definition.rule);
  const store =
    (target: Local) =>
    (allValues: Operand[]): void => {
      if (lookup !== null) {
        // Only the solutions at the keys read count (other keys' conflicts are not raised), as in OPA.
        lookup.keys.forEach((key, i) =>
          func.emit({ op: 'equal', a: allValues[i] as Operand, b: { kind: 'local', local: key } }),
        );
        const rest = allValues.slice(lookup.keys.length);
        if (lookup.accumulator === null) {
          func.emit({
            op: 'assignOnce',
            source: rest[0] as Operand,
            target,
            message: policy.message(CONFLICT_OBJECT_KEY),
          });
          return;
        }
        storeNested(policy, func, group.kind, rest.length - 2, lookup.accumulator, rest);
        func.emit({ op: 'assign', source: { kind: 'local', local: lookup.accumulator }, target });
        return;
      }
      if (group.keyDepth > 0) {
        storeNested(policy, func, group.kind, group.keyDepth, target, allValues);
        return;
      }
      const [first, second] = allValues as [Operand, Operand | undefined];
      switch (group.kind) {
        case 'partialSet':
          func.emit({ op: 'setAdd', set: target, value: first });
          return;
        case 'partialObject':
          func.emit({
            op: 'objectInsertOnce',
            object: target,
            key: first,
            value: second as Operand,
            message: policy.message(CONFLICT_OBJECT_KEY),
          });
          return;
        default:
          func.emit({ op: 'assignOnce', source: first, target, message: conflict });
          // A constant value cannot conflict with the body's other solutions: stop at the first one.
          if (first.kind === 'const') func.breakOutTo(1);
      }
    };
  if (clauses.length === 1) {
    func.startBlock();
    planClause(policy, func, owner, group, definition, clauses[0] as Clause, context, store(result));
    return;
  }
  // Else chain: a clause runs only while no earlier clause produced a value; all solutions of the clause
  // that succeeds must agree (assignOnce), as must the chain's value and the group's other definitions.
  const chain = func.newLocal();
  clauses.forEach((clause, index) => {
    func.startBlock();
    if (index > 0) func.emit({ op: 'isUndefined', source: chain });
    planClause(policy, func, owner, group, definition, clause, context, store(chain));
  });
  func.startBlock();
  func.emit({ op: 'isDefined', source: chain });
  func.emit({ op: 'assignOnce', source: { kind: 'local', local: chain }, target: result, message: conflict });
}

export function planGroupFunc(
  policy: PolicyBuilder,
  group: RuleGroup,
  name: string,
  context: MockContext,
  lookupDepth = 0,
): Func {
  for (const definition of [
    ...group.definitions,
    ...(group.defaultDefinition === null ? [] : [group.defaultDefinition]),
  ]) {
    const refusal = policy.deferredRefusals.get(definition.rule);
    if (refusal !== undefined) throw refusal;
  }
  const arity = lookupDepth > 0 ? lookupDepth : (group.arity ?? 0);
  const func = new FuncBuilder(2 + arity);
  const result = func.newLocal();
  let lookup: Lookup | null = null;
  if (lookupDepth > 0) {
    // Below the keys read: the value itself (all keys given), or an object of the levels left.
    const accumulator = lookupDepth <= group.keyDepth ? func.newLocal() : null;
    lookup = { keys: Array.from({ length: lookupDepth }, (_, i) => 2 + i), accumulator };
    if (accumulator !== null) {
      func.startBlock();
      func.emit({ op: 'makeObject', target: accumulator });
    }
  } else if (group.kind === 'partialSet' || group.kind === 'partialObject') {
    func.startBlock();
    func.emit(
      group.kind === 'partialSet' && group.keyDepth === 0
        ? { op: 'makeSet', target: result }
        : { op: 'makeObject', target: result },
    );
  }
  for (const definition of group.definitions)
    planDefinition(policy, func, name, group, definition, result, context, lookup);
  // Rules below a partial object exist only beside one-level heads, so a lookup there has one key.
  if (group.kind === 'partialObject') addRulesBelow(policy, func, group, name, result, context, lookup !== null);
  const fallback = group.defaultDefinition;
  if (fallback !== null) {
    func.startBlock();
    func.emit({ op: 'isUndefined', source: result });
    const { scope } = annotatedBody(policy.program, fallback.rule.body);
    const ctx: PlanContext = {
      policy,
      func,
      scope,
      env: new Map(),
      owner: name,
      inputBox: INPUT_LOCAL,
      data: DATA_LOCAL,
      mocks: context,
    };
    matchArguments(fallback.rule, ctx, () =>
      planTerm(fallback.rule.value, ctx, (value) => {
        planHeadProbe(policy, func, fallback.rule.loc);
        func.emit({ op: 'assign', source: value, target: result });
      }),
    );
  }
  return {
    name,
    params: Array.from({ length: 2 + arity }, (_, i) => i),
    result,
    numLocals: func.numLocals,
    blocks: func.blocks,
    memoize: group.kind !== 'function' && lookupDepth === 0 && context.key === '',
  };
}

export function firstLocation(node: RuleTreeNode): Location {
  if (node.group !== null) {
    const definition = node.group.definitions[0] ?? node.group.defaultDefinition;
    if (definition !== null && definition !== undefined) return definition.rule.loc;
  }
  for (const childNode of node.children.values()) return firstLocation(childNode);
  return { file: '<data>', line: 1, col: 1 };
}

/** Emits dots from data along `path` (after `data`) into fresh locals; returns the last one. */
export function emitDataLookup(policy: PolicyBuilder, func: FuncBuilder, path: string[]): Local {
  let source: Local = DATA_LOCAL;
  for (const segment of path.slice(1)) {
    const target = func.newLocal();
    func.emit({
      op: 'dot',
      source: { kind: 'local', local: source },
      key: policy.constant(JSON.stringify(segment)),
      target,
    });
    source = target;
  }
  return source;
}

/** The virtual document at an inner node: every non-function rule below it, merged with base data. */
export function planNodeFunc(policy: PolicyBuilder, node: RuleTreeNode, name: string, context: MockContext): Func {
  const func = new FuncBuilder(2);
  const result = func.newLocal();
  const object = func.newLocal();
  func.startBlock();
  func.emit({ op: 'makeObject', target: object });
  for (const [key, childNode] of node.children) {
    if (childNode.group?.kind === 'function') continue;
    // A path a `with` replaced comes from the data argument, merged in below.
    if (isDataMocked(context, childNode.path.slice(1))) continue;
    const childFunc = policy.funcFor(
      childNode.group === null ? { kind: 'node', node: childNode } : { kind: 'group', group: childNode.group },
      context,
    );
    policy.addDependency(name, childFunc, firstLocation(childNode));
    func.startBlock();
    const value = func.newLocal();
    func.emit({
      op: 'call',
      func: childFunc,
      args: [
        { kind: 'local', local: INPUT_LOCAL },
        { kind: 'local', local: DATA_LOCAL },
      ],
      target: value,
    });
    func.emit({
      op: 'objectInsert',
      object,
      key: policy.constant(JSON.stringify(key)),
      value: { kind: 'local', local: value },
    });
  }
  func.startBlock();
  func.emit({ op: 'assign', source: { kind: 'local', local: object }, target: result });
  func.startBlock();
  const base = emitDataLookup(policy, func, node.path);
  const merged = func.newLocal();
  func.emit({
    op: 'objectMerge',
    a: { kind: 'local', local: object },
    b: { kind: 'local', local: base },
    target: merged,
  });
  func.emit({ op: 'assign', source: { kind: 'local', local: merged }, target: result });
  return {
    name,
    params: [INPUT_LOCAL, DATA_LOCAL],
    result,
    numLocals: func.numLocals,
    blocks: func.blocks,
    memoize: context.key === '',
  };
}
