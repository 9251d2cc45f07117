// OpenAPI contract stage benchmark: the per-check cost of matching a request to an operation and
// validating its parameters and body, for typical operations of the test petstore (test/fixtures/openapi),
// with enforceScopes on and the real prom-client counters. Prints figures; asserts nothing.
//   npm run bench:openapi               (SAMPLES=50000 to change the number of timed calls per case)
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createContractStage } from '../src/contract/index.js';
import type { RequestBody } from '../src/contract/types.js';
import type { Identity } from '../src/identity/types.js';
import type { HttpRequestView } from '../src/input/types.js';
import { createMetrics } from '../src/telemetry/metrics.js';

const SAMPLES = Number(process.env.SAMPLES ?? 50_000);
const REQUEST_ID = '3f1c0a52-5b1e-4a36-9a8e-8e8a3c1f6f10';

const metrics = createMetrics({ processMetrics: false });
const loadStart = performance.now();
const stage = await createContractStage(
  { specs: ['test/fixtures/openapi/petstore.yaml'], mode: 'enforce', unknownOperations: 'allow', enforceScopes: true },
  {
    logger: pino({ level: 'silent' }),
    countRequest: (operation, result) => metrics.openapiRequests.inc({ operation, result }),
    countUnknown: (method) => metrics.unknownOperations.inc({ method }),
    countReload: (result) => metrics.openapiReloads.inc({ result }),
  },
);
console.log(
  `load (parse, bundle, check against the OpenAPI schema, compile validators): ${(performance.now() - loadStart).toFixed(0)} ms`,
);

const identity: Identity = {
  provider: 'corp',
  subject: 'u1',
  claims: { sub: 'u1', scope: 'pets:read pets:write' },
  token_id: null,
};
const view = (method: string, path: string, headers: Record<string, string> = {}): HttpRequestView => ({
  method,
  path,
  headers: { ':authority': 'pets.example.com', 'x-request-id': REQUEST_ID, 'user-agent': 'bench', ...headers },
  sourceAddress: '10.0.0.7',
});
const json = JSON.stringify({
  name: 'Rex',
  kind: { type: 'dog', barks: true },
  birthday: '2020-01-02',
  tags: ['good'],
});

const cases: Array<{ name: string; request: HttpRequestView; body: RequestBody | null; expect: string }> = [
  {
    name: 'GET /pets/{petId}: path + cookie',
    request: view('GET', '/api/v1/pets/42', { cookie: 'session=abcdefghij; theme=dark' }),
    body: null,
    expect: 'pass',
  },
  {
    name: 'GET /pets: query (int32, enum list) + header (uuid)',
    request: view('GET', '/api/v1/pets?limit=10&status=available,sold'),
    body: null,
    expect: 'pass',
  },
  {
    name: 'POST /pets: JSON body (oneOf, date, 5 fields)',
    request: view('POST', '/api/v1/pets', {
      'content-type': 'application/json',
      'content-length': String(json.length),
    }),
    body: { bytes: Buffer.from(json), truncated: false },
    expect: 'pass',
  },
  {
    name: 'GET /pets?limit=1000: invalid (problem details)',
    request: view('GET', '/api/v1/pets?limit=1000'),
    body: null,
    expect: 'invalid',
  },
  {
    name: 'GET /shadow/123: unknown (inventory + counter)',
    request: view('GET', '/api/v1/shadow/123/export'),
    body: null,
    expect: 'pass',
  },
];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

for (const c of cases) {
  const outcome = stage.evaluate(c.request, c.body, identity);
  if (outcome.kind !== c.expect) throw new Error(`${c.name}: expected ${c.expect}, got ${JSON.stringify(outcome)}`);
  for (let i = 0; i < 20_000; i++) stage.evaluate(c.request, c.body, identity); // JIT warm-up
  const times = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    stage.evaluate(c.request, c.body, identity);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  times.sort();
  console.log(`${c.name}: p50 ${percentile(times, 0.5).toFixed(2)} µs, p99 ${percentile(times, 0.99).toFixed(2)} µs`);
}
stage.close();
