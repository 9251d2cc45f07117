// Evaluation budget benchmark (policy.limits). Prints figures; asserts nothing.
//   npm run bench:budget
// 1. What the fuel checks cost: the default policy (./policies), the RBAC decision of bench:policy and a
//    loop-heavy policy, each compiled with and without fuel checks and evaluated in alternating rounds in one
//    run (so both see the same machine load).
// 2. A runaway evaluation through the real sidecar and gRPC: how long it holds the event loop, when a check
//    sent at the same time is answered, and the Wasm memory and RSS afterwards; with the default limits and
//    with limits set out of reach (what happened before policy.limits existed).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { compileRego, readRegoDir, type RegoSource } from '@portcullis/rego-wasm';
import { configSchema } from '../src/config/schema.js';
import { loadEvaluator } from '../src/policy/evaluator.js';
import { DEFAULT_LIMITS, MAX_FUEL, MAX_MEMORY_MIB } from '../src/policy/limits.js';
import { startSidecar, type Sidecar } from '../src/server/sidecar.js';
import { checkRequest, createTestClient, type CheckResponse } from '../test/helpers/checkClient.js';

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const EVALS_PER_ROUND = Number(process.env.EVALS ?? 5_000);

const RBAC = `package bench.rbac
import rego.v1

default allow := false

user_roles contains role if {
  some role in input.identity.claims.roles
}

permissions contains p if {
  some role in user_roles
  some p in data.roles[role]
}

required := sprintf("%s:%s", [lower(input.attributes.request.http.method), input.parsed_path[1]])

allow if {
  input.parsed_path[0] == "api"
  required in permissions
}

decision := {
  "allowed": allow,
  "headers": {"x-user-id": input.identity.subject, "x-roles": concat(",", sort([r | some r in user_roles]))},
  "http_status": status,
}

status := 200 if allow
else := 403
`;

// 100 x 100 pairs per evaluation: the checks' worst case (a tight loop doing little else).
const LOOPS = `package bench.loops
import rego.v1

pairs := count([1 |
  some x in numbers.range(1, input.n)
  some y in numbers.range(1, input.n)
  x == y
])
`;

const RUNAWAY = `package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "ok"

# /spin/N: N*N pairs, next to no memory
allow if {
	input.parsed_path[0] == "spin"
	n := to_number(input.parsed_path[1])
	some x in numbers.range(1, n)
	some y in numbers.range(1, n)
	x == y
	x < 0
}

# /range/N: the comprehension of the issue, count([x | some x in numbers.range(1, N)])
allow if {
	input.parsed_path[0] == "range"
	n := to_number(input.parsed_path[1])
	count([x | some x in numbers.range(1, n)]) < 0
}
`;

const defaultInput = {
  attributes: { request: { http: { method: 'GET', path: '/api/orders/42', headers: {} } } },
  parsed_path: ['api', 'orders', '42'],
  parsed_query: {},
  parsed_body: null,
  identity: { provider: 'corp', subject: 'alice', claims: { sub: 'alice', roles: ['viewer'] }, token_id: 'j1' },
};
const rbacInput = {
  attributes: { request: { http: { method: 'POST', path: '/api/orders/42', headers: {} } } },
  parsed_path: ['api', 'orders', '42'],
  identity: {
    provider: 'corp',
    subject: 'alice',
    claims: { sub: 'alice', roles: ['viewer', 'editor'] },
    token_id: 'j1',
  },
};
const rbacData = {
  roles: { admin: ['get:orders', 'post:orders'], editor: ['get:orders', 'post:orders'], viewer: ['get:orders'] },
};

interface Case {
  name: string;
  sources: RegoSource[];
  entrypoint: string;
  data: unknown;
  input: unknown;
  evals: number;
}

async function evaluatorFor(c: Case, fuel: boolean) {
  const { wasm } = compileRego(c.sources, { entrypoints: [c.entrypoint], fuel });
  const evaluator = await loadEvaluator(await WebAssembly.compile(wasm), c.data, DEFAULT_LIMITS);
  return () => evaluator.evaluate(c.input, c.entrypoint);
}

async function fuelOverhead(c: Case): Promise<void> {
  const variants = { with: await evaluatorFor(c, true), without: await evaluatorFor(c, false) };
  const times: Record<'with' | 'without', number[]> = { with: [], without: [] };
  for (const run of Object.values(variants)) for (let i = 0; i < c.evals; i++) run(); // warm-up, tier-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const key of (round % 2 === 0 ? ['with', 'without'] : ['without', 'with']) as Array<'with' | 'without'>) {
      const run = variants[key];
      const t0 = performance.now();
      for (let i = 0; i < c.evals; i++) run();
      times[key].push((performance.now() - t0) / c.evals);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const m = { with: median(times.with), without: median(times.without) };
  const perSecond = (ms: number) => Math.round(1000 / ms);
  console.log(
    `${c.name}: with fuel checks ${perSecond(m.with)} evals/s (${(m.with * 1000).toFixed(1)} µs), ` +
      `without ${perSecond(m.without)} evals/s (${(m.without * 1000).toFixed(1)} µs), ` +
      `overhead ${(((m.with - m.without) / m.without) * 100).toFixed(1)}% (median of ${ROUNDS} rounds x ${c.evals})`,
  );
}

function status(res: CheckResponse): number | undefined {
  return res.deniedResponse?.status?.code ?? (res.okResponse !== undefined ? 200 : undefined);
}

async function memoryBytes(sidecar: Sidecar): Promise<number> {
  const text = await sidecar.metrics.registry.getSingleMetricAsString('portcullis_policy_memory_bytes');
  return Number(/ (\d+)$/m.exec(text)?.[1] ?? NaN);
}

async function runaway(label: string, limits: { fuel: number; memoryMiB: number }, path: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-budget-'));
  writeFileSync(join(dir, 'authz.rego'), RUNAWAY);
  const config = configSchema.parse({
    grpc: { address: '127.0.0.1:0' },
    admin: { address: '127.0.0.1:0' },
    policy: { path: dir, watch: false, limits },
    decisionLog: { enabled: false },
  });
  const sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }), processMetrics: false });
  const client = createTestClient(sidecar.grpcPort);
  try {
    await client.check(checkRequest({ path: '/ok' }));
    const t0 = performance.now();
    const slow = client.check(checkRequest({ path })).then((res) => ({ res, ms: performance.now() - t0 }));
    // sent right behind it: waits for the runaway, as every check on this event loop would
    const normal = client.check(checkRequest({ path: '/ok' })).then((res) => ({ res, ms: performance.now() - t0 }));
    const [a, b] = await Promise.all([slow, normal]);
    // With --expose-gc (npm run bench:budget), collect first: a dropped instance's memory returns to the
    // system when V8 collects it, which it would do on its own a little later.
    (globalThis as { gc?: () => void }).gc?.();
    const rss = process.memoryUsage().rss / 2 ** 20;
    console.log(
      `${label}: ${path} answered ${status(a.res)} after ${a.ms.toFixed(0)} ms; a check sent with it answered ` +
        `${status(b.res)} after ${b.ms.toFixed(0)} ms; policy memory after ${((await memoryBytes(sidecar)) / 2 ** 20).toFixed(1)} MiB, ` +
        `process RSS ${rss.toFixed(0)} MiB`,
    );
  } finally {
    client.close();
    await sidecar.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Read as the sidecar reads a policy directory (its examples included, each in a package of its own).
const { sources: policies, data } = await readRegoDir('policies');
console.log('1. fuel checks: cost on evaluation throughput');
await fuelOverhead({
  name: 'default policy (./policies)',
  sources: policies,
  entrypoint: 'envoy/authz/allow',
  data,
  input: defaultInput,
  evals: EVALS_PER_ROUND,
});
await fuelOverhead({
  name: 'rbac decision (bench:policy)',
  sources: [{ path: 'rbac.rego', source: RBAC }],
  entrypoint: 'bench/rbac/decision',
  data: rbacData,
  input: rbacInput,
  evals: EVALS_PER_ROUND,
});
await fuelOverhead({
  name: 'tight loop, 100x100 pairs',
  sources: [{ path: 'loops.rego', source: LOOPS }],
  entrypoint: 'bench/loops/pairs',
  data: {},
  input: { n: 100 },
  evals: Math.ceil(EVALS_PER_ROUND / 50),
});

// RUNAWAY=0: the overhead figures only
if (process.env.RUNAWAY === '0') process.exit(0);
console.log(
  `\n2. runaway evaluations through the sidecar (default limits: fuel ${DEFAULT_LIMITS.fuel}, memoryMiB ${DEFAULT_LIMITS.memoryMiB})`,
);
const unbounded = { fuel: MAX_FUEL, memoryMiB: MAX_MEMORY_MIB };
await runaway('default limits', DEFAULT_LIMITS, '/spin/5000');
await runaway('limits out of reach', unbounded, '/spin/5000');
await runaway('default limits', DEFAULT_LIMITS, '/range/10000000');
await runaway('limits out of reach', unbounded, '/range/10000000');
