// `npm run fuzz`: the input fuzzer of test/e2e/input-fuzz.test.ts, run long against a real sidecar over gRPC
// (not in CI). FUZZ_REQUESTS (default 100000), FUZZ_SEED (default 1), FUZZ_CONCURRENCY (default 8).
// Prints outcome counts, failures, latency and memory; exits 1 when any request broke the input contract.
import { startTestSidecar } from '../helpers/sidecar.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import {
  BODY_ERRORS,
  DOCUMENTED_INPUT_KEYS,
  FUZZ_POLICY,
  fuzzRequest,
  mustBeRefused,
  seededRandom,
} from './requests.js';

const total = Number(process.env['FUZZ_REQUESTS'] ?? 100_000);
const seed = Number(process.env['FUZZ_SEED'] ?? 1);
const concurrency = Number(process.env['FUZZ_CONCURRENCY'] ?? 8);

function status(res: CheckResponse): number | undefined {
  return res.deniedResponse?.status?.code ?? (res.okResponse !== undefined ? 200 : undefined);
}

function judge(res: CheckResponse, method: string, path: string): string {
  const code = status(res);
  const refused = mustBeRefused(path);
  if (code === 400 && refused) return 'refused (400)';
  if (code !== 422 || refused) return `FAIL status ${code}`;
  const seen = JSON.parse(res.deniedResponse?.body ?? 'null') as Record<string, unknown>;
  const keys = (seen['keys'] as string[]).filter((k) => k !== 'source_principal');
  const ok =
    JSON.stringify(keys) === JSON.stringify(DOCUMENTED_INPUT_KEYS) &&
    seen['path_is_array'] === true &&
    seen['query_is_object'] === true &&
    seen['truncated_is_boolean'] === true &&
    BODY_ERRORS.includes(seen['body_error'] as string | null) &&
    (seen['body_error'] === null || seen['body_is_null'] === true) &&
    seen['method'] === method;
  return ok ? `input, body_error=${String(seen['body_error'])}` : 'FAIL wrong input';
}

const t = await startTestSidecar({
  files: { 'policies/fuzz.rego': FUZZ_POLICY },
  config: { policy: { entrypoint: 'fuzz/decision' }, decisionLog: { enabled: false }, logLevel: 'warn' },
});
const r = seededRandom(seed);
const counts = new Map<string, number>();
const failures: string[] = [];
const latencies: number[] = [];
const slowest: Array<{ ms: number; what: string }> = [];
let grpcErrors = 0;
let next = 0;
const rssBefore = process.memoryUsage().rss;
const started = performance.now();

/** content-type and body size of a generated request, for the slowest-requests list */
function describe(request: unknown): string {
  const http = (request as { attributes: { request: { http: Record<string, unknown> } } }).attributes.request.http;
  const headers = (http['headers'] ?? {}) as Record<string, string>;
  const body = String(http['body'] ?? http['rawBody'] ?? '');
  return `${headers['content-type'] ?? '(no content-type)'}, body ${body.length} chars, path ${String(http['path']).length} chars`;
}

async function worker(): Promise<void> {
  while (next < total) {
    const index = next++;
    const { request, method, path } = fuzzRequest(r);
    const begin = performance.now();
    let outcome: string;
    try {
      outcome = judge(await t.client.check(request), method, path);
    } catch (error) {
      grpcErrors++;
      outcome = `FAIL gRPC ${(error as { code?: number }).code ?? '?'}`;
    }
    const ms = performance.now() - begin;
    latencies.push(ms);
    if (slowest.length < 5 || ms > slowest[slowest.length - 1]!.ms) {
      slowest.push({ ms, what: `#${index} ${describe(request)}` });
      slowest.sort((a, b) => b.ms - a.ms).splice(5);
    }
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    if (outcome.startsWith('FAIL') && failures.length < 20)
      failures.push(`#${index} ${method} ${JSON.stringify(path).slice(0, 100)}: ${outcome}`);
    if (index > 0 && index % 10_000 === 0) process.stderr.write(`${index} requests...\n`);
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2);
const after = await t.client.check(checkRequest({ path: '/after' }));
const rssAfter = process.memoryUsage().rss;
await t.close();

console.log(`input fuzz: ${total} CheckRequests over gRPC, seed ${seed}, concurrency ${concurrency}`);
console.log(
  `  ${seconds.toFixed(1)} s, ${(total / seconds).toFixed(0)} checks/s; latency ms p50 ${pct(50)} p99 ${pct(99)} max ${pct(100)}`,
);
console.log(
  `  rss ${(rssBefore / 2 ** 20).toFixed(0)} MiB -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB; a plain check afterwards: ${status(after)}`,
);
console.log(
  `  slowest (ms, in flight with ${concurrency - 1} others): ${slowest.map((s) => `${s.ms.toFixed(0)} ${s.what}`).join('; ')}`,
);
for (const [outcome, n] of [...counts].sort((a, b) => b[1] - a[1]))
  console.log(`  ${String(n).padStart(7)}  ${outcome}`);
const failed = [...counts].filter(([o]) => o.startsWith('FAIL')).reduce((sum, [, n]) => sum + n, 0);
console.log(`  failures: ${failed} (gRPC errors ${grpcErrors})`);
for (const line of failures) console.log(`    ${line}`);
process.exit(failed === 0 && status(after) === 422 ? 0 : 1);
