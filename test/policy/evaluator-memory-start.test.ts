// A fresh instance's Wasm memory starts small, because V8 counts it against the heap's limits as soon as it is
// allocated (a reload's new instance otherwise brought V8's next full collection forward); a module that
// declares a larger memory minimum still loads, at the next size.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileRego } from '@portcullis/rego-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFromSettings } from '../../src/policy/engine.js';
import { WASM_PAGE_BYTES } from '../../src/policy/limits.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.path == "/ok"
`;

/** The module with its imported memory's declared minimum set to `pages` (< 128: a one-byte LEB128, as built). */
function withMemoryMinimum(wasm: Uint8Array, pages: number): Uint8Array {
  const bytes = Uint8Array.from(wasm);
  let at = 8; // after the magic number and version
  const leb = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const skipName = (): void => {
    const length = leb(); // read before moving past the name: `at += leb()` would add to the old `at`
    at += length;
  };
  while (at < bytes.length) {
    const section = bytes[at++]!;
    const size = leb();
    const end = at + size;
    if (section === 2) {
      for (let count = leb(), i = 0; i < count; i++) {
        skipName(); // module
        skipName(); // field
        const kind = bytes[at++]!;
        if (kind === 2) {
          at++; // limits flags
          if (bytes[at]! >= 0x80) throw new Error('a memory minimum of 128 pages or more: not as built');
          bytes[at] = pages;
          return bytes;
        }
        if (kind === 0) {
          leb(); // function: type index
        } else if (kind === 1) {
          at++; // table: element type, then limits
          const flags = bytes[at++]!;
          leb();
          if ((flags & 1) === 1) leb();
        } else {
          at += 2; // global: value type, mutability
        }
      }
    }
    at = end;
  }
  throw new Error('the module imports no memory');
}

let dir: string;
let wasm: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-memory-start-'));
  wasm = compileRego([{ path: 'authz.rego', source: POLICY }], { entrypoints: ['envoy/authz/allow'] }).wasm;
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function load(module: Uint8Array, name: string) {
  const path = join(dir, name);
  await writeFile(path, module);
  return loadPolicyFromSettings({ path, entrypoint: 'envoy/authz/allow' });
}

describe("a fresh instance's memory", () => {
  it('starts at two pages when the module needs no more', async () => {
    const policy = await load(wasm, 'small.wasm');
    expect(policy.evaluate({ path: '/ok' })).toEqual({ defined: true, value: true });
    expect(policy.memoryBytes?.()).toBe(2 * WASM_PAGE_BYTES);
  });

  it('starts at sixteen pages for a module that declares a minimum above two, and evaluates', async () => {
    const policy = await load(withMemoryMinimum(wasm, 5), 'five-pages.wasm');
    expect(policy.evaluate({ path: '/ok' })).toEqual({ defined: true, value: true });
    expect(policy.evaluate({ path: '/no' })).toEqual({ defined: true, value: false });
    expect(policy.memoryBytes?.()).toBe(16 * WASM_PAGE_BYTES);
  });

  it('still refuses a module whose minimum is above every start', async () => {
    await expect(load(withMemoryMinimum(wasm, 40), 'forty-pages.wasm')).rejects.toThrow(/memory|page/i);
  });
});
