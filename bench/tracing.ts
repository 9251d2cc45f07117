// Tracing's cost per check, on the pipeline itself (no gRPC, trivial stages and a constant policy, so the
// figures are the pipeline's own work plus tracing's): tracing off (no `tracing` config), on but not sampled
// (sampleRatio 0), and on and sampled, exporting over OTLP/HTTP to a sink in this process. Variants alternate in
// rounds and each reports its median round, so a noisy neighbour on a shared machine hits them alike. Prints
// figures; asserts nothing.
//   npm run bench:tracing          (CHECKS=20000 ROUNDS=7 to change the load)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { DecodedCheckRequest } from '../src/input/checkRequest.js';
import { createCheckPipeline, type CheckPipeline } from '../src/server/pipeline.js';
import { createDecisionLogger } from '../src/telemetry/decisionLog.js';
import { loadTracer, type CheckTracer } from '../src/telemetry/tracing.js';
import { checkRequest } from '../test/helpers/checkClient.js';

const CHECKS = Number(process.env.CHECKS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const logger = pino({ level: 'silent' });

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

function pipeline(tracer: CheckTracer | null): CheckPipeline {
  return createCheckPipeline({
    identity: { verify: () => Promise.resolve({ kind: 'anonymous' }), close: () => Promise.resolve() },
    limits: {
      evaluate: () => Promise.resolve({ kind: 'pass', headers: {} }),
      authGate: () => Promise.resolve({ kind: 'pass' }),
      authFailed: () => undefined,
    },
    policy: () => ({ revision: 'bench', evaluate: () => ({ defined: true, value: true }) }),
    logger,
    decisionLog: createDecisionLogger(logger, {
      enabled: false,
      includeInput: false,
      secrets: { headers: new Set(), queryParameters: new Set() },
    }),
    observeCheck: () => undefined,
    observePolicyEval: () => undefined,
    tracer,
  });
}

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const untraced = checkRequest({ path: '/api/orders/1?expand=items' }) as DecodedCheckRequest;
const traced = checkRequest({ path: '/api/orders/1?expand=items', headers: { traceparent } }) as DecodedCheckRequest;

const unsampled = await loadTracer({ otlpEndpoint: endpoint, serviceName: 'bench', sampleRatio: 0 }, logger);
const sampled = await loadTracer({ otlpEndpoint: endpoint, serviceName: 'bench', sampleRatio: 1 }, logger);
const variants: Array<{ name: string; check: CheckPipeline; request: DecodedCheckRequest }> = [
  { name: 'tracing off', check: pipeline(null), request: traced },
  { name: 'on, not sampled (sampleRatio 0, no traceparent)', check: pipeline(unsampled), request: untraced },
  { name: 'on, sampled (traceparent flag 01), exported', check: pipeline(sampled), request: traced },
];

const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let round = 0; round <= ROUNDS; round++) {
  for (const variant of variants) {
    const t0 = performance.now();
    for (let i = 0; i < CHECKS; i++) await variant.check(variant.request);
    const micros = ((performance.now() - t0) / CHECKS) * 1000;
    if (round > 0) times.get(variant.name)!.push(micros); // round 0 warms up
  }
}
console.log(`pipeline per check, median of ${ROUNDS} rounds of ${CHECKS} checks (trivial stages, constant policy):`);
for (const [name, list] of times) {
  const sorted = [...list].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`  ${name}: ${median.toFixed(2)} µs (min ${sorted[0]!.toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)})`);
}
await unsampled?.shutdown();
await sampled?.shutdown();
sink.close();
