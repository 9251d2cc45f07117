// checkRego: every problem in a set of Rego sources, not just the first one compileRego would throw. Each
// file is parsed on its own (a syntax error stops only that file), every rule of every file is analysed
// (refused builtins in rules no entrypoint reaches included), and every rule group is planned as if it were
// an entrypoint, so the errors only planning finds are reported too.
import type { Location, Module } from '../ast.js';
import { buildModuleSet } from '../analysis/modules.js';
import { annotatedProgram, checkRule } from '../analysis/index.js';
import { RegoCompileError } from '../errors.js';
import { parseModule } from '../parser.js';
import { planPolicy } from '../planner/index.js';
import type { RegoSource } from '../index.js';
import { strictProblems } from './strict.js';

export interface CheckOptions {
  /** Also OPA's strict-mode checks: unused variables and imports, deprecated builtins, shadowed names. */
  strict?: boolean;
}

export function checkRego(sources: RegoSource[], options: CheckOptions = {}): RegoCompileError[] {
  const problems = new Problems();
  const modules: Module[] = [];
  for (const source of sources) {
    const module = problems.attempt(() => parseModule(source.path, source.source));
    if (module !== undefined) modules.push(module);
  }
  if (options.strict === true) for (const module of modules) problems.add(...strictProblems(module));

  const built = problems.attempt(() => buildModuleSet(modules));
  if (built === undefined) return problems.sorted();
  const moduleSet = annotatedProgram(built);
  const failedRules = new Set<unknown>();
  for (const scope of moduleSet.modules) {
    for (const rule of scope.module.rules) {
      problems.attempt(
        () => {
          try {
            checkRule(rule, scope, moduleSet.root, moduleSet);
          } catch (error) {
            // A rule another group reaches is refused again, with this error, when that group is planned.
            if (error instanceof RegoCompileError) moduleSet.deferredRefusals.set(rule, error);
            throw error;
          }
        },
        () => failedRules.add(rule),
      );
    }
  }
  // Planning a group whose rules already failed analysis would only repeat their error.
  for (const group of moduleSet.groups) {
    if (group.kind === 'function') continue;
    if (group.definitions.some((d) => failedRules.has(d.rule))) continue;
    problems.attempt(
      () => planPolicy(moduleSet, [group.path.slice(1).join('/')]),
      undefined,
      group.definitions[0]?.rule.loc,
    );
  }
  return problems.sorted();
}

/** Collected errors, each reported once even when several rules lead to it. */
class Problems {
  private readonly byProblem = new Map<string, RegoCompileError>();

  add(...errors: RegoCompileError[]): void {
    for (const error of errors) {
      // The same problem: same kind, place, construct and detail (compared field by field, not as text).
      const { file, line, col } = error.loc;
      const key = JSON.stringify([error.kind, file, line, col, error.construct, error.detail]);
      if (!this.byProblem.has(key)) this.byProblem.set(key, error);
    }
  }

  attempt<T>(work: () => T, onError?: () => void, where?: Location): T | undefined {
    try {
      return work();
    } catch (error) {
      if (error instanceof RangeError && where !== undefined) {
        // Planning recurses once per expression: a body this large is refused, as compileRego refuses it.
        this.add(
          new RegoCompileError(
            where,
            'policy size',
            'a rule body or collection is too large to compile; split it into several rules',
            'limit',
          ),
        );
        return undefined;
      }
      if (!(error instanceof RegoCompileError)) throw error;
      this.add(error);
      onError?.();
      return undefined;
    }
  }

  sorted(): RegoCompileError[] {
    return [...this.byProblem.values()].sort(
      (a, b) => compare(a.loc.file, b.loc.file) || a.loc.line - b.loc.line || a.loc.col - b.loc.col,
    );
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
