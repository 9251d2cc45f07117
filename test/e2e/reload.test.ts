// policy.watch: a changed policy is swapped in; a broken one keeps the last good policy and is counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';

const allowPath = (segment: string) => `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "${segment}"
`;

const status = (res: CheckResponse) => res.deniedResponse?.status?.code ?? 200;

/** Polls until `probe` holds; the deadline only bounds a hung test, nothing is asserted about speed. */
async function eventually(probe: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('policy hot reload', () => {
  let t: TestSidecar;
  const revision = async () =>
    ((await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as { revision: string }).revision;
  const metric = async (pattern: RegExp) => {
    const match = pattern.exec(await (await fetch(`${t.adminUrl}/metrics`)).text());
    return match === null ? 0 : Number(match[1]);
  };

  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': allowPath('v1') },
      config: { policy: { watch: true } },
    });
  });
  afterAll(async () => t?.close());

  it('swaps in a changed policy without a restart', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/v1' })))).toBe(200);
    const before = await revision();
    t.write('policies/authz.rego', allowPath('v2'));
    await eventually(async () => (await revision()) !== before, 'the new revision');
    expect(status(await t.client.check(checkRequest({ path: '/v2' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/v1' })))).toBe(403);
    expect(await metric(/portcullis_policy_reloads_total\{result="success"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  });

  it('logs where the reload spent its time: reading, compiling in the child (starting it on the event loop), WebAssembly.compile, instantiating', async () => {
    const reloaded = t.logs.find((l) => l['msg'] === 'policy reloaded');
    expect(reloaded?.['durationMs']).toBeGreaterThan(0);
    const timings = reloaded?.['timingsMs'] as Record<string, number> | undefined;
    expect(Object.keys(timings ?? {}).sort()).toEqual(['compile', 'instantiate', 'read', 'spawn', 'wasmCompile']);
    // Each step is a part of the whole.
    for (const ms of Object.values(timings!)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(timings!['compile']).toBeGreaterThan(0);
    expect(timings!['compile']).toBeLessThanOrEqual(reloaded?.['durationMs'] as number);
    // Starting the compile is the part of it that runs on the event loop.
    expect(timings!['spawn']).toBeLessThanOrEqual(timings!['compile']!);
  });

  it('keeps the last good policy when the new one does not compile, and counts the error', async () => {
    const good = await revision();
    t.write('policies/authz.rego', 'package envoy.authz\n\nallow if {{{ broken\n');
    await eventually(
      async () => (await metric(/portcullis_policy_reloads_total\{result="error"\} (\d+)/)) >= 1,
      'the reload error to be counted',
    );
    expect(await revision()).toBe(good);
    expect(status(await t.client.check(checkRequest({ path: '/v2' })))).toBe(200);
    const logged = t.logs.find((l) => l['msg'] === 'policy reload failed; keeping the last good policy');
    expect(JSON.stringify(logged?.['err'])).toContain('authz.rego');
  });

  it('recovers when the policy is fixed again', async () => {
    t.write('policies/authz.rego', allowPath('v3'));
    await eventually(
      async () => status(await t.client.check(checkRequest({ path: '/v3' }))) === 200,
      'the fixed policy',
    );
  });
});

describe('policy hot reload of policy.data', () => {
  let t: TestSidecar;
  const DATA_POLICY =
    'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.parsed_path[0] in data.open\n';
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': DATA_POLICY, 'data.json': JSON.stringify({ open: ['a'] }) },
      config: { policy: { watch: true, data: 'data.json' } },
    });
  });
  afterAll(async () => t?.close());

  it('puts a replaced policy.data file in force', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/a' })))).toBe(200);
    t.write('data.json', JSON.stringify({ open: ['b'] }));
    await eventually(async () => status(await t.client.check(checkRequest({ path: '/b' }))) === 200, 'the new data');
    expect(status(await t.client.check(checkRequest({ path: '/a' })))).toBe(403);
  });
});

// Editors, `mv`, config tools and the kubelet replace files instead of writing them: every version must
// still be loaded, with the file events alone (the periodic check is off here so it cannot hide a deaf watch).
describe('policy hot reload follows replaced files', () => {
  const DATA_POLICY =
    'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.parsed_path[0] in data.open\n';
  const open = async (t: TestSidecar, segment: string) =>
    status(await t.client.check(checkRequest({ path: `/${segment}` }))) === 200;
  /** write-and-rename, the way editors and config tools save */
  const replace = (t: TestSidecar, relative: string, content: string): void => {
    const target = join(t.dir, relative);
    writeFileSync(`${target}.tmp-${process.pid}`, content);
    renameSync(`${target}.tmp-${process.pid}`, target);
  };
  const problems = (t: TestSidecar) =>
    t.logs.filter((l) => String(l['msg']).startsWith('policy change found by the periodic check'));

  it('loads each of 6 successive versions of a policy file saved by write-and-rename', async () => {
    const t = await startTestSidecar({
      files: { 'policies/authz.rego': allowPath('v0') },
      config: { policy: { watch: true, watchPollSeconds: 0 } },
    });
    try {
      for (let version = 1; version <= 6; version++) {
        replace(t, 'policies/authz.rego', allowPath(`v${version}`));
        await eventually(() => open(t, `v${version}`), `version ${version} of the policy`);
        expect(await open(t, `v${version - 1}`)).toBe(false);
      }
    } finally {
      await t.close();
    }
  });

  it('loads each of 6 successive versions of a policy.data file saved by write-and-rename, and in-place writes between them', async () => {
    const t = await startTestSidecar({
      files: { 'policies/authz.rego': DATA_POLICY, 'data.json': JSON.stringify({ open: ['d0'] }) },
      config: { policy: { watch: true, watchPollSeconds: 0, data: 'data.json' } },
    });
    try {
      for (let version = 1; version <= 6; version++) {
        if (version % 2 === 0) t.write('data.json', JSON.stringify({ open: [`d${version}`] }));
        else replace(t, 'data.json', JSON.stringify({ open: [`d${version}`] }));
        await eventually(() => open(t, `d${version}`), `version ${version} of the data`);
      }
    } finally {
      await t.close();
    }
  });

  it('follows repeated Kubernetes ConfigMap swaps of ..data to a new directory', async () => {
    const mount = makeTempDir('portcullis-configmap-');
    const generation = (n: number) => `..2026_11_29_00_00_0${n}.00000000${n}`;
    /** as the kubelet does it: a new generation directory, then one atomic swap of the `..data` link */
    const publish = (n: number): void => {
      mkdirSync(join(mount, generation(n)));
      writeFileSync(join(mount, generation(n), 'authz.rego'), allowPath(`k${n}`));
      symlinkSync(generation(n), join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      if (n > 0) rmSync(join(mount, generation(n - 1)), { recursive: true });
    };
    publish(0);
    symlinkSync(join('..data', 'authz.rego'), join(mount, 'authz.rego'));
    const t = await startTestSidecar({ config: { policy: { watch: true, watchPollSeconds: 0, path: mount } } });
    try {
      expect(await open(t, 'k0')).toBe(true);
      for (let n = 1; n <= 4; n++) {
        publish(n);
        await eventually(() => open(t, `k${n}`), `ConfigMap generation ${n}`);
      }
    } finally {
      await t.close();
      rmSync(mount, { recursive: true, force: true });
    }
  });

  it('follows a policy.path link swapped to another release directory, then edits inside the new one', async () => {
    const root = makeTempDir('portcullis-releases-');
    const release = (n: number): void => {
      mkdirSync(join(root, 'releases', String(n)), { recursive: true });
      writeFileSync(join(root, 'releases', String(n), 'authz.rego'), allowPath(`r${n}`));
    };
    release(1);
    symlinkSync(join(root, 'releases', '1'), join(root, 'current'));
    const t = await startTestSidecar({
      config: { policy: { watch: true, watchPollSeconds: 0, path: join(root, 'current') } },
    });
    try {
      expect(await open(t, 'r1')).toBe(true);
      release(2);
      symlinkSync(join(root, 'releases', '2'), join(root, 'current.tmp'));
      renameSync(join(root, 'current.tmp'), join(root, 'current'));
      await eventually(() => open(t, 'r2'), 'the swapped-in release');
      // The watch moved to the new release's directory: an in-place edit there is seen too.
      writeFileSync(join(root, 'releases', '2', 'authz.rego'), allowPath('r2b'));
      await eventually(() => open(t, 'r2b'), 'the edit inside the new release');
    } finally {
      await t.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds a change the file watch cannot see (an in-place edit behind a symbolic link) by the periodic check, and says so', async () => {
    const outside = makeTempDir('portcullis-outside-');
    writeFileSync(join(outside, 'real.rego'), allowPath('s0'));
    // The policy directory holds only a link; writing the link's target makes no event in any watched directory.
    const policyDir = makeTempDir('portcullis-linked-');
    symlinkSync(join(outside, 'real.rego'), join(policyDir, 'authz.rego'));
    const t = await startTestSidecar({ config: { policy: { watch: true, watchPollSeconds: 0.1, path: policyDir } } });
    try {
      expect(await open(t, 's0')).toBe(true);
      writeFileSync(join(outside, 'real.rego'), allowPath('s1'));
      await eventually(() => open(t, 's1'), 'the edit found by the periodic check');
      expect(problems(t)[0]?.['paths']).toEqual([join(policyDir, 'authz.rego')]);
      const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/portcullis_policy_watch_problems_total\{kind="missed"\} 1/);
    } finally {
      await t.close();
      rmSync(outside, { recursive: true, force: true });
      rmSync(policyDir, { recursive: true, force: true });
    }
  });

  it('reports nothing missed when the file watch works', async () => {
    const t = await startTestSidecar({
      files: { 'policies/authz.rego': allowPath('n0') },
      config: { policy: { watch: true, watchPollSeconds: 0.05 } },
    });
    try {
      for (let version = 1; version <= 3; version++) {
        replace(t, 'policies/authz.rego', allowPath(`n${version}`));
        await eventually(() => open(t, `n${version}`), `version ${version}`);
      }
      expect(problems(t)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
