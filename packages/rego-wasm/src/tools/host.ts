// What a host (the `policy test` runner, `policy eval`) plugs into the SDK's customBuiltins to receive the
// probes a module compiled with CompileOptions.print / .coverage emits, and the lines such probes can hit.
import type { RegoSource } from '../index.js';
import { parseModule } from '../parser.js';
import { regoText } from '../builtins/sprintf.js';
import { walkRule } from './walk.js';

export interface HostCallbacks {
  /** One print() call: its arguments formatted as OPA prints them, separated by spaces. */
  print?: (line: string) => void;
  /** An expression at file:line was reached, or a rule whose head is there produced a value. */
  cover?: (file: string, line: number) => void;
}

type Builtin = (...args: unknown[]) => unknown;

/** OPA's print: strings bare, other values in Rego syntax, an undefined argument as <undefined>. */
function printLine(args: unknown): string {
  if (!Array.isArray(args)) return '';
  return args
    .map((values: unknown) => (Array.isArray(values) && values.length > 0 ? regoText(values[0], false) : '<undefined>'))
    .join(' ');
}

/** Builtins to spread into the SDK's customBuiltins; each answers true so the probe never fails a body. */
export function hostBuiltins(callbacks: HostCallbacks): Record<string, Builtin> {
  return {
    'internal.print': (args: unknown) => {
      callbacks.print?.(printLine(args));
      return true;
    },
    'internal.cover': (where: unknown) => {
      if (Array.isArray(where) && typeof where[0] === 'string' && typeof where[1] === 'number')
        callbacks.cover?.(where[0], where[1]);
      return true;
    },
  };
}

/**
 * Per file, the sorted lines `opa test --coverage` reports on: every rule head (else clauses and defaults
 * included) and every expression, nested bodies included, except a bare `some x` declaration (which OPA
 * does not evaluate). Each is covered once a probe reports it, else not covered.
 */
export function coverableLines(sources: RegoSource[]): Map<string, number[]> {
  const result = new Map<string, number[]>();
  for (const source of sources) {
    const lines = new Set<number>();
    for (const rule of parseModule(source.path, source.source).rules) {
      lines.add(rule.loc.line);
      for (const clause of rule.elses) lines.add(clause.loc.line);
      walkRule(rule, { expr: (expr) => void (expr.type !== 'some' && lines.add(expr.loc.line)) });
    }
    result.set(
      source.path,
      [...lines].sort((a, b) => a - b),
    );
  }
  return result;
}
