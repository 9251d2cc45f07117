// Module-set analysis: packages, imports and the rule tree. Every rule lands in one group keyed by its full
// path (`data.<package>.<rule>`), no matter how many files or packages declare it, because that is the unit
// OPA evaluates: one value per complete rule, one collection per partial rule, one relation per function.
import type { Import, Location, Module, Rule, RuleKind } from '../ast.js';
import { RegoCompileError, type CompileErrorKind } from '../errors.js';
import { builtinSpec, REFUSED } from '../builtins/catalog.js';

export interface RuleDefinition {
  rule: Rule;
  module: ModuleScope;
}

export interface RuleGroup {
  /** Absolute path, starting with `data`. */
  path: string[];
  /** `data.pkg.rule`, used for messages and IR function names. */
  name: string;
  kind: RuleKind;
  definitions: RuleDefinition[];
  defaultDefinition: RuleDefinition | null;
  /** Number of parameters for functions; null otherwise. */
  arity: number | null;
  /** Object levels above the key or element (Rule.keyPath's length); 0 for the usual rules. */
  keyDepth: number;
}

/** A node of the virtual document tree: either a rule group (leaf) or an object of children. */
export interface RuleTreeNode {
  path: string[];
  children: Map<string, RuleTreeNode>;
  group: RuleGroup | null;
  /** For a package node: first segments of the rules its modules declare (what a bare name can refer to). */
  ruleNames: Set<string>;
}

/** What one module sees: its package and the names its imports introduce. */
export interface ModuleScope {
  module: Module;
  /** `['data', ...package]`. */
  packagePath: string[];
  /** Import alias -> absolute path (`['input', 'x']` or `['data', 'lib']`). */
  aliases: Map<string, string[]>;
}

export interface ModuleSet {
  modules: ModuleScope[];
  root: RuleTreeNode;
  groups: RuleGroup[];
  /**
   * Rules that call something outside the supported subset. The refusal is raised only if an entrypoint
   * reaches the rule, so helpers or tests nothing evaluates do not block a build.
   */
  deferredRefusals: Map<Rule, RegoCompileError>;
}

/** Imports that only switch on syntax (Rego v1 keywords) and bind no name. */
function isKeywordImport(path: string[]): boolean {
  return (path[0] === 'rego' && path[1] === 'v1' && path.length === 2) || path[0] === 'future';
}

function resolveImport(imp: Import): [string, string[]] | null {
  if (isKeywordImport(imp.path)) return null;
  const root = imp.path[0];
  if (root !== 'input' && root !== 'data') {
    throw new RegoCompileError(
      imp.loc,
      'import',
      `cannot import "${imp.path.join('.')}": only data.* and input.* imports are supported`,
      'unsupported',
    );
  }
  const alias = imp.alias ?? imp.path[imp.path.length - 1];
  if (alias === undefined) throw new RegoCompileError(imp.loc, 'import', 'empty import path', 'syntax');
  return [alias, [...imp.path]];
}

/** `import rego.v1` implies the future keywords, so it may appear once and never beside `future.keywords`. */
function checkKeywordImports(imports: Import[]): void {
  let seenRegoV1 = false;
  let seenFuture = false;
  for (const imp of imports) {
    if (!isKeywordImport(imp.path)) continue;
    const isRegoV1 = imp.path[0] === 'rego';
    if ((isRegoV1 && (seenRegoV1 || seenFuture)) || (!isRegoV1 && seenRegoV1)) {
      throw new RegoCompileError(
        imp.loc,
        'import',
        `"import ${imp.path.join('.')}" shadows a previous import: rego.v1 already includes the future keywords; keep one`,
        'conflict',
      );
    }
    seenRegoV1 ||= isRegoV1;
    seenFuture ||= !isRegoV1;
  }
}

function buildModuleScope(module: Module): ModuleScope {
  checkKeywordImports(module.imports);
  const aliases = new Map<string, string[]>();
  for (const imp of module.imports) {
    const resolved = resolveImport(imp);
    if (resolved === null) continue;
    const [alias, path] = resolved;
    const previous = aliases.get(alias);
    if (previous !== undefined && previous.join('.') !== path.join('.')) {
      throw new RegoCompileError(
        imp.loc,
        'import',
        `import alias "${alias}" is declared twice with different paths`,
        'conflict',
      );
    }
    aliases.set(alias, path);
  }
  return { module, packagePath: ['data', ...module.package.path], aliases };
}

function newNode(path: string[]): RuleTreeNode {
  return { path, children: new Map(), group: null, ruleNames: new Set() };
}

function ruleLoc(rule: Rule): Location {
  return rule.loc;
}

/** Finds or creates the tree node for a rule path, refusing paths that put a rule above or below another. */
function nodeForRule(root: RuleTreeNode, path: string[], rule: Rule): RuleTreeNode {
  let node = root;
  for (let i = 1; i < path.length; i++) {
    // As in OPA, rules may sit below a partial object (`c[k] := v` beside `c["hello"] := false`): the object
    // gets their keys too. Below any other rule they would give one document two definitions.
    if (node.group !== null && !(node.group.kind === 'partialObject' && node.group.keyDepth === 0)) {
      throw new RegoCompileError(
        ruleLoc(rule),
        'rule path conflict',
        `rule ${path.join('.')} is below rule ${node.group.name}, which already defines that document`,
        'conflict',
      );
    }
    const segment = path[i] as string;
    let child = node.children.get(segment);
    if (child === undefined) {
      child = newNode(path.slice(0, i + 1));
      node.children.set(segment, child);
    }
    node = child;
  }
  if (node.children.size > 0 && !(rule.kind === 'partialObject' && (rule.keyPath?.length ?? 0) === 0)) {
    throw new RegoCompileError(
      ruleLoc(rule),
      'rule path conflict',
      `rule ${path.join('.')} would replace the rules defined below it`,
      'conflict',
    );
  }
  return node;
}

function addRule(root: RuleTreeNode, groups: RuleGroup[], scope: ModuleScope, rule: Rule): void {
  const path = [...scope.packagePath, ...rule.name];
  const name = path.join('.');
  if (rule.name[0] === 'input' || rule.name[0] === 'data') {
    throw new RegoCompileError(
      rule.loc,
      `${rule.name[0]} shadowed`,
      `a rule cannot be named ${rule.name[0]}`,
      'conflict',
    );
  }
  const node = nodeForRule(root, path, rule);
  findNode(root, scope.packagePath)?.ruleNames.add(rule.name[0] as string);
  let group = node.group;
  const arity = rule.kind === 'function' ? (rule.args?.length ?? 0) : null;
  if (group === null) {
    group = {
      path,
      name,
      kind: rule.kind,
      definitions: [],
      defaultDefinition: null,
      arity,
      keyDepth: rule.keyPath?.length ?? 0,
    };
    node.group = group;
    groups.push(group);
  } else if (group.kind !== rule.kind) {
    throw new RegoCompileError(
      rule.loc,
      'rule kind conflict',
      `${name} is defined both as a ${group.kind} rule and as a ${rule.kind} rule`,
      'conflict',
    );
  } else if (group.keyDepth !== (rule.keyPath?.length ?? 0)) {
    throw new RegoCompileError(
      rule.loc,
      'rule kind conflict',
      `${name} is defined with ${group.keyDepth} and with ${rule.keyPath?.length ?? 0} variable levels in its head`,
      'conflict',
    );
  } else if (group.arity !== arity) {
    throw new RegoCompileError(
      rule.loc,
      'function arity conflict',
      `${name} is defined with ${group.arity} and with ${arity} arguments`,
      'conflict',
    );
  }
  const definition = { rule, module: scope };
  if (rule.default) {
    if (group.defaultDefinition !== null) {
      throw new RegoCompileError(rule.loc, 'default', `${name} has more than one default`, 'conflict');
    }
    if (rule.kind !== 'complete' && rule.kind !== 'function') {
      throw new RegoCompileError(
        rule.loc,
        'default',
        `default is only allowed on complete rules and functions, not on ${name}`,
        'invalid',
      );
    }
    group.defaultDefinition = definition;
  } else {
    if (rule.elses.length > 0 && rule.kind !== 'complete' && rule.kind !== 'function') {
      throw new RegoCompileError(
        rule.elses[0]?.loc ?? rule.loc,
        'else',
        `else is only allowed on complete rules and functions`,
        'invalid',
      );
    }
    group.definitions.push(definition);
  }
}

export function buildModuleSet(modules: Module[]): ModuleSet {
  const root = newNode(['data']);
  const groups: RuleGroup[] = [];
  const scopes = modules.map(buildModuleScope);
  // A package exists as an (possibly empty) object even when it has no rules.
  for (const scope of scopes) {
    let node = root;
    for (const segment of scope.packagePath.slice(1)) {
      if (node.group !== null) break;
      let next = node.children.get(segment);
      if (next === undefined) {
        next = newNode([...node.path, segment]);
        node.children.set(segment, next);
      }
      node = next;
    }
  }
  for (const scope of scopes) {
    for (const rule of scope.module.rules) addRule(root, groups, scope, rule);
  }
  return { modules: scopes, root, groups, deferredRefusals: new Map() };
}

/** The node at an absolute `data...` path, or null when no rule lives at or below it. */
export function findNode(root: RuleTreeNode, path: string[]): RuleTreeNode | null {
  let node: RuleTreeNode | undefined = root;
  for (let i = 1; i < path.length && node !== undefined; i++) node = node.children.get(path[i] as string);
  return node ?? null;
}

/**
 * Names a module can use without binding them: `input`, `data`, import aliases and the rules of its package
 * (first segment). Returns the absolute path the name stands for.
 */
export function resolveGlobalName(root: RuleTreeNode, scope: ModuleScope, name: string): string[] | null {
  if (name === 'input' || name === 'data') return [name];
  // A rule of the package wins over an import alias of the same name.
  const packageNode = findNode(root, scope.packagePath);
  if (packageNode?.ruleNames.has(name) === true) return [...scope.packagePath, name];
  return scope.aliases.get(name) ?? null;
}

export type CallTarget =
  | { kind: 'builtin'; name: string; arity: number }
  | { kind: 'function'; group: RuleGroup; arity: number }
  | { kind: 'print' };

/**
 * Kinds of the refusals that wait until a plan reaches the rule (ModuleSet.deferredRefusals): a call to a
 * function nothing defines, or to a builtin outside the subset. While rules are checked, nothing else raises
 * these kinds (`with` refusals are recorded, not raised), so the kind alone decides, never the text.
 */
export const DEFERRED_KINDS: ReadonlySet<CompileErrorKind> = new Set(['undefined', 'unsupported']);

export function resolveCall(root: RuleTreeNode, scope: ModuleScope, name: string, loc: Location): CallTarget {
  const segments = name.split('.');
  const first = segments[0] as string;
  // For calls an import alias wins over a rule of the package with the same first segment.
  const globalPath = scope.aliases.get(first) ?? resolveGlobalName(root, scope, first);
  const spec = builtinSpec(name);
  // Host probes (print output, coverage) are emitted by the compiler only; a policy cannot call them.
  const builtinArity = spec === undefined || spec.lowering === 'host' ? undefined : spec.arity;
  // OPA 1.0 removed the deprecated builtins from Rego v1: a module that imports rego.v1 cannot call them.
  if (
    spec?.deprecated === true &&
    globalPath === null &&
    scope.module.imports.some((imp) => imp.path.join('.') === 'rego.v1')
  ) {
    throw new RegoCompileError(
      loc,
      name,
      `${name} is deprecated and not available in Rego v1 (import rego.v1); the policy authors' guide names its replacement`,
      'invalid',
    );
  }
  // As in OPA, names the module defines (its package's rules, its import aliases, `data`) shadow builtins:
  // `max(x, y) := ...` in the package makes `max(7, 3)` call it.
  if (globalPath !== null) {
    if (globalPath[0] === 'input') {
      throw new RegoCompileError(loc, 'call', `${name} is not a function: ${first} refers to input`, 'invalid');
    }
    const path = first === 'data' ? segments : [...globalPath, ...segments.slice(1)];
    const node = findNode(root, path);
    if (node?.group?.kind === 'function') {
      return { kind: 'function', group: node.group, arity: node.group.arity ?? 0 };
    }
    throw new RegoCompileError(
      loc,
      'unknown function',
      `${name} (${path.join('.')}) is not a function defined by the policy`,
      'undefined',
    );
  }
  if (builtinArity !== undefined) return { kind: 'builtin', name, arity: builtinArity };
  if (name === 'print') return { kind: 'print' };
  const refusal = Object.hasOwn(REFUSED, name) ? REFUSED[name] : undefined;
  if (refusal !== undefined) throw new RegoCompileError(loc, name, refusal, 'unsupported');
  throw new RegoCompileError(
    loc,
    'unknown function',
    `${name} is not a supported builtin or a function of the policy`,
    'undefined',
  );
}
