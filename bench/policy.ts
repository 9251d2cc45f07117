// Policy benchmark: compile time of ./policies and evaluation throughput/latency of a realistic RBAC
// decision object, through the same SDK the sidecar uses. Prints figures; asserts nothing.
//   npm run bench:policy
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import opa from '@open-policy-agent/opa-wasm';
import { compileRego } from '@portcullis/rego-wasm';
import { customBuiltins } from '@portcullis/rego-wasm/builtins';
import { readPolicyDirectory } from '../src/policy/source.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

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
  "response_headers_to_add": {"x-policy": "rbac"},
  "http_status": status,
}

status := 200 if allow
else := 403
`;

const data = {
  roles: {
    admin: ['get:orders', 'post:orders', 'delete:orders', 'get:users', 'post:users'],
    editor: ['get:orders', 'post:orders'],
    viewer: ['get:orders', 'get:users'],
  },
};

const input = {
  attributes: {
    request: { http: { method: 'POST', path: '/api/orders/42', headers: { 'content-type': 'application/json' } } },
    source: { address: { socketAddress: { address: '10.0.0.7', portValue: 51234 } } },
  },
  parsed_path: ['api', 'orders', '42'],
  parsed_query: {},
  identity: {
    provider: 'corp',
    subject: 'alice',
    claims: { sub: 'alice', roles: ['viewer', 'editor'] },
    token_id: 'j1',
  },
};

async function main(): Promise<void> {
  const sources = (await readPolicyDirectory('policies')).sources.map((source) => ({
    ...source,
    path: relative(process.cwd(), source.path),
  }));
  const compileRuns = 5;
  let compileMs = Infinity;
  for (let i = 0; i < compileRuns; i++) {
    const t0 = performance.now();
    compileRego(sources, { entrypoints: ['envoy/authz/allow'] });
    compileMs = Math.min(compileMs, performance.now() - t0);
  }
  console.log(`compile policies/ (${sources.length} files): best of ${compileRuns} ${compileMs.toFixed(1)} ms`);

  const { wasm } = compileRego([{ path: 'rbac.rego', source: RBAC }], { entrypoints: ['bench/rbac/decision'] });
  console.log(`rbac module: ${(wasm.byteLength / 1024).toFixed(1)} KiB`);
  const policy = await opa.loadPolicy(wasm, undefined, customBuiltins);
  policy.setData(data);
  const first = policy.evaluate(input, 'bench/rbac/decision');
  console.log(`rbac decision: ${JSON.stringify(first)}`);

  for (let i = 0; i < 2_000; i++) policy.evaluate(input, 'bench/rbac/decision');
  const n = 20_000;
  const samples = new Array<number>(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    policy.evaluate(input, 'bench/rbac/decision');
    samples[i] = performance.now() - t0;
  }
  const total = performance.now() - start;
  samples.sort((a, b) => a - b);
  console.log(
    `rbac eval: ${Math.round((n / total) * 1000)} evals/s, p50 ${(percentile(samples, 0.5) * 1000).toFixed(1)} µs, p99 ${(percentile(samples, 0.99) * 1000).toFixed(1)} µs (n=${n})`,
  );
}

await main();
