// OPA's strict-mode checks (`opa check --strict`), on one module as written: assigned or declared variables
// never used, imports never used, calls of deprecated builtins, and names that shadow `input`, `data` or a
// builtin. None of these changes what the policy answers; each is a likely mistake worth a look.
import type { Expr, Location, Module, Rule, Term, VarTerm } from '../ast.js';
import { RegoCompileError } from '../errors.js';
import { CATALOG } from '../builtins/catalog.js';
import { walkRule, walkTerm } from './walk.js';

/** Builtins OPA marks deprecated (kept for old policies; each has a replacement): the catalog's one list. */
const DEPRECATED: ReadonlySet<string> = new Set(
  Object.entries(CATALOG)
    .filter(([, spec]) => spec.deprecated === true)
    .map(([name]) => name),
);

const BUILTIN_ROOTS: ReadonlySet<string> = new Set(Object.keys(CATALOG).map((name) => name.split('.')[0] as string));

export function strictProblems(module: Module): RegoCompileError[] {
  return [...unusedImports(module), ...module.rules.flatMap(ruleProblems)];
}

function isKeywordImport(path: string[]): boolean {
  return path[0] === 'future' || (path[0] === 'rego' && path.length === 2);
}

function unusedImports(module: Module): RegoCompileError[] {
  const used = new Set<string>();
  for (const rule of module.rules) {
    walkRule(rule, {
      term(term) {
        if (term.type === 'var') used.add(term.name);
        if (term.type === 'call') used.add(term.name.split('.')[0] as string);
      },
    });
  }
  return module.imports
    .filter((imp) => !isKeywordImport(imp.path))
    .filter((imp) => !used.has(imp.alias ?? (imp.path[imp.path.length - 1] as string)))
    .map(
      (imp) =>
        new RegoCompileError(
          imp.loc,
          'unused import',
          `import ${imp.path.join('.')}${imp.alias === null ? '' : ` as ${imp.alias}`} is never used; remove it`,
          'invalid',
        ),
    );
}

function varsIn(term: Term): VarTerm[] {
  const vars: VarTerm[] = [];
  walkTerm(term, { term: (t) => void (t.type === 'var' && vars.push(t)) });
  return vars;
}

/** Variables an expression introduces: `x := ...`, `some x`, `some x in ...`. */
function declaredBy(expr: Expr): Array<{ v: VarTerm; how: 'assigned' | 'declared' }> {
  switch (expr.type) {
    case 'assign':
      return varsIn(expr.left).map((v) => ({ v, how: 'assigned' }));
    case 'some':
      return expr.vars.map((v) => ({ v, how: 'declared' }));
    case 'somein':
      return [...(expr.key === null ? [] : varsIn(expr.key)), ...varsIn(expr.value)].map((v) => ({
        v,
        how: 'declared',
      }));
    default:
      return [];
  }
}

function problem(loc: Location, construct: string, detail: string): RegoCompileError {
  return new RegoCompileError(loc, construct, detail, 'invalid');
}

function ruleProblems(rule: Rule): RegoCompileError[] {
  const problems: RegoCompileError[] = [];
  const name = rule.name[0] as string;
  if (rule.name.length === 1 && BUILTIN_ROOTS.has(name)) {
    problems.push(problem(rule.loc, 'shadowed name', `rule ${name} shadows the builtin ${name}; rename the rule`));
  }
  const uses = new Map<string, number>();
  const declarations: Array<{ v: VarTerm; how: 'assigned' | 'declared' }> = [];
  for (const arg of rule.args ?? []) for (const v of varsIn(arg)) declarations.push({ v, how: 'declared' });
  walkRule(rule, {
    term(term) {
      if (term.type === 'var') uses.set(term.name, (uses.get(term.name) ?? 0) + 1);
      if (term.type === 'call' && DEPRECATED.has(term.name)) {
        problems.push(
          problem(term.nameLoc, 'deprecated builtin', `${term.name} is deprecated in OPA; use its replacement`),
        );
      }
    },
    expr(expr) {
      declarations.push(...declaredBy(expr));
    },
  });
  for (const { v, how } of declarations) {
    if (v.wildcard === true) continue;
    if (v.name === 'input' || v.name === 'data') {
      problems.push(problem(v.loc, 'shadowed name', `variable ${v.name} shadows the ${v.name} document; rename it`));
    } else if (BUILTIN_ROOTS.has(v.name)) {
      problems.push(problem(v.loc, 'shadowed name', `variable ${v.name} shadows the builtin ${v.name}; rename it`));
    }
    const isArg = (rule.args ?? []).some((arg) => varsIn(arg).includes(v));
    if (!isArg && (uses.get(v.name) ?? 0) <= 1) {
      problems.push(problem(v.loc, 'unused variable', `${how} variable ${v.name} is never used; remove it or use _`));
    }
  }
  return problems;
}
