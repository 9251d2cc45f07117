// A policy load instantiates its module once: the instance that names the JavaScript builtins the module
// calls is the one that serves, with those builtins (and the fuel they charge) in place before any evaluation.
// Another instance only to read that list cost every reload a second Wasm memory, allocated and dropped at once.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFromSettings } from '../../src/policy/engine.js';
import { DEFAULT_MEMORY_MIB } from '../../src/policy/limits.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if semver.compare(input.version, "1.2.0") >= 0

nums := numbers.range(1, input.n)
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-instances-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'authz.rego'), POLICY);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Counts the WebAssembly instances created while `work` runs (the opa-wasm SDK creates them synchronously). */
async function countingInstances<T>(work: () => Promise<T>): Promise<{ result: T; instances: number }> {
  const original = WebAssembly.Instance;
  let instances = 0;
  class Counted extends original {
    constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
      super(module, imports);
      instances++;
    }
  }
  WebAssembly.Instance = Counted;
  try {
    return { result: await work(), instances };
  } finally {
    WebAssembly.Instance = original;
  }
}

describe('loading a policy', () => {
  it('instantiates the module once, and that instance calls the JavaScript builtins', async () => {
    const { result: policy, instances } = await countingInstances(() =>
      loadPolicyFromSettings({ path: join(dir, 'policies'), entrypoint: 'envoy/authz/allow' }),
    );
    expect(instances).toBe(1);
    expect(policy.evaluate({ version: '1.3.0' })).toEqual({ defined: true, value: true });
    expect(policy.evaluate({ version: '1.0.0' })).toEqual({ defined: true, value: false });
  });

  it('charges a builtin that builds its answer to the first instance fuel budget', async () => {
    const policy = await loadPolicyFromSettings({
      path: join(dir, 'policies'),
      entrypoint: 'envoy/authz/nums',
      limits: { fuel: 1_000, memoryMiB: DEFAULT_MEMORY_MIB },
    });
    expect(policy.evaluate({ n: 3 })).toEqual({ defined: true, value: [1, 2, 3] });
    // 5,000 numbers need more steps than the budget holds: out of fuel, on the very first instance
    expect(() => policy.evaluate({ n: 5000 })).toThrow(/fuel/);
  });
});
