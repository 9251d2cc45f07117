// `portcullis policy fmt`: prints, --check, --diff, --write, and exit codes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyFmt } from '../../src/cli/policyFmt.js';
import { capture, writeTree } from './capture.js';

let work: string;
const UGLY = 'package p\nimport rego.v1\nallow   if {\n  input.user=="alice"  # who\n}\n';
const PRETTY = 'package p\n\nimport rego.v1\n\nallow if {\n\tinput.user == "alice" # who\n}\n';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-policy-fmt-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('portcullis policy fmt', () => {
  it('prints the formatted text without a flag and leaves the file alone', async () => {
    const dir = await writeTree(join(work, 'print'), { 'p.rego': UGLY });
    const io = capture();
    expect(await policyFmt([dir], io)).toBe(0);
    expect(io.out).toBe(PRETTY);
    expect(await readFile(join(dir, 'p.rego'), 'utf8')).toBe(UGLY);
  });

  it('--check lists unformatted files and exits 1, and 0 once they are formatted', async () => {
    const dir = await writeTree(join(work, 'check'), { 'a.rego': UGLY, 'b.rego': PRETTY });
    const io = capture();
    expect(await policyFmt(['--check', dir], io)).toBe(1);
    expect(io.out).toBe(`${join(dir, 'a.rego')}\n`);
    expect(await policyFmt(['--check', join(dir, 'b.rego')], capture())).toBe(0);
  });

  it('--diff prints a unified diff and exits 1', async () => {
    const dir = await writeTree(join(work, 'diff'), { 'p.rego': UGLY });
    const io = capture();
    expect(await policyFmt(['--diff', dir], io)).toBe(1);
    expect(io.out).toContain(`--- ${join(dir, 'p.rego')}`);
    expect(io.out).toContain('\n-allow   if {\n-  input.user=="alice"  # who\n');
    expect(io.out).toContain('\n+allow if {\n+\tinput.user == "alice" # who\n');
  });

  it('--write rewrites unformatted files; a second run changes nothing', async () => {
    const dir = await writeTree(join(work, 'write'), { 'p.rego': UGLY });
    const io = capture();
    expect(await policyFmt(['--write', dir], io)).toBe(0);
    expect(io.out).toBe(`${join(dir, 'p.rego')}\n`);
    expect(await readFile(join(dir, 'p.rego'), 'utf8')).toBe(PRETTY);
    const again = capture();
    expect(await policyFmt(['--write', dir], again)).toBe(0);
    expect(again.out).toBe('');
  });

  it('exits 2 naming file:line:col for a file that does not parse, and for two modes at once', async () => {
    const dir = await writeTree(join(work, 'broken'), { 'x.rego': 'package x\n\np := \n' });
    const io = capture();
    expect(await policyFmt(['--check', dir], io)).toBe(2);
    expect(io.err).toContain(`${join(dir, 'x.rego')}:4:1:`);
    expect(await policyFmt(['--check', '--write', dir], capture())).toBe(2);
  });
});
