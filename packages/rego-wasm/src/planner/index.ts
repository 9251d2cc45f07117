// Planner: analyzed modules + entrypoints -> IR Policy. Only what an entrypoint reaches is planned; recursion
// (a rule or function that depends on itself) is refused because OPA refuses it too.
import type { Location, Module } from '../ast.js';
import type { ModuleScope, ModuleSet } from '../analysis/index.js';
import { levelScope } from '../analysis/scope.js';
import { RegoCompileError } from '../errors.js';
import type { Plan, Policy } from '../ir.js';
import { planAbsoluteRef, type PlanContext } from './body.js';
import {
  DATA_LOCAL,
  FuncBuilder,
  INPUT_LOCAL,
  PolicyBuilder,
  ROOT_CONTEXT,
  type Dependency,
  type PlanOptions,
} from './builder.js';
import { planGroupFunc, planNodeFunc } from './rules.js';

export const CONFLICT_RULE_DATA = 'eval_conflict_error: base data and a rule define the same path';

/** `envoy/authz/allow` -> `['data', 'envoy', 'authz', 'allow']`; `data.x.y` is accepted as well. */
export function entrypointPath(entrypoint: string): string[] {
  // `data` and the empty name stand for the whole data document.
  const trimmed = entrypoint.startsWith('data.')
    ? entrypoint.slice(5).split('.')
    : entrypoint === 'data' || entrypoint === ''
      ? []
      : entrypoint.split('/');
  if (trimmed.some((segment) => segment.length === 0)) {
    throw new RegoCompileError(
      { file: '<entrypoint>', line: 1, col: 1 },
      'entrypoint',
      `"${entrypoint}" is not a valid entrypoint (expected a/b/c)`,
      'invalid',
    );
  }
  return ['data', ...trimmed];
}

function entrypointModule(): ModuleScope {
  const module: Module = {
    file: '<entrypoint>',
    package: { path: [], loc: { file: '<entrypoint>', line: 1, col: 1 } },
    imports: [],
    rules: [],
  };
  return { module, packagePath: ['data'], aliases: new Map() };
}

function planEntrypoint(policy: PolicyBuilder, moduleSet: ModuleSet, entrypoint: string): Plan {
  const path = entrypointPath(entrypoint);
  const loc: Location = { file: '<entrypoint>', line: 1, col: 1 };
  const func = new FuncBuilder(2);
  const scope = levelScope({}, null, entrypointModule(), moduleSet.root, { exprs: [], terms: [], declared: [] });
  const inputBox = func.newLocal();
  const ctx: PlanContext = {
    policy,
    func,
    scope,
    env: new Map(),
    owner: `plan:${entrypoint}`,
    inputBox,
    data: DATA_LOCAL,
    mocks: ROOT_CONTEXT,
  };
  func.startBlock();
  func.emit({ op: 'makeArray', target: inputBox, capacity: 1 });
  func.startBlock();
  func.emit({ op: 'isDefined', source: INPUT_LOCAL });
  func.emit({ op: 'arrayAppend', array: inputBox, value: { kind: 'local', local: INPUT_LOCAL } });
  func.startBlock();
  planAbsoluteRef(path, [], loc, ctx, (value) => func.emit({ op: 'resultSetAdd', value: func.toLocal(value) }));
  return { name: path.slice(1).join('/'), numLocals: func.numLocals, blocks: func.blocks };
}

function refuseRecursion(dependencies: Map<string, Dependency[]>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    state.set(name, 'visiting');
    for (const edge of dependencies.get(name) ?? []) {
      const seen = state.get(edge.to);
      if (seen === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(edge.to)), edge.to].map((n) =>
          n.replace(/^g\d+\.(with\d+\.)?/, ''),
        );
        throw new RegoCompileError(
          edge.loc,
          'recursion',
          `rules must not depend on themselves: ${cycle.join(' -> ')}`,
          'recursion',
        );
      }
      if (seen === undefined) visit(edge.to, [...trail, edge.to]);
    }
    state.set(name, 'done');
  };
  for (const name of dependencies.keys()) if (!state.has(name)) visit(name, [name]);
}

/**
 * Base data and a rule at the same path is an error in OPA (the document would have two definitions); the
 * compiler cannot see data, so each plan checks the paths of the rules it uses before evaluating.
 */
interface ConflictTrie {
  children: Map<string, ConflictTrie>;
  /** Full name of the rule at this path, when one is. */
  rule: string | null;
}

function conflictTrie(policy: PolicyBuilder): ConflictTrie {
  const root: ConflictTrie = { children: new Map(), rule: null };
  for (const group of policy.plannedGroups) {
    if (group.kind === 'function') continue;
    let node = root;
    for (const segment of group.path.slice(1)) {
      let next = node.children.get(segment);
      if (next === undefined) {
        next = { children: new Map(), rule: null };
        node.children.set(segment, next);
      }
      node = next;
    }
    node.rule = group.name;
  }
  return root;
}

/**
 * Walks base data along the rule paths, sharing prefixes, so the usual case (no base data under the
 * package) costs one lookup: data at a rule's path, or a non-object where rules sit below, aborts.
 */
function emitConflictChecks(
  policy: PolicyBuilder,
  func: FuncBuilder,
  node: ConflictTrie,
  source: number,
  path: string[],
): void {
  const checks = [...node.children].map(([segment, child]) =>
    func.nested(() => {
      const value = func.newLocal();
      const childPath = [...path, segment];
      func.emit({
        op: 'dot',
        source: { kind: 'local', local: source },
        key: policy.constant(JSON.stringify(segment)),
        target: value,
      });
      if (child.rule !== null) {
        func.emit({ op: 'abort', message: policy.message(`${CONFLICT_RULE_DATA}: ${child.rule}`) });
        return;
      }
      const isObject = func.newLocal();
      func.emit({ op: 'reset', target: isObject });
      const typeCheck = func.nested(() => {
        func.emit({ op: 'isType', source: { kind: 'local', local: value }, type: 'object' });
        func.emit({ op: 'assign', source: policy.constant('true'), target: isObject });
      });
      const notObject = func.nested(() => {
        func.emit({ op: 'isUndefined', source: isObject });
        func.emit({
          op: 'abort',
          message: policy.message(`${CONFLICT_RULE_DATA}: ${childPath.join('.')} is not an object in data`),
        });
      });
      func.emit({ op: 'blocks', blocks: [typeCheck, notObject] });
      emitConflictChecks(policy, func, child, value, childPath);
    }),
  );
  if (checks.length > 0) func.emit({ op: 'blocks', blocks: checks });
}

function ruleDataConflictBlocks(policy: PolicyBuilder, plan: Plan): void {
  const func = new FuncBuilder(plan.numLocals);
  func.startBlock();
  emitConflictChecks(policy, func, conflictTrie(policy), DATA_LOCAL, ['data']);
  plan.numLocals = func.numLocals;
  plan.blocks.unshift(...func.blocks);
}

export function planPolicy(moduleSet: ModuleSet, entrypoints: string[], options: PlanOptions = {}): Policy {
  const policy = new PolicyBuilder(moduleSet.root, moduleSet.deferredRefusals, options);
  const plans = entrypoints.map((entrypoint) => planEntrypoint(policy, moduleSet, entrypoint));
  const funcs = [];
  for (let next = policy.pending.shift(); next !== undefined; next = policy.pending.shift()) {
    const { source, name, context } = next;
    funcs.push(
      source.kind === 'node'
        ? planNodeFunc(policy, source.node, name, context)
        : planGroupFunc(policy, source.group, name, context, source.kind === 'lookup'),
    );
  }
  refuseRecursion(policy.dependencies);
  for (const plan of plans) ruleDataConflictBlocks(policy, plan);
  return { constants: policy.constants, funcs, plans };
}
