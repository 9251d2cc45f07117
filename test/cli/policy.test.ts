import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyBuild, policyEval, type CliOutput } from '../../src/cli/policy.js';
import { readBundle } from '@portcullis/rego-wasm/bundle';
import { spawnCli } from '../helpers/process.js';

let work: string;

const AUTHZ = `package envoy.authz

import rego.v1
import data.lib

default allow := false

allow if {
	input.method == "GET"
	lib.is_admin(input.user)
}
`;
const LIB = `package lib

import rego.v1

is_admin(u) if data.lib.admins[u]
`;

function capture(): CliOutput & { out: string; err: string } {
  const sink = {
    out: '',
    err: '',
    stdout(text: string) {
      sink.out += text;
    },
    stderr(text: string) {
      sink.err += text;
    },
  };
  return sink;
}

async function writeTree(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-policy-cli-'));
  await writeTree(join(work, 'policy'), {
    'authz.rego': AUTHZ,
    'lib/lib.rego': LIB,
    'lib/data.json': '{"admins": {"alice": true}}',
  });
  await writeFile(join(work, 'alice.json'), '{"method": "GET", "user": "alice"}');
  await writeFile(join(work, 'bob.json'), '{"method": "GET", "user": "bob"}');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('portcullis policy build', () => {
  it('builds an OPA bundle whose manifest, data and module read back', async () => {
    const out = join(work, 'bundle.tar.gz');
    const io = capture();
    expect(await policyBuild([join(work, 'policy'), '-o', out], io)).toBe(0);
    expect(io.out).toMatch(
      /^built .*bundle\.tar\.gz \(\d+ bytes, revision [0-9a-f]{12}, entrypoints envoy\/authz\/allow\)/,
    );
    const bundle = await readBundle(new Uint8Array(await readFile(out)));
    expect(bundle.manifest?.wasm).toEqual([{ entrypoint: 'envoy/authz/allow', module: '/policy.wasm' }]);
    expect(bundle.data).toEqual({ lib: { admins: { alice: true } } });
    expect(Array.from(bundle.wasm?.subarray(0, 4) ?? [])).toEqual([0x00, 0x61, 0x73, 0x6d]);
  });

  it('uses --revision for the manifest when given', async () => {
    const out = join(work, 'rev.tar.gz');
    expect(await policyBuild([join(work, 'policy'), '-o', out, '--revision', 'v42'], capture())).toBe(0);
    expect((await readBundle(new Uint8Array(await readFile(out)))).manifest?.revision).toBe('v42');
  });

  it('builds a bare .wasm module and notes that data is not inside it', async () => {
    const out = join(work, 'policy.wasm');
    const io = capture();
    expect(await policyBuild([join(work, 'policy'), '-o', out], io)).toBe(0);
    expect(Array.from((await readFile(out)).subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
    expect(io.err).toMatch(/holds no data/);
  });

  it('exits 2 naming file:line:col when a policy does not parse', async () => {
    const dir = await writeTree(join(work, 'broken'), { 'x.rego': 'package x\n\nallow if {\n  input.a ==\n}\n' });
    const io = capture();
    expect(await policyBuild([dir, '-o', join(work, 'broken.wasm')], io)).toBe(2);
    expect(io.err).toContain(`${join(dir, 'x.rego')}:5:1:`);
  });

  it('exits 2 without -o, with an unknown output type, or when DIR is not a directory', async () => {
    const io = capture();
    expect(await policyBuild([join(work, 'policy')], io)).toBe(2);
    expect(io.err).toMatch(/--output/);
    expect(await policyBuild([join(work, 'policy'), '-o', 'out.zip'], io)).toBe(2);
    expect(io.err).toMatch(/\.tar\.gz .*\.wasm/);
    expect(await policyBuild([join(work, 'alice.json'), '-o', 'x.wasm'], io)).toBe(2);
    expect(io.err).toMatch(/not a directory/);
  });

  it('prints help and exits 0 for --help', async () => {
    const io = capture();
    expect(await policyBuild(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/Usage: portcullis policy build/);
  });
});

describe('portcullis policy eval', () => {
  it('evaluates a directory and prints the result set', async () => {
    const io = capture();
    expect(await policyEval([join(work, 'policy'), '--input', join(work, 'alice.json')], io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual([{ result: true }]);
  });

  it('evaluates a built bundle with the data it carries', async () => {
    const out = join(work, 'eval.tar.gz');
    expect(await policyBuild([join(work, 'policy'), '-o', out], capture())).toBe(0);
    const alice = capture();
    expect(await policyEval([out, '--input', join(work, 'alice.json')], alice)).toBe(0);
    expect(JSON.parse(alice.out)).toEqual([{ result: true }]);
    const bob = capture();
    expect(await policyEval([out, '--input', join(work, 'bob.json')], bob)).toBe(0);
    expect(JSON.parse(bob.out)).toEqual([{ result: false }]);
  });

  it('merges --data over the policy data', async () => {
    const data = join(work, 'override.json');
    await writeFile(data, '{"lib": {"admins": {"alice": false, "bob": true}}}');
    const io = capture();
    expect(await policyEval([join(work, 'policy'), '--input', join(work, 'bob.json'), '--data', data], io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual([{ result: true }]);
  });

  it('evaluates a bare .wasm module with -e choosing the entrypoint', async () => {
    const wasm = join(work, 'eval.wasm');
    expect(await policyBuild([join(work, 'policy'), '-o', wasm], capture())).toBe(0);
    const data = join(work, 'admins.json');
    await writeFile(data, '{"lib": {"admins": {"alice": true}}}');
    const io = capture();
    expect(
      await policyEval([wasm, '--input', join(work, 'alice.json'), '--data', data, '-e', 'envoy/authz/allow'], io),
    ).toBe(0);
    expect(JSON.parse(io.out)).toEqual([{ result: true }]);
  });

  it('accepts -e in the forms OPA-Envoy users write: /a/b, a.b, data.a.b', async () => {
    for (const entrypoint of ['/envoy/authz/allow', 'envoy.authz.allow', 'data.envoy.authz.allow']) {
      const io = capture();
      expect(
        await policyEval([join(work, 'policy'), '--input', join(work, 'alice.json'), '-e', entrypoint], io),
        entrypoint,
      ).toBe(0);
      expect(JSON.parse(io.out), entrypoint).toEqual([{ result: true }]);
    }
  });

  it('evaluates every -e when several are given, printing each result set under its entrypoint', async () => {
    const io = capture();
    const argv = [
      join(work, 'policy'),
      '--input',
      join(work, 'alice.json'),
      '-e',
      'envoy/authz/allow',
      '-e',
      'lib.admins',
    ];
    expect(await policyEval(argv, io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual({
      'envoy/authz/allow': [{ result: true }],
      'lib/admins': [{ result: { alice: true } }],
    });
  });

  it('exits 2 for an -e that is a query rather than a rule reference', async () => {
    const io = capture();
    expect(await policyEval([join(work, 'policy'), '--input', join(work, 'alice.json'), '-e', 'data.x == 1'], io)).toBe(
      2,
    );
    expect(io.err).toContain('package/path/rule');
  });

  it('exits 2 when the module lacks the entrypoint, listing the ones it has', async () => {
    const wasm = join(work, 'entry.wasm');
    expect(await policyBuild([join(work, 'policy'), '-o', wasm], capture())).toBe(0);
    const io = capture();
    expect(await policyEval([wasm, '--input', join(work, 'alice.json'), '-e', 'other/rule'], io)).toBe(2);
    expect(io.err).toMatch(/other\/rule .*envoy\/authz\/allow/);
  });

  it('exits 2 for a missing or malformed input file, naming it', async () => {
    const io = capture();
    expect(await policyEval([join(work, 'policy')], io)).toBe(2);
    expect(io.err).toMatch(/--input/);
    const bad = join(work, 'bad.json');
    await writeFile(bad, '{not json');
    expect(await policyEval([join(work, 'policy'), '--input', bad], io)).toBe(2);
    expect(io.err).toContain(`--input ${bad}: not valid JSON`);
    expect(await policyEval([join(work, 'policy'), '--input', join(work, 'missing.json')], io)).toBe(2);
  });

  it('exits 1 when the policy fails while evaluating (conflicting complete rule values)', async () => {
    const dir = await writeTree(join(work, 'conflict'), {
      'a.rego': 'package envoy.authz\n\nimport rego.v1\n\nallow := 1 if input.method\n\nallow := 2 if input.method\n',
    });
    const io = capture();
    expect(await policyEval([dir, '--input', join(work, 'alice.json')], io)).toBe(1);
    expect(io.err).toMatch(/conflict/);
    expect(io.out).toBe('');
  });

  it('exits 2 for a policy path that does not exist', async () => {
    const io = capture();
    expect(await policyEval([join(work, 'nowhere'), '--input', join(work, 'alice.json')], io)).toBe(2);
    expect(io.err).toMatch(/nowhere: cannot be read: no such file or directory/);
  });
});

describe('portcullis policy (as a process)', () => {
  it('reads the input document from stdin with --input -', async () => {
    const out = join(work, 'stdin.tar.gz');
    expect(await policyBuild([join(work, 'policy'), '-o', out], capture())).toBe(0);
    const { spawnSync } = await import('node:child_process');
    const runCli = new URL('../helpers/runCli.ts', import.meta.url).pathname;
    const result = spawnSync(process.execPath, ['--import', 'tsx', runCli, 'policy', 'eval', out, '--input', '-'], {
      input: '{"method": "GET", "user": "alice"}',
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([{ result: true }]);
  }, 60_000);

  it('evaluates through the real command line and exits 2 on bad usage', async () => {
    const out = join(work, 'proc.tar.gz');
    expect(await policyBuild([join(work, 'policy'), '-o', out], capture())).toBe(0);
    const evaluation = spawnCli(['policy', 'eval', out, '--input', join(work, 'alice.json')]);
    expect(await evaluation.exited).toBe(0);
    expect(JSON.parse(evaluation.stdout())).toEqual([{ result: true }]);
    const usage = spawnCli(['policy', 'eval', out]);
    expect(await usage.exited).toBe(2);
  }, 60_000);
});
