// The policy authors' commands through the real command line: exit codes as a process sees them, and
// `--version`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.js';
import { writeTree } from '../cli/capture.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-cli-tools-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('portcullis policy check|test|fmt and --version as processes', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  }, 60_000);

  it('exit codes: check 2 on an error, test 1 on a failing test, fmt --check 1 on an unformatted file', async () => {
    const dir = await writeTree(join(work, 'p'), {
      'p.rego': 'package p\n\nimport rego.v1\n\nallow   if input.user == "alice"\n',
      'p_test.rego': 'package p_test\n\nimport rego.v1\n\ntest_fails if data.p.allow\n',
    });
    const [check, test, fmt] = await Promise.all([
      runCli(['policy', 'check', join(work, 'missing')]),
      runCli(['policy', 'test', dir]),
      runCli(['policy', 'fmt', '--check', dir]),
    ]);
    expect(check.code).toBe(2);
    expect(test.code).toBe(1);
    expect(test.stdout).toMatch(/data\.p_test\.test_fails: FAIL/);
    expect(fmt.code).toBe(1);
    expect(fmt.stdout.trim()).toBe(join(dir, 'p.rego'));
  }, 120_000);
});
