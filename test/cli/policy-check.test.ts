// `portcullis policy check`: every error of every file with file:line:col, and --strict.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyCheck } from '../../src/cli/policyCheck.js';
import { capture, writeTree } from './capture.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-policy-check-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('portcullis policy check', () => {
  it('exits 0 and says so for a clean policy', async () => {
    const dir = await writeTree(join(work, 'clean'), {
      'a.rego': 'package a\n\nimport rego.v1\n\nallow if input.user == "alice"\n',
    });
    const io = capture();
    expect(await policyCheck([dir], io)).toBe(0);
    expect(io.out).toMatch(/^ok: 1 file\(s\) checked/);
    expect(io.err).toBe('');
  });

  it('reports every error of every file, a refused builtin in an unreached rule included, and exits 2', async () => {
    const dir = await writeTree(join(work, 'broken'), {
      'a.rego':
        'package a\n\nimport rego.v1\n\nallow if input.user == "bob"\n\nhelper if http.send({"url": "x"})\n\ndeny contains msg if {\n\tmsg := sprintf("%v", [y])\n}\n',
      'b.rego': 'package b\n\nallow if {\n  input.a ==\n}\n',
      'c_test.rego': 'package c\n\nimport rego.v1\n\ntest_x if no_such_builtin(1)\n',
    });
    const io = capture();
    expect(await policyCheck([dir], io)).toBe(2);
    const lines = io.err.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${join(dir, 'a.rego')}:7:11: http\\.send: `)),
      expect.stringMatching(new RegExp(`^${join(dir, 'a.rego')}:10:24: unsafe var y`)),
      expect.stringMatching(new RegExp(`^${join(dir, 'b.rego')}:5:1: `)),
      expect.stringMatching(new RegExp(`^${join(dir, 'c_test.rego')}:5:11: unknown function`)),
      '4 errors in 3 of 3 file(s)',
    ]);
  });

  it('checks single files as well as directories', async () => {
    const dir = await writeTree(join(work, 'files'), {
      'ok.rego': 'package ok\n\nimport rego.v1\n\np := 1\n',
      'bad.rego': 'package bad\n\np := \n',
    });
    expect(await policyCheck([join(dir, 'ok.rego')], capture())).toBe(0);
    expect(await policyCheck([join(dir, 'ok.rego'), join(dir, 'bad.rego')], capture())).toBe(2);
  });

  it('--strict adds unused variables and imports, deprecated builtins and shadowed names', async () => {
    const source = [
      'package s',
      '',
      'import rego.v1',
      'import data.unused',
      'import data.lib',
      '',
      'count := 3',
      '',
      'allow if {',
      '\tx := 1',
      '\tsome i',
      '\tlib.ok',
      '\tinput.user == "a"',
      '}',
      '',
      'deny contains m if {',
      '\tm := input.m',
      '\tre_match("a", m)',
      '}',
      '',
      'f(input) := 1',
      '',
    ].join('\n');
    const dir = await writeTree(join(work, 'strict'), {
      's.rego': source,
      'lib.rego': 'package lib\n\nimport rego.v1\n\nok := true\n',
    });
    const loose = capture();
    // re_match is refused whatever the mode (it is not compiled); the strict findings come on top.
    expect(await policyCheck([join(dir, 'lib.rego')], loose)).toBe(0);
    const io = capture();
    expect(await policyCheck(['--strict', dir], io)).toBe(2);
    const file = join(dir, 's.rego');
    expect(io.err).toContain(`${file}:4:1: unused import: import data.unused is never used`);
    expect(io.err).not.toContain('import data.lib is never used');
    expect(io.err).toContain(`${file}:7:1: shadowed name: rule count shadows the builtin count`);
    expect(io.err).toContain(`${file}:10:2: unused variable: assigned variable x is never used`);
    expect(io.err).toContain(`${file}:11:7: unused variable: declared variable i is never used`);
    expect(io.err).toContain(`${file}:18:2: deprecated builtin: re_match is deprecated`);
    expect(io.err).toContain(`${file}:21:3: shadowed name: variable input shadows the input document`);
    expect(io.err).not.toMatch(/variable m is never used/);
  });

  it('exits 2 for a path that does not exist and 0 for --help', async () => {
    const io = capture();
    expect(await policyCheck([join(work, 'nope')], io)).toBe(2);
    expect(io.err).toMatch(/no such file or directory/);
    const help = capture();
    expect(await policyCheck(['--help'], help)).toBe(0);
    expect(help.out).toMatch(/--strict/);
  });
});
