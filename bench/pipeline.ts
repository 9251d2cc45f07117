// The check path without the transport, in this process: bench:check's CheckRequest (decoded as the server
// decodes it) through the pipeline the sidecar builds (RS256 JWT with the verified-token cache, denylist
// and one rate limit on a real redis-server, the default policy, metrics, decision log to a silent logger), 64
// checks in flight, the answer encoded as the server encodes it, and the limits stage on its own (its Redis
// client work). CPU µs per check from process.cpuUsage over alternating rounds; the median round is the figure,
// the spread says how noisy the machine was. KB allocated per check (V8 heap, allocation.ts) does not depend on
// the machine's load. The transport (HTTP/2, gRPC framing) is what bench:check adds to these. Prints figures;
// asserts nothing.
//   npm run bench:pipeline        (ROUNDS=12 CHECKS=10000 per round; TOKENS=1000 cycles through 1,000 tokens)
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import { createIdentityStage, forwardClaimHeaderNames } from '../src/identity/index.js';
import type { DecodedCheckRequest } from '../src/input/checkRequest.js';
import type { HttpRequestView } from '../src/input/types.js';
import { createLimitsStage, createStore } from '../src/limits/index.js';
import type { LimitsDeps } from '../src/limits/types.js';
import { loadPolicyFromSettings } from '../src/policy/engine.js';
import { withCheckCodec } from '../src/server/grpcServer.js';
import { createCheckPipeline, type CheckPipeline } from '../src/server/pipeline.js';
import { loadProtos } from '../src/server/protos.js';
import { createDecisionLogger } from '../src/telemetry/decisionLog.js';
import { createMetrics } from '../src/telemetry/metrics.js';
import { startAllocationMeter } from './check/allocation.js';
import { prepareBench } from './check/setup.js';

const ROUNDS = Number(process.env.ROUNDS ?? 12);
const CHECKS = Number(process.env.CHECKS ?? 10_000);
const IN_FLIGHT = 64;

const setup = await prepareBench(Number(process.env.TOKENS ?? 1));
// A generous Redis timeout: on a loaded machine a check must not turn into a store_unavailable answer.
const config = configSchema.parse({
  ...setup.pipelineConfig,
  redis: { url: setup.redisUrl, commandTimeoutMs: 2000 },
  logLevel: 'silent',
});
const logger = pino({ level: 'silent' });
const metrics = createMetrics({ processMetrics: false });
const limitsDeps: LimitsDeps = {
  logger,
  countRateLimit: (rule, result) => metrics.rateLimitDecisions.inc({ rule, result }),
  countStoreError: () => metrics.storeErrors.inc(),
};
const store = await createStore(config, limitsDeps);
const identity = await createIdentityStage(config.jwt, {
  logger,
  countVerification: (provider, result) => metrics.jwtVerifications.inc({ provider, result }),
});
const limits = createLimitsStage(config, store, limitsDeps);
const policy = await loadPolicyFromSettings({ path: config.policy.path, entrypoint: config.policy.entrypoint });
const check: CheckPipeline = createCheckPipeline({
  identity,
  limits,
  policy: () => policy,
  logger,
  forwardHeaderNames: forwardClaimHeaderNames(config.jwt),
  input: { skipRequestBodyParse: config.input.skipRequestBodyParse },
  decisionLog: createDecisionLogger(logger, {
    enabled: config.decisionLog.enabled,
    includeInput: false,
    secrets: { headers: new Set<string>(), queryParameters: new Set<string>() },
    format: config.decisionLog.format,
    entrypoint: config.policy.entrypoint,
  }),
  policyModes: { dryRun: config.policy.dryRun, onError: config.policy.onError, onUndefined: config.policy.onUndefined },
  observeCheck: (result, reason, seconds) => {
    metrics.checks.inc({ result, reason });
    metrics.checkDuration.observe(seconds);
  },
  observePolicyEval: (seconds) => metrics.policyEvalDuration.observe(seconds),
});

// the Check method's codec as the server has it
const { requestDeserialize: decode, responseSerialize: encode } = withCheckCodec(loadProtos().authorization)['Check']!;
const messages = setup.bodies.map((body) => body.subarray(5));
const facts = Array.from({ length: 1000 }, (_, i) => ({
  facts: { jti: `jti-${i}`, subject: `user-${i}`, issuedAt: 1_700_000_000 },
  claims: { sub: `user-${i}` },
}));
const view: HttpRequestView = { method: 'GET', path: '/api/orders/1', headers: {}, sourceAddress: '10.12.7.31' };

interface Side {
  name: string;
  one(i: number): Promise<boolean>;
  rounds: number[];
  /** bytes allocated per check, per round */
  allocated: number[];
  failed: number;
}
const sides: Side[] = [
  {
    name: 'pipeline (decode + every stage + Redis client + encode)',
    one: async (i) => {
      const answer = (await check(decode(messages[i % messages.length]!) as DecodedCheckRequest)) as {
        status?: { code?: number };
      };
      encode(answer);
      return answer.status?.code === 0;
    },
    rounds: [],
    allocated: [],
    failed: 0,
  },
  {
    name: 'limits stage alone (denylist + rate limit, Redis client)',
    one: async (i) => (await limits.evaluate(view, facts[i % facts.length]!)).kind === 'pass',
    rounds: [],
    allocated: [],
    failed: 0,
  },
];

async function run(side: Side, checks: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < checks) if (!(await side.one(next++))) side.failed++;
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

for (const side of sides) await run(side, CHECKS / 2); // warm-up: JIT, caches, connections
for (let round = 0; round < ROUNDS; round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    const meter = startAllocationMeter();
    const before = process.cpuUsage();
    await run(side, CHECKS);
    const used = process.cpuUsage(before);
    side.allocated.push(meter.stop() / CHECKS);
    side.rounds.push((used.user + used.system) / CHECKS);
  }
}

const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
console.log(
  `bench:pipeline — ${setup.bodies.length} token(s), ${IN_FLIGHT} in flight, ${ROUNDS} rounds × ${CHECKS} checks, alternating; load average ${load1}; node ${process.version}`,
);
console.log('| part | CPU µs/check (median round) | min | max | KB allocated/check | not passed |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const side of sides) {
  const sorted = [...side.rounds].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  const allocated = [...side.allocated].sort((a, b) => a - b)[side.allocated.length >> 1]! / 1024;
  console.log(
    `| ${side.name} | ${median.toFixed(1)} | ${sorted[0]!.toFixed(1)} | ${sorted[sorted.length - 1]!.toFixed(1)} | ${allocated.toFixed(1)} | ${side.failed} |`,
  );
}

await store.close();
await identity.close();
await setup.dispose();
process.exit(0);
