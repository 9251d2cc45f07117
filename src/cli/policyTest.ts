// `portcullis policy test [PATH...]`: runs the test_ rules of .rego files as `opa test` does, on the Wasm
// the compiler produces for production. Exit 0 when every test passes, 1 when one fails or errors, 2 when
// the policy does not compile (every error is listed) or on bad usage.
import { RegoCompileError } from '@portcullis/rego-wasm';
import type { CliOutput } from './policy.js';
import { command, parseArgs, processOutput, run, STRICT_BUILTIN_ERRORS_HELP, UsageError } from './policy.js';
import { readRegoFiles } from './regoFiles.js';
import type { FileCoverage, RunReport, TestResult } from './testRunner.js';

interface TestFlags {
  verbose?: boolean;
  run?: string;
  format: string;
  coverage?: boolean;
  bench?: boolean;
  strictBuiltinErrors?: boolean;
}

export async function policyTest(argv: string[], out: CliOutput = processOutput): Promise<number> {
  const program = command('test', out)
    .description('run every test_ rule of the .rego files (test files ending _test.rego included) on the compiled Wasm')
    .argument(
      '[PATH...]',
      '.rego files or directories searched recursively; data.json/yaml files are base data (default: .)',
    )
    .option('-v, --verbose', 'list every test with PASS/FAIL/ERROR and its print() output')
    .option('-r, --run <REGEX>', 'run only the tests whose name (data.pkg.test_x) matches')
    .option('-f, --format <FORMAT>', 'pretty or json', 'pretty')
    .option('-c, --coverage', 'report the covered and not covered lines of each policy file')
    .option('--bench', 'time each test over many evaluations and report ns/op')
    .option('--strict-builtin-errors', STRICT_BUILTIN_ERRORS_HELP);
  const parsed = parseArgs(program, argv);
  if (typeof parsed === 'number') return parsed;

  return run(out, async () => {
    const [paths] = program.processedArgs as [string[]];
    const flags = program.opts<TestFlags>();
    if (flags.format !== 'pretty' && flags.format !== 'json')
      throw new UsageError(`--format ${flags.format}: expected pretty or json`);
    let filter: RegExp | undefined;
    try {
      filter = flags.run === undefined ? undefined : new RegExp(flags.run);
    } catch (error) {
      throw new UsageError(`--run ${flags.run}: not a regular expression (${(error as Error).message})`);
    }
    const files = await readRegoFiles(paths);
    const { runTests } = await import('./testRunner.js');
    let report: RunReport;
    try {
      report = await runTests(files.rego, files.data, {
        run: filter,
        coverage: flags.coverage === true,
        bench: flags.bench === true,
        strictBuiltinErrors: flags.strictBuiltinErrors === true,
      });
    } catch (error) {
      if (!(error instanceof RegoCompileError)) throw error;
      const { checkRego } = await import('@portcullis/rego-wasm');
      const all = checkRego(files.rego);
      for (const e of all.length > 0 ? all : [error]) out.stderr(`${e.message}\n`);
      return 2;
    }
    out.stdout(flags.format === 'json' ? jsonReport(report) : prettyReport(report, flags.verbose === true));
    const failed = report.results.some((r) => r.outcome === 'FAIL' || r.outcome === 'ERROR');
    return failed ? 1 : 0;
  });
}

const ms = (ns: number): string => `${(ns / 1e6).toFixed(ns < 1e7 ? 3 : 1)}ms`;

function prettyReport(report: RunReport, verbose: boolean): string {
  const { results } = report;
  const lines: string[] = [];
  let file: string | undefined;
  for (const r of results) {
    const failed = r.outcome === 'FAIL' || r.outcome === 'ERROR';
    if (!verbose && !failed && r.bench === undefined) continue;
    if (r.file !== file) {
      if (file !== undefined) lines.push('');
      lines.push(`${r.file}:`);
      file = r.file;
    }
    lines.push(resultLine(r));
    if (r.error !== undefined) lines.push(`  ${r.error}`);
    // print() output is what explains a failure; passing tests show it only with -v.
    if (r.output.length > 0 && (verbose || failed)) lines.push('', ...r.output.map((l) => `  ${l}`), '');
  }
  if (lines.length > 0) lines.push('-'.repeat(80));
  if (results.length === 0) lines.push('no test rules found (test rules are named test_*)');
  for (const outcome of ['PASS', 'FAIL', 'ERROR', 'SKIPPED'] as const) {
    const n = results.filter((r) => r.outcome === outcome).length;
    if (n > 0) lines.push(`${outcome}: ${n}/${results.length}`);
  }
  if (report.coverage !== undefined) lines.push('', ...coverageLines(report.coverage));
  return `${lines.join('\n')}\n`;
}

function resultLine(r: TestResult): string {
  if (r.bench !== undefined) return `${r.name}: ${r.outcome}    ${r.bench.iterations}    ${r.bench.nsPerOp} ns/op`;
  return r.outcome === 'SKIPPED' ? `${r.name}: SKIPPED` : `${r.name}: ${r.outcome} (${ms(r.durationNs)})`;
}

/** 3,4,5,9 -> [[3, 5], [9, 9]] */
function lineRanges(lines: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const line of lines) {
    const last = out[out.length - 1];
    if (last !== undefined && line === last[1] + 1) last[1] = line;
    else out.push([line, line]);
  }
  return out;
}

/** 3,4,5,9 -> "3-5, 9" */
function ranges(lines: number[]): string {
  return lineRanges(lines)
    .map(([start, end]) => (start === end ? `${start}` : `${start}-${end}`))
    .join(', ');
}

function percent(covered: number, total: number): string {
  return total === 0 ? '100.0%' : `${((covered / total) * 100).toFixed(1)}%`;
}

function coverageLines(coverage: Map<string, FileCoverage>): string[] {
  const lines: string[] = [];
  let covered = 0;
  let total = 0;
  for (const [file, c] of coverage) {
    const n = c.covered.length + c.notCovered.length;
    covered += c.covered.length;
    total += n;
    lines.push(`${file}: ${percent(c.covered.length, n)} of ${n} lines covered`);
    if (c.notCovered.length > 0) lines.push(`  not covered: ${ranges(c.notCovered)}`);
  }
  lines.push(`coverage: ${percent(covered, total)} (${covered}/${total} lines)`);
  return lines;
}

/**
 * As `opa test --format json`: one record per test. With --coverage, OPA's coverage report (what `opa test
 * --coverage` prints) with the test records under `tests`.
 */
function jsonReport(report: RunReport): string {
  const tests = report.results.map((r) => ({
    location: { file: r.file, row: r.line, col: r.col },
    package: r.pkg,
    name: r.name.slice(r.pkg.length + 1),
    ...(r.outcome === 'FAIL' ? { fail: true } : {}),
    ...(r.outcome === 'ERROR' ? { error: { message: r.error ?? '' } } : {}),
    ...(r.outcome === 'SKIPPED' ? { skip: true } : {}),
    duration: r.durationNs,
    ...(r.output.length > 0 ? { output: `${r.output.join('\n')}\n` } : {}),
    ...(r.bench === undefined ? {} : { bench: { N: r.bench.iterations, ns_per_op: r.bench.nsPerOp } }),
  }));
  if (report.coverage === undefined) return `${JSON.stringify(tests, null, 2)}\n`;
  return `${JSON.stringify({ ...coverageReport(report.coverage), tests }, null, 2)}\n`;
}

/**
 * OPA's coverage report (`opa test --coverage`): per file the covered and not covered line ranges, their
 * line counts and percentage (fields left out when empty or zero, as OPA's JSON does), then the totals.
 */
function coverageReport(coverage: Map<string, FileCoverage>): Record<string, unknown> {
  const rangesOf = (lines: number[]): Array<{ start: { row: number }; end: { row: number } }> =>
    lineRanges(lines).map(([start, end]) => ({ start: { row: start }, end: { row: end } }));
  const pct = (covered: number, total: number): number => (total === 0 ? 0 : (100 * covered) / total);
  let coveredLines = 0;
  let notCoveredLines = 0;
  const files = Object.fromEntries(
    [...coverage].map(([file, c]) => {
      coveredLines += c.covered.length;
      notCoveredLines += c.notCovered.length;
      const fields = {
        covered: c.covered.length > 0 ? rangesOf(c.covered) : undefined,
        not_covered: c.notCovered.length > 0 ? rangesOf(c.notCovered) : undefined,
        covered_lines: c.covered.length || undefined,
        not_covered_lines: c.notCovered.length || undefined,
        coverage: pct(c.covered.length, c.covered.length + c.notCovered.length) || undefined,
      };
      return [file, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))];
    }),
  );
  return {
    files,
    covered_lines: coveredLines,
    not_covered_lines: notCoveredLines,
    coverage: pct(coveredLines, coveredLines + notCoveredLines),
  };
}
