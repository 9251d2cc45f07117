// The types of rule documents, as OPA's type checker infers them (ast/check.go checkRule: the head value's
// type, merged over every definition, default and else; a partial set is a set of its elements' type, a
// partial object an object of its keys' and values' types), where the heads alone tell them: a literal, a
// collection, a comprehension, a builtin or operator result, `p if {...}` (true). A head value bound in the
// body, a reference or a call to a function of the policy leaves the rule untyped, and so does anything else
// this cannot tell exactly (nested partial objects, rules below a partial object): never narrower than OPA's
// type, so a policy OPA accepts is never refused. A function of one definition gives its calls the type of its
// head value likewise (functionResultType).
import type { Term } from '../ast.js';
import { literalType, partOf, unionOf, type BuiltinOf, type RegoType } from './argumentTypes.js';
import { findNode, resolveCall, type ModuleScope, type RuleGroup, type RuleTreeNode } from './modules.js';

const groupTypes = new WeakMap<RuleGroup, RegoType | null>();

/** Builtin calls of a head, resolved as the module sees them (a function of the policy is not a builtin). */
function builtinsOf(root: RuleTreeNode, module: ModuleScope): BuiltinOf {
  return (call) => {
    try {
      const target = resolveCall(root, module, call.name, call.nameLoc);
      return target.kind === 'builtin' ? target.name : undefined;
    } catch {
      return undefined;
    }
  };
}

function computeGroupType(root: RuleTreeNode, group: RuleGroup): RegoType | null {
  if (group.keyDepth > 0) return null;
  const typed = (term: Term | null, module: ModuleScope): RegoType | null =>
    term === null ? null : literalType(term, builtinsOf(root, module));
  switch (group.kind) {
    case 'complete': {
      const definitions = [
        ...group.definitions,
        ...(group.defaultDefinition === null ? [] : [group.defaultDefinition]),
      ];
      return unionOf(
        definitions.flatMap(({ rule, module }) => [
          typed(rule.value, module),
          ...rule.elses.map((clause) => typed(clause.value, module)),
        ]),
      );
    }
    case 'partialSet': {
      if (group.defaultDefinition !== null) return null;
      const members = unionOf(group.definitions.map(({ rule, module }) => typed(rule.key, module)));
      return members === null ? null : [{ type: 'set', keys: members, values: members }];
    }
    case 'partialObject': {
      if (group.defaultDefinition !== null) return null;
      const keys = unionOf(group.definitions.map(({ rule, module }) => typed(rule.key, module)));
      const values = unionOf(group.definitions.map(({ rule, module }) => typed(rule.value, module)));
      return keys === null || values === null ? null : [{ type: 'object', keys, values }];
    }
    default:
      return null;
  }
}

/**
 * The result type of a call to a function of the policy, as OPA's checker types the call's output: only for a
 * function of one definition (no `else`, no default). OPA merges several definitions into a union of function
 * types when their parameter or result types differ, and then checks no call at all; their parameter types come
 * from how the bodies use them, which is not read here, so such functions stay untyped.
 */
export function functionResultType(root: RuleTreeNode, group: RuleGroup): RegoType | null {
  const [only, ...others] = group.definitions;
  if (group.kind !== 'function' || only === undefined || others.length > 0) return null;
  if (group.defaultDefinition !== null || only.rule.elses.length > 0) return null;
  return literalType(only.rule.value, builtinsOf(root, only.module));
}

/** The type of a rule group's document, or null when it is not known here. */
export function ruleGroupType(root: RuleTreeNode, group: RuleGroup): RegoType | null {
  if (groupTypes.has(group)) return groupTypes.get(group) ?? null;
  // A rule whose head refers back to itself stays untyped (recursion is refused elsewhere anyway).
  groupTypes.set(group, null);
  const type = computeGroupType(root, group);
  groupTypes.set(group, type);
  return type;
}

/**
 * The type of a reference to a rule document: `headPath` is what the reference's head names (`['data']`,
 * a rule of the package, an import alias), `path` the rest (`data.pkg.p.x`: `pkg`, `p`, `x`). Constant
 * segments lead to the rule; each segment after it takes the values of what the rule may be. Null for input,
 * packages, base data and anything not known here.
 */
export function ruleRefType(root: RuleTreeNode, headPath: readonly string[], path: readonly Term[]): RegoType | null {
  if (headPath[0] !== 'data') return null;
  let node = findNode(root, [...headPath]);
  let i = 0;
  while (node !== null && node.group === null) {
    const segment = path[i++];
    if (segment?.type !== 'string') return null;
    node = node.children.get(segment.value) ?? null;
  }
  // Rules below a partial object add keys OPA merges into its type: not reproduced, so left untyped.
  if (node?.group == null || node.children.size > 0) return null;
  let type = ruleGroupType(root, node.group);
  for (; i < path.length && type !== null; i++) type = partOf(type, 'values');
  return type;
}
