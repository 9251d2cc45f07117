// `with` modifiers resolved the way OPA does: each target is input, a data path (base data or the rules
// there), a function of the policy or a builtin, and what replaces a function is another function, a
// builtin or a constant. The analysis records each modifier's target in the annotated program; the planner
// applies it (planner/body.ts planWith).
import type { Location, Term, WithModifier } from '../ast.js';
import { RegoCompileError } from '../errors.js';
import { builtinSpec } from '../builtins/catalog.js';
import { constantJson } from './constants.js';
import { resolveCall, type CallTarget, type RuleGroup, type RuleTreeNode } from './modules.js';
import { resolveVar, type VarScope } from './scope.js';

/** What a `with` modifier puts in place of a function or builtin for the calls planned under it. */
export type FuncMock =
  { kind: 'builtin'; name: string } | { kind: 'function'; group: RuleGroup } | { kind: 'value'; json: string };

/** What one `with` modifier replaces. */
export type WithTarget =
  | { kind: 'input'; path: string[]; value: Term }
  | { kind: 'data'; path: string[]; value: Term; replacesRules: boolean }
  | { kind: 'function'; key: string; mock: FuncMock };

function refuseWithTarget(loc: Location, detail: string): never {
  throw new RegoCompileError(loc, 'with', detail, 'unsupported');
}

/** The names of a var or of a ref whose segments are all strings (`input.a["b"]` -> input, a, b). */
function namePath(term: Term): string[] | null {
  if (term.type === 'var') return [term.name];
  if (term.type !== 'ref' || term.head.type !== 'var') return null;
  const names = [term.head.name];
  for (const part of term.path) {
    if (part.type !== 'string') return null;
    names.push(part.value);
  }
  return names;
}

/** The function or builtin a `with` value names, when it names one (and is not a local variable). */
function functionReplacement(value: Term, scope: VarScope): FuncMock | null {
  const names = namePath(value);
  if (names === null) return null;
  if (resolveVar(scope, names[0] as string)?.kind === 'local') return null;
  let target: CallTarget;
  try {
    target = resolveCall(scope.root, scope.module, names.join('.'), value.loc);
  } catch {
    return null; // not a function: a value (a rule or data), handled by the caller
  }
  if (target.kind === 'print') return null;
  return target.kind === 'builtin' ? { kind: 'builtin', name: target.name } : { kind: 'function', group: target.group };
}

function mockArity(mock: FuncMock): number | null {
  if (mock.kind === 'builtin') return builtinSpec(mock.name)?.arity ?? null;
  if (mock.kind === 'function') return mock.group.arity ?? 0;
  return null;
}

function functionTarget(key: string, arity: number, modifier: WithModifier, scope: VarScope): WithTarget {
  const replacement = functionReplacement(modifier.value, scope);
  if (replacement !== null) {
    const replacementArity = mockArity(replacement);
    if (replacementArity !== null && replacementArity !== arity) {
      refuseWithTarget(
        modifier.value.loc,
        `the replacement takes ${replacementArity} argument(s), the function it replaces ${arity}`,
      );
    }
    return { kind: 'function', key, mock: replacement };
  }
  const json = constantJson(modifier.value);
  if (json === null) {
    refuseWithTarget(
      modifier.value.loc,
      'a function or builtin can be replaced by another function, a builtin or a constant value; bind a computed value to a rule instead',
    );
  }
  return { kind: 'function', key, mock: { kind: 'value', json } };
}

/** Resolves a `with` target the way OPA does: input, a data path (base or rules), a function or a builtin. */
export function withTarget(modifier: WithModifier, scope: VarScope): WithTarget {
  const names = namePath(modifier.target);
  if (names === null)
    refuseWithTarget(
      modifier.target.loc,
      'a `with` target must be input, data or a function, written as a path of names (input.a.b, data.x.y, f)',
    );
  const head = names[0] as string;
  const resolved = resolveVar(scope, head);
  if (resolved?.kind === 'local')
    refuseWithTarget(
      modifier.target.loc,
      `${head} is a local variable; a \`with\` target must be input, data or a function`,
    );
  if (resolved === null) {
    const name = names.join('.');
    const arity = builtinSpec(name)?.arity;
    if (arity === undefined)
      refuseWithTarget(
        modifier.target.loc,
        `${name} is not input, data, a function of the policy or a supported builtin`,
      );
    return functionTarget(`builtin:${name}`, arity, modifier, scope);
  }
  const path = [...resolved.path, ...names.slice(1)];
  if (path[0] === 'input') return { kind: 'input', path: path.slice(1), value: modifier.value };
  let node: RuleTreeNode | undefined = scope.root;
  let replacesRules = node.children.size > 0;
  for (let i = 1; i < path.length && node !== undefined; i++) {
    node = node.children.get(path[i] as string);
    if (node === undefined) {
      replacesRules = false; // below no rule: plain base data
      break;
    }
    const group = node.group;
    if (group === null) continue;
    if (group.kind === 'function') {
      if (i !== path.length - 1)
        refuseWithTarget(modifier.target.loc, `${group.name} is a function; replace the function itself`);
      return functionTarget(`function:${group.name}`, group.arity ?? 0, modifier, scope);
    }
    if (i !== path.length - 1) {
      refuseWithTarget(
        modifier.target.loc,
        `replacing part of the value of rule ${group.name} is not supported; replace the whole rule (with ${group.name} as ...)`,
      );
    }
  }
  return { kind: 'data', path: path.slice(1), value: modifier.value, replacesRules };
}
