import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Header } from 'tar';
import { BundleError, readBundle, writeBundle, DEFAULT_BUNDLE_LIMITS } from '../src/bundle.js';

// The 8-byte Wasm preamble: enough for the reader, which does not instantiate modules.
const WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

interface RawEntry {
  path: string;
  body?: string | Uint8Array;
  type?: 'File' | 'Directory' | 'SymbolicLink';
  linkpath?: string;
  /** Header size when it should differ from the body (to fake an oversize entry). */
  size?: number;
}

/** A tarball written block by block, so tests can produce archives no well-behaved packer would. */
function rawTarGz(entries: RawEntry[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const size = entry.size ?? (entry.type === undefined || entry.type === 'File' ? body.length : 0);
    const header = new Header({
      path: entry.path,
      type: entry.type ?? 'File',
      size,
      mode: 0o644,
      mtime: new Date(0),
      linkpath: entry.linkpath,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (entry.size === undefined && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}

async function bundleError(archive: Uint8Array, limits = DEFAULT_BUNDLE_LIMITS): Promise<BundleError> {
  try {
    await readBundle(archive, limits);
  } catch (error) {
    if (error instanceof BundleError) return error;
    throw error;
  }
  throw new Error('expected the bundle to be refused');
}

describe('bundle write/read', () => {
  it('writes /policy.wasm, /data.json and /.manifest and reads them back', async () => {
    const archive = await writeBundle({
      wasm: WASM,
      data: { roles: { alice: 'admin' } },
      revision: 'rev-1',
      entrypoints: ['envoy/authz/allow'],
    });
    const bundle = await readBundle(archive);
    expect(bundle.wasm).toEqual(WASM);
    expect(bundle.data).toEqual({ roles: { alice: 'admin' } });
    expect(bundle.manifest).toEqual({
      revision: 'rev-1',
      roots: [''],
      wasm: [{ entrypoint: 'envoy/authz/allow', module: '/policy.wasm' }],
    });
  });

  it('names entries with a leading slash, as opa build does', async () => {
    const archive = await writeBundle({ wasm: WASM, revision: 'r', entrypoints: ['a/b'] });
    const { gunzipSync } = await import('node:zlib');
    const raw = gunzipSync(Buffer.from(archive));
    const names: string[] = [];
    for (let offset = 0; offset + 512 <= raw.length;) {
      const header = new Header(raw, offset);
      if (header.path === undefined || header.path === '') break;
      names.push(header.path);
      offset += 512 + Math.ceil((header.size ?? 0) / 512) * 512;
    }
    expect(names.sort()).toEqual(['/.manifest', '/data.json', '/policy.wasm']);
  });

  it('writes identical bytes for identical inputs', async () => {
    const spec = { wasm: WASM, data: { a: 1 }, revision: 'r', entrypoints: ['x/y'] };
    expect(await writeBundle(spec)).toEqual(await writeBundle(spec));
  });
});

describe('bundle read: bundles from other tools', () => {
  it('reads entries named without a leading slash and ignores extra files', async () => {
    const bundle = await readBundle(
      rawTarGz([
        { path: 'policy.wasm', body: WASM },
        { path: 'data.json', body: '{"x": 1}' },
        { path: 'README.md', body: 'hello' },
        { path: 'envoy/authz.rego', body: 'package envoy.authz\n' },
      ]),
    );
    expect(bundle.wasm).toEqual(WASM);
    expect(bundle.manifest).toBeUndefined();
    expect(bundle.data).toEqual({ x: 1 });
    expect(bundle.regoFiles).toEqual([{ path: 'envoy/authz.rego', source: 'package envoy.authz\n' }]);
  });

  it('reads an uncompressed .tar as well', async () => {
    const { gunzipSync } = await import('node:zlib');
    const plain = new Uint8Array(
      gunzipSync(
        Buffer.from(
          rawTarGz([
            { path: 'policy.wasm', body: WASM },
            { path: 'data.json', body: '{"k": 2}' },
          ]),
        ),
      ),
    );
    const bundle = await readBundle(plain);
    expect(bundle.wasm).toEqual(WASM);
    expect(bundle.data).toEqual({ k: 2 });
  });

  it('loads the module the manifest names, wherever it is', async () => {
    const bundle = await readBundle(
      rawTarGz([
        {
          path: '/.manifest',
          body: JSON.stringify({ revision: 'abc', wasm: [{ entrypoint: 'p/allow', module: '/mods/main.wasm' }] }),
        },
        { path: './mods/main.wasm', body: WASM },
      ]),
    );
    expect(bundle.wasm).toEqual(WASM);
    expect(bundle.manifest?.revision).toBe('abc');
  });

  it('places nested data.json and data.yaml files at their directory path and merges them', async () => {
    const bundle = await readBundle(
      rawTarGz([
        { path: '/data.json', body: '{"top": true, "roles": {"a": 1}}' },
        { path: '/roles/data.json', body: '{"b": 2}' },
        { path: '/config/limits/data.yaml', body: 'max: 5\n' },
      ]),
    );
    expect(bundle.data).toEqual({ top: true, roles: { a: 1, b: 2 }, config: { limits: { max: 5 } } });
  });

  it('refuses a manifest naming a module the bundle lacks', async () => {
    const err = await bundleError(
      rawTarGz([{ path: '/.manifest', body: '{"wasm": [{"entrypoint": "a", "module": "/x.wasm"}]}' }]),
    );
    expect(err.entry).toBe('.manifest');
    expect(err.message).toMatch(/no such file/);
  });

  it('refuses a malformed manifest, naming the field', async () => {
    const err = await bundleError(rawTarGz([{ path: '/.manifest', body: '{"revision": 7}' }]));
    expect(err.message).toMatch(/^\.manifest: field revision/);
  });

  it('refuses conflicting data from two files', async () => {
    const err = await bundleError(
      rawTarGz([
        { path: '/data.json', body: '{"a": {"b": 1}}' },
        { path: '/a/data.json', body: '{"b": 2}' },
      ]),
    );
    expect(err.message).toMatch(/conflicts/);
  });

  it('refuses data that is not valid JSON, naming the entry', async () => {
    const err = await bundleError(rawTarGz([{ path: '/data.json', body: '{nope' }]));
    expect(err.entry).toBe('data.json');
  });
});

describe('bundle read: hostile archives', () => {
  it('refuses path traversal with ..', async () => {
    const err = await bundleError(rawTarGz([{ path: '../../etc/passwd', body: 'x' }]));
    expect(err.message).toMatch(/`\.\.`/);
  });

  it('refuses traversal hidden in the middle of a name', async () => {
    expect((await bundleError(rawTarGz([{ path: '/a/../../b/data.json', body: '{}' }]))).message).toMatch(/`\.\.`/);
  });

  it('refuses a manifest module path that escapes the bundle', async () => {
    const err = await bundleError(
      rawTarGz([{ path: '/.manifest', body: '{"wasm": [{"entrypoint": "a", "module": "../policy.wasm"}]}' }]),
    );
    expect(err.entry).toBe('.manifest');
  });

  it('refuses symbolic links', async () => {
    const err = await bundleError(rawTarGz([{ path: 'policy.wasm', type: 'SymbolicLink', linkpath: '/etc/passwd' }]));
    expect(err.message).toMatch(/symbolic link/);
  });

  it('refuses an entry over the size limit before reading it', async () => {
    const err = await bundleError(rawTarGz([{ path: 'policy.wasm', body: new Uint8Array(4096) }]), {
      ...DEFAULT_BUNDLE_LIMITS,
      maxEntryBytes: 1024,
    });
    expect(err.message).toMatch(/over the 1024-byte limit/);
  });

  it('refuses archives whose entries add up past the total limit', async () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.bin`, body: new Uint8Array(1000) }));
    const err = await bundleError(rawTarGz(entries), { ...DEFAULT_BUNDLE_LIMITS, maxTotalBytes: 3000 });
    expect(err.message).toMatch(/more than 3000 bytes/);
  });

  it('refuses duplicate entries that would shadow each other', async () => {
    const err = await bundleError(
      rawTarGz([
        { path: '/policy.wasm', body: WASM },
        { path: 'policy.wasm', body: WASM },
      ]),
    );
    expect(err.message).toMatch(/twice/);
  });

  it('refuses bytes that are not a tar archive', async () => {
    const err = await bundleError(new Uint8Array(gzipSync(Buffer.from('definitely not a tarball'.repeat(40)))));
    expect(err.code).toBe('POLICY_BUNDLE');
  });
});
