// policy.limits through the real sidecar and a real gRPC client: an evaluation that runs out of memory or
// fuel answers 503 policy_error, is counted, and leaves the next check unaffected (a fresh instance with
// its memory back at the start size).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRego } from '@portcullis/rego-wasm';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';

const POLICY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "ok"

# /grow/N builds a list of N numbers: memory grows with N.
allow if {
	input.parsed_path[0] == "grow"
	n := to_number(input.parsed_path[1])
	count([x | some x in numbers.range(1, n)]) > 0
}

# /size/N builds the range without a loop over it: no steps of the module's own.
allow if {
	input.parsed_path[0] == "size"
	n := to_number(input.parsed_path[1])
	count(numbers.range(1, n)) == n
}

# /dups: each item of the JSON body looked up in the body's list, a scan per item
allow if {
	input.parsed_path[0] == "dups"
	some v in input.parsed_body.items
	v in input.parsed_body.items
	v < 0
}

# /spin/N compares N*N pairs without allocating per pair: time grows, memory does not.
allow if {
	input.parsed_path[0] == "spin"
	n := to_number(input.parsed_path[1])
	some x in numbers.range(1, n)
	some y in numbers.range(1, n)
	x == y
	x < 0
}
`;

const MiB = 1024 * 1024;

function status(res: CheckResponse): number | undefined {
  return res.deniedResponse?.status?.code ?? (res.okResponse !== undefined ? 200 : undefined);
}

async function metricsText(t: TestSidecar): Promise<string> {
  return (await fetch(`${t.adminUrl}/metrics`)).text();
}

/** The value of one sample (name with its labels, as printed), or 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('memory cap (policy.limits.memoryMiB)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      // fuel out of reach: this suite is about memory
      config: { policy: { limits: { memoryMiB: 16, fuel: 2_000_000_000 } } },
    });
  });
  afterAll(async () => t?.close());

  it('answers 503 for an evaluation that exhausts the memory, then answers the next check correctly', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/grow/1000' })))).toBe(200);
    const before = await metricsText(t);

    const exhausted = await t.client.check(checkRequest({ path: '/grow/2000000' }));
    expect(status(exhausted)).toBe(503);

    expect(status(await t.client.check(checkRequest({ path: '/ok' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/grow/1000' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/other' })))).toBe(403);

    const after = await metricsText(t);
    const failures = 'portcullis_policy_eval_failures_total{reason="memory"}';
    const resets = 'portcullis_policy_instance_resets_total{reason="failure"}';
    expect(sample(after, failures) - sample(before, failures)).toBe(1);
    expect(sample(after, resets) - sample(before, resets)).toBe(1);
    expect(sample(after, 'portcullis_checks_total{result="unavailable",reason="policy_error"}')).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('gives the memory back: the instance after a failure starts again at its initial size', async () => {
    await t.client.check(checkRequest({ path: '/grow/2000000' }));
    const bytes = sample(await metricsText(t), 'portcullis_policy_memory_bytes');
    expect(bytes).toBeGreaterThan(0);
    // The failed evaluation had grown the memory to the 16 MiB cap; a fresh instance starts at 128 KiB.
    expect(bytes).toBeLessThanOrEqual(2 * MiB);
  });

  it('keeps /readyz and a concurrent check healthy while one check exhausts the memory', async () => {
    const [exhausted, normal] = await Promise.all([
      t.client.check(checkRequest({ path: '/grow/2000000' })),
      t.client.check(checkRequest({ path: '/ok' })),
    ]);
    expect(status(exhausted)).toBe(503);
    expect(status(normal)).toBe(200);
    expect((await fetch(`${t.adminUrl}/readyz`)).status).toBe(200);
  });

  it('names the cap in the decision log', async () => {
    await t.client.check(checkRequest({ path: '/grow/2000000' }));
    const line = t.logs.filter((l) => l['reason'] === 'policy_error').at(-1);
    expect(String(line?.['detail'])).toContain('policy.limits.memoryMiB');
  });
});

describe('fuel (policy.limits.fuel)', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/authz.rego': POLICY },
      config: { policy: { limits: { fuel: 100_000 } } },
    });
  });
  afterAll(async () => t?.close());

  it('ends a runaway evaluation with 503 and answers a check sent with it once the runaway stops', async () => {
    expect(status(await t.client.check(checkRequest({ path: '/spin/100' })))).toBe(403);
    const before = await metricsText(t);
    // 4,000 x 4,000 pairs: 16 million steps, far past the budget; little memory.
    const [runaway, normal] = await Promise.all([
      t.client.check(checkRequest({ path: '/spin/4000' })),
      t.client.check(checkRequest({ path: '/ok' })),
    ]);
    expect(status(runaway)).toBe(503);
    expect(status(normal)).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/spin/100' })))).toBe(403);

    const after = await metricsText(t);
    const failures = 'portcullis_policy_eval_failures_total{reason="fuel"}';
    expect(sample(after, failures) - sample(before, failures)).toBe(1);
    expect(sample(after, 'portcullis_policy_eval_failures_total{reason="memory"}')).toBe(0);
    expect(sample(after, 'portcullis_policy_memory_bytes')).toBeLessThanOrEqual(2 * MiB);
    const line = t.logs.filter((l) => l['reason'] === 'policy_error').at(-1);
    expect(String(line?.['detail'])).toContain('policy.limits.fuel');
  });

  it('charges `x in list` for the elements it scans: a quadratic lookup over the request body ends with 503', async () => {
    const body = (n: number) => JSON.stringify({ items: Array.from({ length: n }, (_, i) => i) });
    const post = (n: number) =>
      checkRequest({ method: 'POST', path: '/dups', headers: { 'content-type': 'application/json' }, body: body(n) });
    const before = await metricsText(t);
    expect(status(await t.client.check(post(500)))).toBe(403);
    // 20,000 items: 20,000 lookups scanning 20,000 each; 312 steps apiece, far past the budget of 100,000
    expect(status(await t.client.check(post(20_000)))).toBe(503);
    const after = await metricsText(t);
    const failures = 'portcullis_policy_eval_failures_total{reason="fuel"}';
    expect(sample(after, failures) - sample(before, failures)).toBe(1);
  });

  it('charges numbers.range one step per number: a range past the budget fails before it is built', async () => {
    const before = await metricsText(t);
    // No loop over the range: only the range's own charge can exceed the budget of 100,000.
    expect(status(await t.client.check(checkRequest({ path: '/size/50000' })))).toBe(200);
    expect(status(await t.client.check(checkRequest({ path: '/size/1000000' })))).toBe(503);
    // The runaway: count([x | some x in numbers.range(1, 1e7)]).
    expect(status(await t.client.check(checkRequest({ path: '/grow/10000000' })))).toBe(503);
    expect(status(await t.client.check(checkRequest({ path: '/grow/1000' })))).toBe(200);
    const after = await metricsText(t);
    const failures = 'portcullis_policy_eval_failures_total{reason="fuel"}';
    expect(sample(after, failures) - sample(before, failures)).toBe(2);
  });
});

describe('a module without fuel checks (as `opa build` emits)', () => {
  let t: TestSidecar;
  let dir: string;
  beforeAll(async () => {
    const { wasm } = compileRego([{ path: 'authz.rego', source: POLICY }], {
      entrypoints: ['envoy/authz/allow'],
      fuel: false,
    });
    dir = makeTempDir();
    writeFileSync(join(dir, 'policy.wasm'), wasm);
    t = await startTestSidecar({
      config: { policy: { path: join(dir, 'policy.wasm'), limits: { fuel: 1_000, memoryMiB: 16 } } },
    });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says at load that fuel does not bound it', () => {
    expect(t.logs.some((l) => String(l['msg']).includes('no fuel checks'))).toBe(true);
  });

  it('is not stopped by fuel but still by the memory cap, and recovers from it', async () => {
    // 200 x 200 pairs: 40 times the budget of a metered module
    expect(status(await t.client.check(checkRequest({ path: '/spin/200' })))).toBe(403);
    expect(status(await t.client.check(checkRequest({ path: '/grow/2000000' })))).toBe(503);
    expect(status(await t.client.check(checkRequest({ path: '/ok' })))).toBe(200);
    const text = await metricsText(t);
    expect(sample(text, 'portcullis_policy_eval_failures_total{reason="memory"}')).toBe(1);
    expect(sample(text, 'portcullis_policy_eval_failures_total{reason="fuel"}')).toBe(0);
  });
});
