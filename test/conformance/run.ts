// Conformance runner: compiles each case of the regorus YAML suites with Portcullis's Rego compiler,
// evaluates it through the real opa-wasm SDK and compares with the expected result.
// Usage: npm run conformance [-- FILTER...]   (FILTER: substrings of file paths or case notes)
//        npm run conformance -- --record      (rewrites passing.txt with the cases that pass now)
// The suites are data read in place (REGO_CONFORMANCE_DIR, else the nearest shared/rego-conformance beside
// the checkout or one of its parents); nothing is copied. passing.txt lists the cases that passed when it
// was recorded: one of them failing now fails the run (and test/conformance/conformance.test.ts in npm test).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import opa from '@open-policy-agent/opa-wasm';
import { parse } from 'yaml';
import { customBuiltins } from '@portcullis/rego-wasm/builtins';
import { compileRego } from '@portcullis/rego-wasm';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PASSING_LIST = join(HERE, 'passing.txt');

/** REGO_CONFORMANCE_DIR, else `shared/rego-conformance` beside the checkout or any of its parents. */
function findSuiteDir(): string {
  if (process.env.REGO_CONFORMANCE_DIR !== undefined) return resolve(process.env.REGO_CONFORMANCE_DIR);
  const first = resolve(HERE, '../../../shared/rego-conformance');
  for (let dir = resolve(HERE, '../../..'); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'rego-conformance');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return first;
  }
}

export const SUITE_DIR = findSuiteDir();
const RULE_PATH = /^data(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/**
 * Errors regorus raises for a builtin given bad arguments (its strict mode). Portcullis evaluates like OPA's
 * default non-strict mode, where such an expression is undefined instead, so these cases cannot be compared.
 */

const STRICT_BUILTIN_ERROR =
  /expects|requires|argument|modulo|divide by zero|must be integer|mismatch in number of array elements|spaces not allowed|could not parse/;

interface Case {
  note?: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  query?: string;
  entry_points?: string[];
  want_result?: unknown;
  want_results?: unknown[];
  want_error?: string;
  error?: string;
  no_result?: boolean;
  skip?: boolean;
  strict?: boolean;
  allow_interpreter_success?: boolean;
}

/** Why cases are skipped, for the summary: what the suite expects vs what OPA does, or what the compiler refuses. */
type SkipGroup =
  | 'differs from OPA'
  | 'marked skip in the suite'
  | 'strict-mode builtin error'
  | 'result not comparable'
  | 'query not a rule path'
  | 'refused: type error, as OPA refuses'
  | 'refused: outside the compiled subset'
  | 'RVM limitation';
type Outcome =
  | { kind: 'passed' }
  | { kind: 'skipped'; group: SkipGroup; reason: string }
  | { kind: 'failed'; want: string; got: string };

const skip = (group: SkipGroup, reason: string): Outcome => ({ kind: 'skipped', group, reason });

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

function yamlFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) files.push(...yamlFiles(full));
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) files.push(full);
  }
  return files;
}

function isSetLiteral(value: unknown): value is { 'set!': unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    Array.isArray((value as Record<string, unknown>)['set!'])
  );
}

function isObjectLiteral(value: unknown): value is { 'object!': Array<{ key: unknown; value: unknown }> } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    Array.isArray((value as Record<string, unknown>)['object!'])
  );
}

/** How the SDK writes a non-string object key: its JSON text. */
function parseDumpedKey(key: string): unknown {
  try {
    return JSON.parse(key);
  } catch {
    return key;
  }
}

/**
 * Expected vs actual, where `{"set!": [...]}` matches an array (how sets dump) in any order and
 * `{"object!": [{key, value}]}` (objects with non-string keys) matches an object whose keys are JSON texts.
 */
function matches(want: unknown, got: unknown): boolean {
  if (isObjectLiteral(want)) {
    if (typeof got !== 'object' || got === null || Array.isArray(got)) return false;
    const entries = Object.entries(got as Record<string, unknown>);
    if (entries.length !== want['object!'].length) return false;
    return want['object!'].every((entry) =>
      entries.some(
        ([key, value]) => (key === entry.key || matches(entry.key, parseDumpedKey(key))) && matches(entry.value, value),
      ),
    );
  }
  if (isSetLiteral(want)) {
    if (!Array.isArray(got) || got.length !== want['set!'].length) return false;
    const remaining = [...got];
    for (const item of want['set!']) {
      const index = remaining.findIndex((candidate) => matches(item, candidate));
      if (index < 0) return false;
      remaining.splice(index, 1);
    }
    return true;
  }
  if (Array.isArray(want)) {
    return Array.isArray(got) && got.length === want.length && want.every((item, i) => matches(item, got[i]));
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof got !== 'object' || got === null || Array.isArray(got)) return false;
    const wantKeys = Object.keys(want);
    const gotRecord = got as Record<string, unknown>;
    if (wantKeys.length !== Object.keys(gotRecord).length) return false;
    return wantKeys.every((key) => key in gotRecord && matches((want as Record<string, unknown>)[key], gotRecord[key]));
  }
  if (typeof want === 'number' && typeof got === 'number') return want === got;
  return isDeepStrictEqual(want, got);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function entrypointOf(query: string): string {
  return query === 'data' ? '' : query.slice('data.'.length).replaceAll('.', '/');
}

interface Expectation {
  kind: 'value' | 'undefined' | 'error';
  value?: unknown;
}

function expectationOf(c: Case, index: number | null): Expectation {
  if (c.want_error !== undefined || c.error !== undefined) return { kind: 'error' };
  if (index !== null && c.want_results !== undefined) {
    const value = c.want_results[index];
    return value === '#undefined' ? { kind: 'undefined' } : { kind: 'value', value };
  }
  if (c.no_result === true || c.want_result === '#undefined') return { kind: 'undefined' };
  return { kind: 'value', value: c.want_result };
}

function describe(expectation: Expectation): string {
  if (expectation.kind === 'error') return 'an error';
  if (expectation.kind === 'undefined') return 'undefined';
  return show(expectation.value);
}

/**
 * Cases whose expectation contradicts OPA's semantics (which Portcullis follows), keyed `file :: note`.
 * They are reported as skipped with the reason, never silently dropped.
 */
const OPA_DIVERGENCES: Readonly<Record<string, string>> = {
  'regorus-interpreter/builtins/numbers/intn.yaml :: undefined':
    "rand.intn(10, y) passes a number where OPA declares a string: OPA's type checker refuses the module at compile time (rego_type_error), as Portcullis does",
  'regorus-interpreter/builtins/units/parse.yaml :: all':
    "OPA's units.parse knows SI units from milli to exa and binary ki..ei only (topdown/parse_units.go): 1Q, 1h, 1n, 1zi... are errors, so those comprehensions are empty",
  'regorus-interpreter/builtins/strings/lower.yaml :: unicode string':
    'OPA lowers with Go\'s strings.ToLower, one code point at a time: a capital sigma ending a word is σ, not the final ς (Rust\'s to_lowercase), so lower("ὈΔΥΣΣΕΎΣ") is "ὀδυσσεύσ"',
  'regorus-interpreter/builtins/units/parse_bytes.yaml :: all':
    "OPA's units.parse_bytes knows units up to exa (topdown/parse_bytes.go): 1ZiB, 1YB, 1RB, 1QB... are errors, so those comprehensions are empty",
  'regorus-interpreter/builtins/uuid/parse.yaml :: others':
    "OPA's uuid.parse decodes time, node and clock sequence for versions 1 and 2 only (internal/uuid fillMap); versions 6 and 7 get version and variant",
  'regorus-interpreter/builtins/time/format.yaml :: without-timezone-and-format':
    "OPA formats with Go's time.RFC3339Nano, whose .999999999 drops trailing zeros (.73439Z, not .734390Z)",
  'regorus-interpreter/builtins/time/format.yaml :: with-timezone-and-no-format':
    "OPA formats with Go's time.RFC3339Nano, whose .999999999 drops trailing zeros (.73439Z, not .734390Z)",
  'regorus-rvm/destructuring.yaml :: object_destructuring_function_param':
    'OPA unifies two objects only when they have the same keys, so {"name": name} does not match {"name": "Bob", "age": 25}',
  'regorus-interpreter/data/tests.yaml :: overriding refs in data produces no error':
    'base data under a rule path is an error in OPA (and in regorus-rvm/rule_data_conflicts.yaml); Portcullis raises it',
  'regorus-interpreter/import/tests.yaml :: overload error does not leak callee module imports':
    'lib.m has two definitions with different values for the same input, a conflict error in OPA',
  'regorus-interpreter/arithmetic/tests.yaml :: float-precision':
    'regorus computes in IEEE doubles (0.1 + 0.2 = 0.30000000000000004); OPA never does: its Wasm runtime, which Portcullis modules stand in for, uses decimal arithmetic (0.3), and its Go evaluator 64-bit-mantissa big floats',
  'regorus-interpreter/loop/basic.yaml :: early return':
    'regorus writes the object key null as "" in JSON; OPA writes a non-string key as its JSON text, "null" (every other value of the case matches)',
  'regorus-interpreter/builtins/numbers/div.yaml :: div':
    "regorus divides in IEEE doubles (15.3 / 3 = 5.1000000000000005); OPA's Go evaluator divides 64-bit-mantissa big floats and writes the shortest decimal, 5.1, which Portcullis reproduces",
  'regorus-interpreter/builtins/strings/sprintf.yaml :: numeric formatting':
    'OPA formats with Go\'s fmt, where %o of 64 is "100" ("0O100" is not what Go prints for %o or %O)',
};

/**
 * Cases that expect an error only because regorus's RVM cannot compile them yet (`allow_interpreter_success`),
 * with OPA's answer for them (worked out from OPA's rule semantics: a head `p[a][b]` builds nested objects),
 * so the result is checked instead of skipped. Keyed `file :: note`.
 */
const OPA_ANSWERS: Readonly<Record<string, unknown>> = {
  'regorus-rvm/partial_object_rules.yaml :: partial_object_multilevel_key_unsupported_in_rvm': {
    app: { read: true, write: true },
    ops: { deploy: true },
  },
  'regorus-rvm/partial_object_rules.yaml :: partial_object_multilevel_key_explicit_value_unsupported_in_rvm': {
    app: { read: 1, write: 2 },
    ops: { deploy: 3 },
  },
  'regorus-rvm/partial_object_rules.yaml :: partial_object_hidden_dynamic_prefix_unsupported_in_rvm': {
    app: { q: { read: true, write: true } },
    ops: { q: { deploy: true } },
  },
  'regorus-rvm/partial_object_rules.yaml :: partial_object_dynamic_prefix_static_suffix_unsupported_in_rvm': {
    a: { fixed: 'A' },
    b: { fixed: 'B' },
  },
  'regorus-rvm/partial_object_rules.yaml :: partial_object_literal_prefix_nested_unsupported_in_rvm': {
    'object!': [{ key: 1, value: { a: 1, b: 2 } }],
  },
  // `p["fixed"] if {...}` is a ref head with a constant key: the complete rule p.fixed, true (or 7) here.
  'regorus-rvm/partial_object_rules.yaml :: partial_object_constant_key_unsupported_in_rvm': true,
  'regorus-rvm/partial_object_rules.yaml :: partial_object_constant_key_explicit_value_unsupported_in_rvm': 7,
  // `with input as` in the body replaces input for data.test.gate only; the items come from the real input.
  'regorus-rvm/partial_object_rules.yaml :: partial_object_with_body_unsupported_in_rvm': { a: 1 },
  'regorus-rvm/partial_object_rules.yaml :: partial_object_three_level_nested_dynamic_unsupported_in_rvm': {
    root: { app: { read: 1, write: 2 }, ops: { deploy: 3 } },
  },
};

async function runCase(original: Case, file: string): Promise<Outcome> {
  const opaAnswer = OPA_ANSWERS[`${relative(SUITE_DIR, file)} :: ${original.note ?? '?'}`];
  const c: Case =
    opaAnswer === undefined
      ? original
      : {
          ...original,
          want_result: opaAnswer,
          want_error: undefined,
          error: undefined,
          allow_interpreter_success: false,
        };
  const divergence = OPA_DIVERGENCES[`${relative(SUITE_DIR, file)} :: ${c.note ?? '?'}`];
  if (divergence !== undefined) return skip('differs from OPA', `expectation differs from OPA: ${divergence}`);
  if (c.skip === true) return skip('marked skip in the suite', 'marked skip in the suite');
  if (c.strict === true) return skip('strict-mode builtin error', 'strict builtin errors are not a Portcullis mode');
  if (JSON.stringify(c.want_result ?? null).includes('"key":{"set!"')) {
    return skip(
      'result not comparable',
      "a set used as an object key dumps like an array key in the SDK's JSON, so the result cannot be compared",
    );
  }
  if (JSON.stringify(c.want_result ?? null).includes('"many!"'))
    return skip('result not comparable', 'expects several results (a multi-input case)');
  const queries = c.entry_points ?? (c.query === undefined ? [] : [c.query]);
  if (queries.length === 0) return skip('query not a rule path', 'no query');
  const notPath = queries.find((q) => !RULE_PATH.test(q));
  if (notPath !== undefined) return skip('query not a rule path', `query "${notPath}" is not a rule path`);
  const entrypoints = queries.map(entrypointOf);
  const sources = (c.modules ?? []).map((source, i) => ({
    path: `${relative(SUITE_DIR, file)}[${c.note ?? '?'}]#${i}`,
    source,
  }));
  const wantsError = c.want_error !== undefined || c.error !== undefined;

  let wasm: Uint8Array;
  try {
    wasm = compileRego(sources, { entrypoints }).wasm;
  } catch (err) {
    const error = err as Error & { code?: string };
    const kind = (error as Error & { kind?: string }).kind;
    const expected = c.want_error ?? c.error ?? '';
    // A refusal of something outside the supported subset says nothing about the error the case expects; an
    // undefined function does when the case expects exactly that.
    const outsideSubset =
      kind === 'unsupported' || (kind === 'undefined' && !/could not find function|unknown function/i.test(expected));
    if (error.code === 'REGO_COMPILE' && wantsError && !outsideSubset) return { kind: 'passed' };
    if (error.code === 'REGO_COMPILE' || error.name === 'WasmEmitError') {
      // kind `invalid`: the compiler's type check, which refuses what OPA's type checker refuses.
      const group = kind === 'invalid' ? 'refused: type error, as OPA refuses' : 'refused: outside the compiled subset';
      return skip(group, `refused: ${error.message}`);
    }
    return {
      kind: 'failed',
      want: describe(expectationOf(c, null)),
      got: `compiler crash: ${error.stack ?? error.message}`,
    };
  }

  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  const perEntrypoint = c.entry_points !== undefined && c.want_results !== undefined;
  const checked = perEntrypoint ? entrypoints : [entrypointOf(c.query ?? (queries[0] as string))];
  for (let i = 0; i < checked.length; i++) {
    const expectation = expectationOf(c, perEntrypoint ? i : null);
    let got: Expectation;
    try {
      policy.setData((c.data ?? {}) as object);
      const resultSet = policy.evaluate(c.input, checked[i]) as Array<{ result: unknown }>;
      got = resultSet.length === 0 ? { kind: 'undefined' } : { kind: 'value', value: resultSet[0]?.result };
      if (resultSet.length > 1)
        return { kind: 'failed', want: describe(expectation), got: `${resultSet.length} results` };
    } catch (err) {
      got = { kind: 'error', value: (err as Error).message };
    }
    const ok = expectation.kind === got.kind && (expectation.kind !== 'value' || matches(expectation.value, got.value));
    if (!ok && expectation.kind === 'error' && got.kind !== 'error') {
      const expected = c.want_error ?? c.error ?? '';
      if (STRICT_BUILTIN_ERROR.test(expected)) {
        return skip(
          'strict-mode builtin error',
          `expects a strict-mode builtin error ("${expected}"); Portcullis is non-strict like OPA`,
        );
      }
      if (c.allow_interpreter_success === true) {
        return skip(
          'RVM limitation',
          `expects an RVM limitation error ("${expected}") that OPA does not have; result not checked`,
        );
      }
    }
    if (!ok) {
      const gotText = got.kind === 'error' ? `error: ${String(got.value)}` : describe(got);
      return { kind: 'failed', want: `${checked[i]}: ${describe(expectation)}`, got: gotText };
    }
  }
  return { kind: 'passed' };
}

function casesOf(file: string): Case[] {
  const doc = parse(readFileSync(file, 'utf8')) as { cases?: Case[] } | null;
  return doc?.cases ?? [];
}

export interface CaseResult {
  /** `file :: note`, with `#2`, `#3`... for a note repeated in one file. */
  label: string;
  outcome: Outcome;
}

/** Runs every case (or those whose label contains one of `filters`); unreadable files count as skipped. */
export async function runConformance(filters: string[] = []): Promise<{ results: CaseResult[]; unreadable: string[] }> {
  const results: CaseResult[] = [];
  const unreadable: string[] = [];
  for (const file of yamlFiles(SUITE_DIR)) {
    const rel = relative(SUITE_DIR, file);
    let cases: Case[];
    try {
      cases = casesOf(file);
    } catch (err) {
      unreadable.push(`${rel}: not valid YAML, its cases were not run (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    const seen = new Map<string, number>();
    for (const c of cases) {
      const base = `${rel} :: ${c.note ?? '?'}`;
      const count = (seen.get(base) ?? 0) + 1;
      seen.set(base, count);
      const label = count === 1 ? base : `${base} #${count}`;
      if (filters.length > 0 && !filters.some((f) => label.includes(f))) continue;
      let outcome: Outcome;
      try {
        outcome = await runCase(c, file);
      } catch (err) {
        outcome = {
          kind: 'failed',
          want: describe(expectationOf(c, null)),
          got: `runner error: ${(err as Error).message}`,
        };
      }
      results.push({ label, outcome });
    }
  }
  return { results, unreadable };
}

/** The committed list of cases that passed when it was recorded. */
export function readPassingList(): string[] {
  return readFileSync(PASSING_LIST, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function main(): Promise<void> {
  const record = process.argv.includes('--record');
  const filters = process.argv.slice(2).filter((arg) => arg !== '--record');
  const verbose = process.env.CONFORMANCE_VERBOSE === '1';
  if (!existsSync(SUITE_DIR)) {
    console.error(`conformance: no suites at ${SUITE_DIR}; set REGO_CONFORMANCE_DIR`);
    process.exitCode = 1;
    return;
  }
  const { results, unreadable } = await runConformance(filters);
  const byFolder = new Map<string, Tally>();
  const total: Tally = { passed: 0, failed: 0, skipped: unreadable.length };
  for (const line of unreadable) console.log(`SKIP ${line}`);
  for (const line of unreadable) {
    const folder = line.split('/')[0] as string;
    const tally = byFolder.get(folder) ?? { passed: 0, failed: 0, skipped: 0 };
    tally.skipped++;
    byFolder.set(folder, tally);
  }
  for (const { label, outcome } of results) {
    const folder = label.split('/')[0] as string;
    const tally = byFolder.get(folder) ?? { passed: 0, failed: 0, skipped: 0 };
    byFolder.set(folder, tally);
    tally[outcome.kind]++;
    total[outcome.kind]++;
    if (outcome.kind === 'failed') console.log(`FAIL ${label}\n  want: ${outcome.want}\n  got:  ${outcome.got}`);
    if (outcome.kind === 'skipped' && verbose) console.log(`SKIP ${label}: ${outcome.reason}`);
  }
  for (const [folder, tally] of byFolder) {
    console.log(`${folder}: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
  }
  console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  const groups = new Map<string, number>();
  if (unreadable.length > 0) groups.set('file not readable', unreadable.length);
  for (const { outcome } of results)
    if (outcome.kind === 'skipped') groups.set(outcome.group, (groups.get(outcome.group) ?? 0) + 1);
  console.log(`skipped: ${[...groups].map(([group, n]) => `${n} ${group}`).join(', ')}`);

  const passing = results.filter((r) => r.outcome.kind === 'passed').map((r) => r.label);
  if (record) {
    if (filters.length > 0) throw new Error('--record rewrites the whole list; run it without filters');
    const header = '# Rego conformance cases that pass (`npm run conformance -- --record` writes this file).\n';
    writeFileSync(PASSING_LIST, `${header}${passing.sort().join('\n')}\n`);
    console.log(`recorded ${passing.length} passing cases in ${relative(process.cwd(), PASSING_LIST)}`);
    return;
  }
  const ran = new Set(results.map((r) => r.label));
  const nowPassing = new Set(passing);
  const recorded = readPassingList();
  const regressed = recorded.filter((label) => ran.has(label) && !nowPassing.has(label));
  const missing = filters.length === 0 ? recorded.filter((label) => !ran.has(label)) : [];
  const recordedSet = new Set(recorded);
  const newlyPassing = passing.filter((label) => !recordedSet.has(label));
  for (const label of regressed) console.log(`REGRESSED ${label} (in passing.txt)`);
  for (const label of missing) console.log(`MISSING ${label} (in passing.txt, not in the suites)`);
  if (newlyPassing.length > 0)
    console.log(`${newlyPassing.length} cases pass that passing.txt does not list; record them with --record`);
  process.exitCode = regressed.length > 0 || missing.length > 0 ? 1 : 0;
}

// Run as a script (npm run conformance), not when imported by the test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
