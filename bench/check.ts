// Whole-check benchmark: checks/s and latency percentiles through the real gRPC server (Envoy's protos),
// with the default policy (./policies), JWT verification (static JWKS), the denylist and one rate-limit
// rule on the in-process store. Then, if `h2load` is installed, the same Check as raw gRPC frames from
// h2load. Prints figures; asserts nothing.
//   npm run bench:check               (CHECKS=20000 CONCURRENCY=64 to change the load)
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import { buildPolicyInput } from '../src/input/buildInput.js';
import type { DecodedAttributes } from '../src/input/checkRequest.js';
import { toRequestView } from '../src/input/requestView.js';
import { loadProtos } from '../src/server/protos.js';
import { startSidecar } from '../src/server/sidecar.js';
import { checkRequest, createTestClient } from '../test/helpers/checkClient.js';
import { createTestIssuer } from '../test/helpers/tokens.js';

const CHECKS = Number(process.env.CHECKS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const USERS = 500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
const issuer = await createTestIssuer();
const config = configSchema.parse({
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '127.0.0.1:0' },
  jwt: { providers: [issuer.provider(issuer.writeJwksFile(dir))] },
  rateLimits: [{ name: 'per-user', key: ['jwt.sub'], limit: 1_000_000, periodSeconds: 60 }],
  policy: { path: './policies', watch: false },
  decisionLog: { enabled: process.env.DECISION_LOG === '1' },
});
const compileStart = performance.now();
const sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }), processMetrics: false });
console.log(`start-up (policy compile + load): ${(performance.now() - compileStart).toFixed(0)} ms`);

const requests = await Promise.all(
  Array.from({ length: USERS }, async (_, i) =>
    checkRequest({
      method: 'GET',
      path: `/api/orders/${i}?expand=items`,
      headers: { authorization: `Bearer ${await issuer.sign({ sub: `user-${i}`, jti: `j-${i}`, roles: ['viewer'] })}` },
    }),
  ),
);
const client = createTestClient(sidecar.grpcPort);

// The sidecar's own per-check work outside the stages benchmarked elsewhere (bench:identity, bench:limits,
// bench:policy): request view + policy input (path, query, body, protobuf-JSON attributes).
{
  const attributes = (requests[0] as { attributes: DecodedAttributes }).attributes;
  const rounds = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) buildPolicyInput(attributes, toRequestView(attributes), null);
  console.log(`request view + policy input: ${(((performance.now() - t0) / rounds) * 1000).toFixed(1)} µs per check`);
}

async function run(total: number): Promise<{ seconds: number; latencies: number[]; statuses: Map<number, number> }> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const request = requests[next++ % requests.length];
        const t0 = performance.now();
        const response = await client.check(request);
        latencies.push(performance.now() - t0);
        const code = response.status?.code ?? -1;
        statuses.set(code, (statuses.get(code) ?? 0) + 1);
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latencies: latencies.sort((a, b) => a - b), statuses };
}

await run(Math.min(2_000, CHECKS)); // warm-up: JIT, verified-token cache
const result = await run(CHECKS);
console.log(
  `grpc-js client, ${CHECKS} checks, concurrency ${CONCURRENCY}: ${(CHECKS / result.seconds).toFixed(0)} checks/s, ` +
    `p50 ${percentile(result.latencies, 0.5).toFixed(2)} ms, p99 ${percentile(result.latencies, 0.99).toFixed(2)} ms ` +
    `(grpc status codes: ${JSON.stringify(Object.fromEntries(result.statuses))})`,
);
client.close();

// h2load speaks HTTP/2; a unary gRPC call is a POST with a 5-byte length prefix before the protobuf body.
const h2load = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
if (h2load.status === 0) {
  const message = loadProtos().authorization['Check']!.requestSerialize(requests[0]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  frame.writeUInt32BE(message.length, 1);
  const bodyFile = join(dir, 'check.bin');
  writeFileSync(bodyFile, frame);
  // Asynchronous: the sidecar under test runs in this process and must keep its event loop.
  const out = await promisify(execFile)(
    'h2load',
    [
      '-n', String(CHECKS), '-c', '4', '-m', String(Math.max(1, Math.floor(CONCURRENCY / 4))),
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', bodyFile,
      `http://127.0.0.1:${sidecar.grpcPort}/envoy.service.auth.v3.Authorization/Check`,
    ],
    { encoding: 'utf8' },
  ).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
  const lines = `${out.stdout}\n${out.stderr}`
    .split('\n')
    .filter((l) => /^(finished in|requests:|status codes:|time for request:|req\/s)/.test(l.trim()));
  console.log(`h2load, same Check (one token), 4 connections x ${Math.max(1, Math.floor(CONCURRENCY / 4))} streams:`);
  for (const line of lines) console.log(`  ${line.trim()}`);
} else {
  console.log('h2load not installed: skipped (apt-get install nghttp2-client)');
}

await sidecar.close();
rmSync(dir, { recursive: true, force: true });
