// policy.limits at load: data that does not fit the memory cap is refused with the key to change, and the
// defaults apply when the config does not set them.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { loadPolicyFromSettings } from '../../src/policy/engine.js';
import { PolicyLoadError } from '../../src/policy/errors.js';
import { DEFAULT_FUEL, DEFAULT_MEMORY_MIB } from '../../src/policy/limits.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if count(data.items) > 0
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-limits-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'authz.rego'), POLICY);
  // ~3 MiB of JSON: more than a 2 MiB cap holds once parsed
  await writeFile(
    join(dir, 'data.json'),
    JSON.stringify({ items: Array.from({ length: 150_000 }, (_, i) => `item-${i}`) }),
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('policy.limits at load', () => {
  it('refuses data that does not fit policy.limits.memoryMiB, naming the key', async () => {
    const load = loadPolicyFromSettings({
      path: join(dir, 'policies'),
      entrypoint: 'envoy/authz/allow',
      data: join(dir, 'data.json'),
      limits: { fuel: DEFAULT_FUEL, memoryMiB: 2 },
    });
    await expect(load).rejects.toBeInstanceOf(PolicyLoadError);
    await expect(load).rejects.toThrow(/policy\.limits\.memoryMiB \(2\)/);
  });

  it('loads the same data under the default cap and evaluates with it', async () => {
    const policy = await loadPolicyFromSettings({
      path: join(dir, 'policies'),
      entrypoint: 'envoy/authz/allow',
      data: join(dir, 'data.json'),
    });
    expect(policy.evaluate({})).toEqual({ defined: true, value: true });
    expect(policy.memoryBytes?.()).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('defaults policy.limits when the config leaves it out, and refuses caps out of range', () => {
    expect(configSchema.parse({}).policy.limits).toEqual({ fuel: DEFAULT_FUEL, memoryMiB: DEFAULT_MEMORY_MIB });
    expect(configSchema.safeParse({ policy: { limits: { memoryMiB: 4096 } } }).success).toBe(false);
    expect(configSchema.safeParse({ policy: { limits: { memoryMiB: 1 } } }).success).toBe(false);
    expect(configSchema.safeParse({ policy: { limits: { fuel: 0 } } }).success).toBe(false);
  });
});
