// `portcullis policy test`: PASS/FAIL/ERROR per test, summary, --run, --format json, --coverage, --bench,
// print() output and exit codes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyTest } from '../../src/cli/policyTest.js';
import { capture, writeTree } from './capture.js';

let work: string;
let dir: string;

const POLICY = `package p

import rego.v1

allow if {
	input.user == "alice"
}

double(x) := x * 2

admins := data.lib.admins

unused_rule if {
	input.never
}
`;

const TESTS = `package p_test

import rego.v1
import data.p

test_double if p.double(2) == 4

test_double_wrong if {
	print("double of", 3, "is", p.double(3), input.missing)
	p.double(3) == 7
}

test_admins_from_data if p.admins == ["root"]

test_conflict if {
	p.conflict
}

todo_test_later if false
`;

const CONFLICT = `package p

import rego.v1

conflict := 1
conflict := 2 if true
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-policy-test-'));
  dir = await writeTree(join(work, 'suite'), {
    'p.rego': POLICY,
    'p_test.rego': TESTS,
    'conflict.rego': CONFLICT,
    'lib/data.json': '{"admins": ["root"]}',
  });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('portcullis policy test', () => {
  it('lists failures with their print() output and a summary, and exits 1', async () => {
    const io = capture();
    expect(await policyTest([dir], io)).toBe(1);
    expect(io.out).toContain(`${join(dir, 'p_test.rego')}:\n`);
    expect(io.out).toMatch(/data\.p_test\.test_double_wrong: FAIL \(\d/);
    expect(io.out).toContain('  double of 3 is 6 <undefined>');
    expect(io.out).toMatch(/data\.p_test\.test_conflict: ERROR \(.*\n {2}.*conflict/);
    expect(io.out).not.toMatch(/test_double: PASS/);
    expect(io.out).toMatch(/PASS: 2\/5\nFAIL: 1\/5\nERROR: 1\/5\nSKIPPED: 1\/5\n$/);
  });

  it('-v lists every test; --run selects tests by name; all passing exits 0', async () => {
    const io = capture();
    expect(await policyTest(['-v', '--run', 'test_double$|admins', dir], io)).toBe(0);
    expect(io.out).toMatch(/data\.p_test\.test_double: PASS/);
    expect(io.out).toMatch(/data\.p_test\.test_admins_from_data: PASS/);
    expect(io.out).not.toMatch(/test_double_wrong|test_conflict/);
    expect(io.out).toMatch(/PASS: 2\/2\n$/);
  });

  it('--format json gives one record per test as opa test does', async () => {
    const io = capture();
    expect(await policyTest(['--format', 'json', dir], io)).toBe(1);
    const records = JSON.parse(io.out) as Array<Record<string, unknown>>;
    const byName = new Map(records.map((r) => [r.name, r]));
    expect(byName.get('test_double')).toMatchObject({
      package: 'data.p_test',
      location: { file: join(dir, 'p_test.rego'), row: 6, col: 1 },
    });
    expect(byName.get('test_double')).not.toHaveProperty('fail');
    expect(byName.get('test_double_wrong')).toMatchObject({ fail: true, output: 'double of 3 is 6 <undefined>\n' });
    expect(byName.get('test_conflict')).toMatchObject({ error: { message: expect.stringMatching(/conflict/) } });
    expect(byName.get('todo_test_later')).toMatchObject({ skip: true });
  });

  it('takes a data.json named on the command line as base data at the root, as opa test does', async () => {
    const files = await writeTree(join(work, 'explicit'), {
      'q.rego': 'package q\n\nimport rego.v1\n\nadmin if input.user in data.admins\n',
      'q_test.rego':
        'package q_test\n\nimport rego.v1\n\ntest_root_is_admin if data.q.admin with input as {"user": "root"}\n',
      'data.json': '{"admins": ["root"]}',
    });
    const io = capture();
    const paths = ['q.rego', 'q_test.rego', 'data.json'].map((f) => join(files, f));
    expect(await policyTest(paths, io), io.out).toBe(0);
    // Without it, data.admins is undefined and the test fails.
    expect(await policyTest(paths.slice(0, 2), capture())).toBe(1);
  });

  // As `opa test --coverage`: every rule head and every expression of every file (test files included) is
  // covered or not covered, reached by a test or not.
  it('--coverage reports covered and not covered lines of every file', async () => {
    const io = capture();
    expect(await policyTest(['--coverage', '--run', 'test_double$', dir], io)).toBe(0);
    // double's head (line 9) is covered; allow, admins and unused_rule, never reached, are not.
    expect(io.out).toContain(`${join(dir, 'p.rego')}: 16.7% of 6 lines covered\n  not covered: 5-6, 11, 13-14`);
    const json = capture();
    expect(await policyTest(['--coverage', '--format', 'json', '--run', 'test_double$', dir], json)).toBe(0);
    const report = JSON.parse(json.out) as {
      files: Record<string, unknown>;
      covered_lines: number;
      not_covered_lines: number;
      coverage: number;
      tests: unknown[];
    };
    expect(report.files[join(dir, 'p.rego')]).toEqual({
      covered: [{ start: { row: 9 }, end: { row: 9 } }],
      not_covered: [
        { start: { row: 5 }, end: { row: 6 } },
        { start: { row: 11 }, end: { row: 11 } },
        { start: { row: 13 }, end: { row: 14 } },
      ],
      covered_lines: 1,
      not_covered_lines: 5,
      coverage: 100 / 6,
    });
    // The test file: test_double's line is covered, the other tests' heads and bodies are not.
    expect(report.files[join(dir, 'p_test.rego')]).toMatchObject({
      covered: [{ start: { row: 6 }, end: { row: 6 } }],
      covered_lines: 1,
    });
    expect(report.covered_lines + report.not_covered_lines).toBeGreaterThan(6);
    expect(report.coverage).toBeCloseTo(
      (100 * report.covered_lines) / (report.covered_lines + report.not_covered_lines),
    );
    expect(report.tests).toHaveLength(1);
  });

  it('--coverage counts a rule head once its rule produces a value, and a default when it applies', async () => {
    const covered = await writeTree(join(work, 'covered'), {
      'q.rego':
        'package q\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tsome x in input.xs\n\tx == "alice"\n}\n\nlevel := "high" if {\n\tinput.n > 10\n} else := "low"\n',
      'q_test.rego':
        'package q_test\n\nimport rego.v1\n\ntest_allow if data.q.allow with input as {"xs": ["alice"]}\n\ntest_plain if not data.q.allow\n\ntest_low if data.q.level == "low" with input as {"n": 1}\n',
    });
    const io = capture();
    expect(await policyTest(['--coverage', '--run', 'test_plain', covered], io)).toBe(0);
    // The default applies (line 5); allow's body runs to line 8 only (input.xs is undefined); level is never read.
    expect(io.out).toContain(`${join(covered, 'q.rego')}: 28.6% of 7 lines covered\n  not covered: 7, 9, 12-14`);
    const all = capture();
    expect(await policyTest(['--coverage', covered], all)).toBe(0);
    // allow's head (7) once a test makes it true; line 12's rule is never true, its else (14) is.
    expect(all.out).toContain(`${join(covered, 'q.rego')}: 85.7% of 7 lines covered\n  not covered: 12`);
  });

  it('--bench reports ns/op for each test', async () => {
    const io = capture();
    expect(await policyTest(['--bench', '--run', 'test_double$', dir], io)).toBe(0);
    expect(io.out).toMatch(/data\.p_test\.test_double: PASS {4}\d+ {4}\d+ ns\/op/);
  });

  it('exits 2 listing every compile error, and 2 on a bad --format or --run', async () => {
    const broken = await writeTree(join(work, 'broken'), {
      'x.rego': 'package x\n\nimport rego.v1\n\np if input.a ==\n',
      'x_test.rego': 'package x_test\n\nimport rego.v1\n\ntest_y if y\n',
    });
    const io = capture();
    expect(await policyTest([broken], io)).toBe(2);
    expect(io.err).toContain(`${join(broken, 'x.rego')}:6:1:`);
    expect(io.err).toContain(`${join(broken, 'x_test.rego')}:5:11: unsafe var y`);
    expect(await policyTest(['--format', 'xml', dir], capture())).toBe(2);
    expect(await policyTest(['--run', '(', dir], capture())).toBe(2);
  });
});
