// policies/README.md is checked against the code it describes: its input example is a real input, its
// `policy eval` example prints what the CLI prints, every construct it lists as refused is refused by the
// compiler with that construct's name, and its builtin list is the compiler's.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinTable, CATALOG, REFUSED, RegoCompileError } from '@portcullis/rego-wasm';
import { policyEval } from '../../src/cli/policy.js';
import { compileRego, policiesDir } from './harness.js';

const repoRoot = path.resolve(policiesDir, '..');
const guide = fs.readFileSync(path.join(policiesDir, 'README.md'), 'utf8');

interface Fence {
  info: string;
  body: string;
}

function fences(markdown: string): Fence[] {
  return [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ info: m[1]!.trim(), body: m[2]! }));
}

/** `name="a b"` or `name=value` from a fence's info string. */
function attribute(info: string, name: string): string | undefined {
  const match = new RegExp(`${name}=(?:"([^"]*)"|(\\S+))`).exec(info);
  return match === null ? undefined : (match[1] ?? match[2]);
}

describe('policies/README.md', () => {
  it('shows a real input document: the one in docs/inputs it names', () => {
    const blocks = fences(guide).filter((f) => attribute(f.info, 'input') !== undefined);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const file = path.join(repoRoot, attribute(block.info, 'input')!);
      expect(JSON.parse(block.body)).toEqual(JSON.parse(fs.readFileSync(file, 'utf8')));
    }
  });

  it('prints, for its `portcullis policy eval` example, exactly what the command prints', async () => {
    const all = fences(guide);
    const outputIndex = all.findIndex((f) => attribute(f.info, 'eval-output') !== undefined);
    expect(outputIndex).toBeGreaterThan(0);
    const commandLine = all[outputIndex - 1]!.body.split('\n').find((l) => l.startsWith('portcullis policy eval '))!;
    const argv = commandLine
      .replace('portcullis policy eval ', '')
      .trim()
      .split(/\s+/)
      .map((arg) => (arg.includes('/') ? path.join(repoRoot, arg) : arg));
    let stdout = '';
    let stderr = '';
    const code = await policyEval(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(all[outputIndex]!.body));
  });

  const refused = fences(guide).filter((f) => f.info.startsWith('rego') && attribute(f.info, 'refused') !== undefined);

  it('lists refused constructs', () => {
    expect(refused.length).toBeGreaterThanOrEqual(6);
  });

  it.each(refused.map((f) => [attribute(f.info, 'refused')!, f.body] as const))(
    'is right that the compiler refuses %s, naming it',
    (construct, source) => {
      let error: unknown;
      try {
        compileRego([{ path: 'guide.rego', source }], { entrypoints: ['demo/allow'] });
      } catch (err) {
        error = err;
      }
      expect(error, `${construct} compiled`).toBeInstanceOf(RegoCompileError);
      expect((error as RegoCompileError).construct).toBe(construct);
      expect((error as RegoCompileError).message).toMatch(/^guide\.rego:\d+:\d+: /);
    },
  );

  it('lists exactly the builtins the compiler accepts, with the types the catalog declares (npm run builtins:guide)', () => {
    const section = /<!-- builtins:start -->\n([\s\S]*?)\n<!-- builtins:end -->/.exec(guide)![1]!;
    expect(section).toBe(builtinTable());
    const listed = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort();
    const userBuiltins = Object.entries(CATALOG)
      .filter(([, spec]) => spec.lowering !== 'host')
      .map(([name]) => name);
    expect(listed).toEqual(userBuiltins.sort());
    expect(section).toContain('| `substring` | string, int64, int64 | string |');
  });

  it('lists every refused OPA builtin with the reason the compiler gives', () => {
    const section = /<!-- refused:start -->([\s\S]*?)<!-- refused:end -->/.exec(guide)![1]!;
    const rows = [...section.matchAll(/^\| `([^`]+)` \| (.*) \|$/gm)].map(
      (m) => [m[1]!, m[2]!.replace(/\\\|/g, '|')] as const,
    );
    expect(Object.fromEntries(rows)).toEqual(REFUSED);
  });
});
