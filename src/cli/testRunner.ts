// The `policy test` engine: finds the test_ rules of a set of modules, compiles them all into one Wasm
// module with the same compiler and runtime production uses (plus print and coverage probes), and runs each
// test rule as an entrypoint with no input, as `opa test` does.
import { performance } from 'node:perf_hooks';
import { compileRego, coverableLines, hostBuiltins, parseModule, type RegoSource } from '@portcullis/rego-wasm';
import { customBuiltins, strictCustomBuiltins } from '@portcullis/rego-wasm/builtins';
import { loadPolicy } from '@open-policy-agent/opa-wasm';

export interface TestCase {
  /** `data.pkg.test_name` */
  name: string;
  /** The package as `data.pkg`. */
  pkg: string;
  file: string;
  line: number;
  col: number;
  entrypoint: string;
  /** `todo_test_` rules are listed as skipped and never run. */
  skip: boolean;
}

export type Outcome = 'PASS' | 'FAIL' | 'ERROR' | 'SKIPPED';

export interface TestResult extends TestCase {
  outcome: Outcome;
  /** Wall time of one evaluation, nanoseconds. */
  durationNs: number;
  /** Lines print() wrote during the test. */
  output: string[];
  error?: string;
  bench?: { iterations: number; nsPerOp: number };
}

export interface RunOptions {
  run?: RegExp;
  coverage?: boolean;
  bench?: boolean;
  /** a builtin's error makes the test an ERROR instead of an undefined expression (--strict-builtin-errors) */
  strictBuiltinErrors?: boolean;
}

export interface FileCoverage {
  covered: number[];
  notCovered: number[];
}

export interface RunReport {
  results: TestResult[];
  /** Per file (test files included, as OPA reports them), when coverage was asked for. */
  coverage?: Map<string, FileCoverage>;
}

/** Test rules as OPA finds them: rules whose name starts with test_ (todo_test_ ones are skipped). */
export function findTests(sources: RegoSource[], run?: RegExp): TestCase[] {
  const tests = new Map<string, TestCase>();
  for (const source of sources) {
    const module = parseModule(source.path, source.source);
    for (const rule of module.rules) {
      const first = rule.name[0] as string;
      const skip = first.startsWith('todo_test_');
      if (rule.name.length !== 1 || rule.kind !== 'complete' || (!first.startsWith('test_') && !skip)) continue;
      const pkg = ['data', ...module.package.path].join('.');
      const name = `${pkg}.${first}`;
      if (tests.has(name) || (run !== undefined && !run.test(name))) continue;
      const entrypoint = [...module.package.path, first].join('/');
      tests.set(name, { name, pkg, file: source.path, line: rule.loc.line, col: rule.loc.col, entrypoint, skip });
    }
  }
  return [...tests.values()];
}

/** Minimum wall time a --bench measurement runs for; enough iterations to smooth out timer noise. */
const BENCH_MIN_NS = 200_000_000;

export async function runTests(sources: RegoSource[], data: unknown, options: RunOptions): Promise<RunReport> {
  const tests = findTests(sources, options.run);
  const runnable = tests.filter((t) => !t.skip);
  const results: TestResult[] = tests
    .filter((t) => t.skip)
    .map((t) => ({ ...t, outcome: 'SKIPPED', durationNs: 0, output: [] }));
  const hits = new Map<string, Set<number>>();
  if (runnable.length === 0)
    return { results, ...(options.coverage === true ? { coverage: coverageOf(sources, hits) } : {}) };

  // RegoCompileError propagates: the caller reports every error with checkRego and exits 2.
  const compiled = compileRego(sources, {
    entrypoints: runnable.map((t) => t.entrypoint),
    print: true,
    coverage: options.coverage === true,
  });
  let printed: string[] = [];
  const host = hostBuiltins({
    print: (line) => void printed.push(line),
    cover: (file, line) => {
      let lines = hits.get(file);
      if (lines === undefined) hits.set(file, (lines = new Set()));
      lines.add(line);
    },
  });
  const builtins = options.strictBuiltinErrors === true ? strictCustomBuiltins() : customBuiltins;
  const policy = await loadPolicy(compiled.wasm, undefined, { ...builtins, ...host });
  policy.setData((data ?? {}) as object);

  for (const test of runnable) {
    printed = [];
    const started = performance.now();
    let outcome: Outcome;
    let error: string | undefined;
    try {
      outcome = passes(policy.evaluate(undefined, test.entrypoint)) ? 'PASS' : 'FAIL';
    } catch (err) {
      outcome = 'ERROR';
      error = err instanceof Error ? err.message : String(err);
    }
    const durationNs = Math.round((performance.now() - started) * 1e6);
    const result: TestResult = {
      ...test,
      outcome,
      durationNs,
      output: printed,
      ...(error === undefined ? {} : { error }),
    };
    if (options.bench === true && outcome !== 'ERROR')
      result.bench = bench(() => policy.evaluate(undefined, test.entrypoint));
    results.push(result);
  }
  results.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { results, ...(options.coverage === true ? { coverage: coverageOf(sources, hits) } : {}) };
}

/** As OPA: a test passes when it is defined and not false. */
function passes(resultSet: unknown): boolean {
  if (!Array.isArray(resultSet) || resultSet.length === 0) return false;
  const first = resultSet[0] as { result?: unknown };
  return first.result !== undefined && first.result !== false;
}

function bench(evaluate: () => unknown): { iterations: number; nsPerOp: number } {
  let iterations = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0n;
  do {
    evaluate();
    iterations++;
    elapsed = process.hrtime.bigint() - started;
  } while (elapsed < BigInt(BENCH_MIN_NS));
  return { iterations, nsPerOp: Math.round(Number(elapsed) / iterations) };
}

/** As `opa test --coverage`: every file, test files included, with every rule head and expression line. */
function coverageOf(sources: RegoSource[], hits: Map<string, Set<number>>): Map<string, FileCoverage> {
  const report = new Map<string, FileCoverage>();
  for (const [file, lines] of coverableLines(sources)) {
    const hit = hits.get(file) ?? new Set<number>();
    report.set(file, { covered: lines.filter((l) => hit.has(l)), notCovered: lines.filter((l) => !hit.has(l)) });
  }
  return report;
}
