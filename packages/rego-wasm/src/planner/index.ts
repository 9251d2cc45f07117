// Planner: analyzed modules + entrypoints -> IR Policy. Only what an entrypoint reaches is planned; recursion
// (a rule or function that depends on itself) is refused because OPA refuses it too.
import type { Location, Module } from '../ast.js';
import type { AnnotatedProgram, ModuleScope, ModuleSet, RuleGroup } from '../analysis/index.js';
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

export const CONFLICT_RULE_DATA = 'rego_compile_error: conflicting rule for data path';

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
 * Base data at or below a rule's path, or a non-object in data above one, is an error in OPA: it refuses to
 * load such data beside such rules ("conflicting rule for data path a/b found"), for every rule of the
 * policy whether a query reaches it or not, functions included. The compiler cannot see data, so each plan
 * checks every rule path before it evaluates (the sidecar also checks its data at load, see dataConflicts).
 */
interface ConflictTrie {
  children: Map<string, ConflictTrie>;
  /** The message for a rule at this path, when one is. */
  message: string | null;
}

export function dataConflictMessage(path: readonly string[], loc: Location | null): string {
  const where = loc === null ? '' : ` (${loc.file}:${loc.line}:${loc.col})`;
  return `${CONFLICT_RULE_DATA} ${path.join('/')} found${where}`;
}

function conflictTrie(groups: readonly RuleGroup[]): ConflictTrie {
  const root: ConflictTrie = { children: new Map(), message: null };
  for (const group of groups) {
    let node = root;
    for (const segment of group.path.slice(1)) {
      let next = node.children.get(segment);
      if (next === undefined) {
        next = { children: new Map(), message: null };
        node.children.set(segment, next);
      }
      node = next;
    }
    const definition = group.definitions[0] ?? group.defaultDefinition;
    node.message = dataConflictMessage(group.path.slice(1), definition?.rule.loc ?? null);
  }
  return root;
}

/**
 * Walks base data along the rule paths, sharing prefixes, so the usual case (no base data under the
 * package) costs one lookup: data at a rule's path, or a non-object where rules sit below, aborts.
 */
function emitConflictChecks(policy: PolicyBuilder, func: FuncBuilder, node: ConflictTrie, source: number): void {
  const checks = [...node.children].map(([segment, child]) =>
    func.nested(() => {
      const value = func.newLocal();
      func.emit({
        op: 'dot',
        source: { kind: 'local', local: source },
        key: policy.constant(JSON.stringify(segment)),
        target: value,
      });
      if (child.message !== null) {
        func.emit({ op: 'abort', message: policy.message(child.message) });
        return;
      }
      const isObject = func.newLocal();
      func.emit({ op: 'reset', target: isObject });
      const typeCheck = func.nested(() => {
        func.emit({ op: 'isType', source: { kind: 'local', local: value }, type: 'object' });
        func.emit({ op: 'assign', source: policy.constant('true'), target: isObject });
      });
      // A non-object above rules conflicts with the first of them, as OPA reports it.
      const notObject = func.nested(() => {
        func.emit({ op: 'isUndefined', source: isObject });
        func.emit({ op: 'abort', message: policy.message(firstMessage(child)) });
      });
      func.emit({ op: 'blocks', blocks: [typeCheck, notObject] });
      emitConflictChecks(policy, func, child, value);
    }),
  );
  if (checks.length > 0) func.emit({ op: 'blocks', blocks: checks });
}

function firstMessage(node: ConflictTrie): string {
  if (node.message !== null) return node.message;
  for (const child of node.children.values()) return firstMessage(child);
  return CONFLICT_RULE_DATA;
}

function ruleDataConflictBlocks(policy: PolicyBuilder, plan: Plan, trie: ConflictTrie): void {
  const func = new FuncBuilder(plan.numLocals);
  func.startBlock();
  emitConflictChecks(policy, func, trie, DATA_LOCAL);
  plan.numLocals = func.numLocals;
  plan.blocks.unshift(...func.blocks);
}

export function planPolicy(moduleSet: AnnotatedProgram, entrypoints: string[], options: PlanOptions = {}): Policy {
  const policy = new PolicyBuilder(moduleSet, options);
  const plans = entrypoints.map((entrypoint) => planEntrypoint(policy, moduleSet, entrypoint));
  const funcs = [];
  for (let next = policy.pending.shift(); next !== undefined; next = policy.pending.shift()) {
    const { source, name, context } = next;
    funcs.push(
      source.kind === 'node'
        ? planNodeFunc(policy, source.node, name, context)
        : planGroupFunc(policy, source.group, name, context, source.kind === 'lookup' ? source.depth : 0),
    );
  }
  refuseRecursion(policy.dependencies);
  const trie = conflictTrie(moduleSet.groups);
  for (const plan of plans) ruleDataConflictBlocks(policy, plan, trie);
  return { constants: policy.constants, funcs, plans };
}
