// `policy eval|test --strict-builtin-errors`: as OPA's flag, a builtin's error (format_int with base 3) stops
// the evaluation with that error; without it the expression is undefined, and a `not` over it succeeds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyEval } from '../../src/cli/policy.js';
import { policyTest } from '../../src/cli/policyTest.js';
import { capture, writeTree } from './capture.js';

let work: string;
let dir: string;
const inputs: Record<string, string> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-strict-builtins-'));
  dir = await writeTree(join(work, 'policy'), {
    'p.rego': 'package p\n\nimport rego.v1\n\ndigits := format_int(input.n, input.base)\n',
    'p_test.rego':
      'package p_test\n\nimport rego.v1\n\n# Passes only when format_int(10, 3) is undefined rather than an error.\n' +
      'test_bad_base_is_not_x if not format_int(10, 3) == "x"\n\ntest_good_base if format_int(10, 16) == "a"\n',
  });
  for (const [name, base] of [
    ['bad', 3],
    ['good', 16],
  ] as const) {
    inputs[name] = join(work, `${name}.json`);
    await writeFile(inputs[name], JSON.stringify({ n: 10, base }));
  }
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('policy eval --strict-builtin-errors', () => {
  it('without the flag, a bad base makes format_int undefined: an empty result set, exit 0', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', inputs['bad']!, '-e', 'p/digits'], io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual([]);
  });

  it('with it, the evaluation stops with the builtin error, exit 1', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', inputs['bad']!, '-e', 'p/digits', '--strict-builtin-errors'], io)).toBe(1);
    expect(io.out).toBe('');
    expect(io.err).toMatch(/^error: eval_builtin_error: format_int: operand 2 must be one of \{2, 8, 10, 16\}/);
  });

  it('with it, a call without an error answers as before', async () => {
    const io = capture();
    expect(await policyEval([dir, '--input', inputs['good']!, '-e', 'p/digits', '--strict-builtin-errors'], io)).toBe(
      0,
    );
    expect(JSON.parse(io.out)).toEqual([{ result: 'a' }]);
  });
});

describe('policy test --strict-builtin-errors', () => {
  it('without the flag, `not format_int(10, 3) == "x"` passes (the call is undefined)', async () => {
    const io = capture();
    expect(await policyTest([dir], io)).toBe(0);
  });

  it('with it, that test is an ERROR naming the builtin, and the others still run and pass', async () => {
    const io = capture();
    expect(await policyTest(['--format', 'json', '--strict-builtin-errors', dir], io)).toBe(1);
    const records = JSON.parse(io.out) as Array<{ name: string; fail?: boolean; error?: { message?: string } }>;
    const bad = records.find((r) => r.name === 'test_bad_base_is_not_x');
    expect(JSON.stringify(bad?.error)).toMatch(/format_int/);
    const good = records.find((r) => r.name === 'test_good_base');
    expect(good?.fail).not.toBe(true);
    expect(good?.error).toBeUndefined();
  });
});
