// `portcullis policy eval`: print() output on stderr, --format pretty|json, several -e.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyEval } from '../../src/cli/policy.js';
import { capture, writeTree } from './capture.js';

let work: string;
let dir: string;
let input: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-policy-eval-'));
  dir = await writeTree(join(work, 'policy'), {
    'p.rego':
      'package p\n\nimport rego.v1\n\nallow if {\n\tprint("user is", input.user, input.missing)\n\tinput.user == "alice"\n}\n\nname := input.user\n\nnothing if false\n',
  });
  input = join(work, 'input.json');
  await writeFile(input, '{"user": "alice"}');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('portcullis policy eval output', () => {
  it('writes print() output to stderr and keeps stdout the result set', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', input, '-e', 'p/allow'], io)).toBe(0);
    expect(io.err).toBe('user is alice <undefined>\n');
    expect(JSON.parse(io.out)).toEqual([{ result: true }]);
  });

  it('--format pretty prints the value alone, and undefined for an empty result set', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', input, '-e', 'p/name', '--format', 'pretty'], io)).toBe(0);
    expect(io.out).toBe('"alice"\n');
    const several = capture();
    expect(await policyEval([dir, '--input', input, '-e', 'p/name', '-e', 'p/nothing', '-f', 'pretty'], several)).toBe(
      0,
    );
    expect(several.out).toBe('p/name: "alice"\np/nothing: undefined\n');
  });

  it('--format json with several -e prints each result set under its entrypoint', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', input, '-e', 'p/allow', '-e', 'p/name', '--format', 'json'], io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual({ 'p/allow': [{ result: true }], 'p/name': [{ result: 'alice' }] });
  });

  it('exits 2 for an unknown --format', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', input, '--format', 'yaml'], io)).toBe(2);
    expect(io.err).toMatch(/--format yaml/);
  });
});
