import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicySource } from '../../src/policy/source.js';
import { PolicyLoadError } from '../../src/policy/errors.js';
import { RegoCompileError } from '@portcullis/rego-wasm';
import { writeBundle } from '@portcullis/rego-wasm/bundle';

let work: string;

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if data.users[input.user].role == data.config.limits.role
`;

async function writeTree(root: string, files: Record<string, string | Uint8Array>): Promise<string> {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), body);
  }
  return root;
}

/** Evaluates a loaded source through the real opa-wasm SDK. */
async function evaluate(wasm: Uint8Array, data: unknown, input: unknown): Promise<unknown> {
  const policy = await loadPolicy(wasm);
  policy.setData((data ?? {}) as object);
  return policy.evaluate(input, 'envoy/authz/allow');
}

async function loadError(path: string): Promise<Error> {
  try {
    await loadPolicySource(path, ['envoy/authz/allow']);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${path} to be refused`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'portcullis-source-'));
  await writeTree(join(work, 'dir'), {
    'authz.rego': POLICY,
    'authz_test.rego': 'package envoy.authz\n\ntest_x if { allow with input as {} }\n',
    'users/data.json': '{"alice": {"role": "admin"}}',
    'config/limits/data.yaml': 'role: admin\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
  });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('loadPolicySource', () => {
  it('compiles a directory, skipping _test.rego files, with data.json/data.yaml placed at their paths', async () => {
    const source = await loadPolicySource(join(work, 'dir'), ['envoy/authz/allow']);
    expect(source.kind).toBe('rego');
    expect(source.entrypoints).toEqual(['envoy/authz/allow']);
    expect(source.data).toEqual({ users: { alice: { role: 'admin' } }, config: { limits: { role: 'admin' } } });
    expect(source.revision).toMatch(/^[0-9a-f]{12}$/);
    expect(await evaluate(source.wasm, source.data, { user: 'alice' })).toEqual([{ result: true }]);
    expect(await evaluate(source.wasm, source.data, { user: 'bob' })).toEqual([{ result: false }]);
  });

  it('follows symbolic links as a Kubernetes ConfigMap mount lays them out, reading each file once', async () => {
    const dir = join(work, 'configmap');
    await writeTree(join(dir, '..2026_11_23_10_00_00.123'), {
      'authz.rego': POLICY,
      'data.json': '{"users": {"alice": {"role": "admin"}}, "config": {"limits": {"role": "admin"}}}',
    });
    await symlink('..2026_11_23_10_00_00.123', join(dir, '..data'));
    await symlink('..data/authz.rego', join(dir, 'authz.rego'));
    await symlink('..data/data.json', join(dir, 'data.json'));
    await symlink('.', join(dir, 'loop'));
    const source = await loadPolicySource(dir, ['envoy/authz/allow']);
    expect(source.data).toEqual({ users: { alice: { role: 'admin' } }, config: { limits: { role: 'admin' } } });
    expect(await evaluate(source.wasm, source.data, { user: 'alice' })).toEqual([{ result: true }]);
  });

  it('gives the same revision for the same sources and a new one when a file changes', async () => {
    const dir = await writeTree(join(work, 'rev'), { 'a.rego': POLICY });
    const first = await loadPolicySource(dir, ['envoy/authz/allow']);
    expect((await loadPolicySource(dir, ['envoy/authz/allow'])).revision).toBe(first.revision);
    await writeFile(join(dir, 'a.rego'), `${POLICY}\n# changed\n`);
    expect((await loadPolicySource(dir, ['envoy/authz/allow'])).revision).not.toBe(first.revision);
  });

  it('loads a bare .wasm module as is', async () => {
    const compiled = await loadPolicySource(join(work, 'dir'), ['envoy/authz/allow']);
    const file = join(work, 'policy.wasm');
    await writeFile(file, compiled.wasm);
    const source = await loadPolicySource(file, ['envoy/authz/allow']);
    expect(source.kind).toBe('wasm');
    expect(source.data).toBeUndefined();
    expect(source.wasm).toEqual(compiled.wasm);
  });

  it('loads a bundle with its manifest revision and data', async () => {
    const compiled = await loadPolicySource(join(work, 'dir'), ['envoy/authz/allow']);
    const file = join(work, 'bundle.tar.gz');
    await writeFile(
      file,
      await writeBundle({
        wasm: compiled.wasm,
        data: compiled.data,
        revision: 'release-7',
        entrypoints: ['envoy/authz/allow'],
      }),
    );
    const source = await loadPolicySource(file, ['envoy/authz/allow']);
    expect(source).toMatchObject({ kind: 'bundle', revision: 'release-7', entrypoints: ['envoy/authz/allow'] });
    expect(await evaluate(source.wasm, source.data, { user: 'alice' })).toEqual([{ result: true }]);
  });

  it('compiles the .rego files of a bundle that carries no Wasm', async () => {
    const blocks: Buffer[] = [];
    for (const [path, text] of [
      ['envoy/authz/policy.rego', POLICY],
      ['data.json', '{"users": {"alice": {"role": "admin"}}, "config": {"limits": {"role": "admin"}}}'],
    ] as const) {
      const body = Buffer.from(text);
      const block = Buffer.alloc(512);
      new Header({ path, size: body.length, type: 'File', mode: 0o644, mtime: new Date(0) }).encode(block, 0);
      blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    const file = join(work, 'source-only.tar.gz');
    await writeFile(file, gzipSync(Buffer.concat(blocks)));
    const source = await loadPolicySource(file, ['envoy/authz/allow']);
    expect(source.kind).toBe('bundle');
    expect(source.revision).toMatch(/^[0-9a-f]{12}$/);
    expect(await evaluate(source.wasm, source.data, { user: 'alice' })).toEqual([{ result: true }]);
  });

  it('lets a Rego syntax error through with the file, line and column', async () => {
    const dir = await writeTree(join(work, 'syntax'), { 'x.rego': 'package x\n\np := [1,\n' });
    const error = await loadError(dir);
    expect(error).toBeInstanceOf(RegoCompileError);
    expect(error.message).toMatch(new RegExp(`^${join(dir, 'x.rego').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:1: `));
  });

  it('refuses an entrypoint that names no rule, listing the rules there are', async () => {
    const error = await loadPolicySource(join(work, 'dir'), ['envoy/authz/alow']).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(error).toBeInstanceOf(PolicyLoadError);
    expect(error?.message).toMatch(
      /entrypoint envoy\/authz\/alow names no rule in the policy \(rules: envoy\/authz\/allow\)/,
    );
    expect((await loadPolicySource(join(work, 'dir'), ['envoy/authz'])).kind).toBe('rego');
  });

  it('refuses a directory without .rego files', async () => {
    const dir = await writeTree(join(work, 'empty'), { 'README.md': 'nothing' });
    const error = await loadError(dir);
    expect(error).toBeInstanceOf(PolicyLoadError);
    expect(error.message).toMatch(/holds no \.rego files/);
  });

  it('refuses a data.json that is not JSON, naming it', async () => {
    const dir = await writeTree(join(work, 'baddata'), { 'a.rego': POLICY, 'users/data.json': '{"a": ' });
    const error = await loadError(dir);
    expect(error).toBeInstanceOf(PolicyLoadError);
    expect(error.message).toContain(join(dir, 'users/data.json'));
  });

  it('refuses a .wasm file that is not WebAssembly, a missing path and an unknown file type', async () => {
    const fake = join(work, 'fake.wasm');
    await writeFile(fake, 'not wasm');
    expect((await loadError(fake)).message).toMatch(/not a WebAssembly module/);
    expect((await loadError(join(work, 'missing'))).message).toMatch(/no such file/);
    const text = join(work, 'policy.txt');
    await writeFile(text, 'hello');
    expect((await loadError(text)).message).toMatch(/neither a directory/);
  });

  it('refuses a hostile bundle as a PolicyLoadError naming the bundle and the entry', async () => {
    const block = Buffer.alloc(512);
    new Header({ path: '../escape.json', size: 2, type: 'File', mode: 0o644, mtime: new Date(0) }).encode(block, 0);
    const file = join(work, 'evil.tar.gz');
    await writeFile(file, gzipSync(Buffer.concat([block, Buffer.from('{}'), Buffer.alloc(510), Buffer.alloc(1024)])));
    const error = await loadError(file);
    expect(error).toBeInstanceOf(PolicyLoadError);
    expect(error.message).toMatch(/evil\.tar\.gz: bundle \.\.\/escape\.json: contains `\.\.`/);
  });
});

describe('policy.path that is not a regular file or directory', () => {
  it('is refused without reading it (a device would never end)', async () => {
    await expect(loadPolicySource('/dev/zero', ['envoy/authz/allow'])).rejects.toThrow(
      'policy /dev/zero: is neither a regular file nor a directory',
    );
  });
});
