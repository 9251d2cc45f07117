// `portcullis serve` on SIGTERM under steady check load: it turns unready at once (gRPC health NOT_SERVING,
// /readyz 503) but answers every check for shutdown.delaySeconds, then stops accepting, finishes what is in
// flight, closes the store and exits 0 within delay + timeout.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, createTestClient, type TestClient } from '../helpers/checkClient.js';
import { freePort, spawnCli, type CliProcess } from '../helpers/process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const DELAY_SECONDS = 2;
const TIMEOUT_SECONDS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  sentAt: number;
  answeredAt: number;
  ok: boolean;
  detail: string;
}

describe('serve on SIGTERM', () => {
  let redis: RedisServer;
  let serve: CliProcess;
  let client: TestClient;
  let admin: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    const grpcPort = await freePort();
    const adminPort = await freePort();
    admin = `http://127.0.0.1:${adminPort}`;
    const dir = makeTempDir();
    writeFiles(dir, {
      'policies/authz.rego': ALLOW_ALL,
      'c.yaml': [
        `grpc: { address: 127.0.0.1:${grpcPort} }`,
        `admin: { address: 127.0.0.1:${adminPort} }`,
        `shutdown: { delaySeconds: ${DELAY_SECONDS}, timeoutSeconds: ${TIMEOUT_SECONDS} }`,
        `redis: { url: "${redis.url}", keyPrefix: "shutdown:", commandTimeoutMs: 500 }`,
        'rateLimits: [{ name: all, key: [request.method], limit: 1000000, periodSeconds: 60 }]',
        `policy: { path: ${join(dir, 'policies')}, watch: false }`,
      ].join('\n'),
    });
    serve = spawnCli(['serve', '--config', join(dir, 'c.yaml')]);
    await serve.waitForOutput(/portcullis serving/);
    client = createTestClient(grpcPort);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    await redis?.dispose();
  });

  it(
    'keeps answering checks through the delay while unready, then exits 0 within delay + timeout',
    { timeout: 60_000 },
    async () => {
      const answers: Answer[] = [];
      let running = true;
      const loop = async (): Promise<void> => {
        while (running) {
          const sentAt = Date.now();
          try {
            const res = await client.check(checkRequest({ path: '/api/orders' }));
            answers.push({
              sentAt,
              answeredAt: Date.now(),
              ok: res.status?.code === 0,
              detail: JSON.stringify(res.status),
            });
          } catch (error) {
            answers.push({ sentAt, answeredAt: Date.now(), ok: false, detail: String(error) });
          }
          await sleep(5);
        }
      };
      const loops = Array.from({ length: 4 }, loop);
      try {
        while (answers.filter((a) => a.ok).length < 20) await sleep(20);
        expect((await fetch(`${admin}/readyz`)).status).toBe(200);

        const signalledAt = Date.now();
        serve.child.kill('SIGTERM');
        // Unready on both protocols within the delay.
        let readyz = 200;
        while (readyz === 200) {
          readyz = (await fetch(`${admin}/readyz`)).status;
          if (readyz === 200) await sleep(20);
        }
        const unreadyAt = Date.now();
        expect(readyz).toBe(503);
        expect((await client.healthCheck('')).status).toBe(2);
        expect((await client.healthCheck('envoy.service.auth.v3.Authorization')).status).toBe(2);
        expect(unreadyAt - signalledAt).toBeLessThan(DELAY_SECONDS * 1000);

        const code = await serve.exited;
        const exitedAt = Date.now();
        running = false;
        await Promise.all(loops);

        expect(code).toBe(0);
        expect(exitedAt - signalledAt).toBeLessThan((DELAY_SECONDS + TIMEOUT_SECONDS) * 1000);
        // It did wait for the delay before stopping.
        expect(exitedAt - signalledAt).toBeGreaterThanOrEqual(DELAY_SECONDS * 1000);
        // Every check sent during the delay (less a margin for a busy machine) was answered and allowed.
        const duringDelay = answers.filter(
          (a) => a.sentAt >= signalledAt && a.sentAt < signalledAt + DELAY_SECONDS * 1000 - 500,
        );
        expect(duringDelay.length).toBeGreaterThan(10);
        expect(duringDelay.filter((a) => !a.ok)).toEqual([]);
        expect(answers.filter((a) => a.sentAt < signalledAt && !a.ok)).toEqual([]);
        expect(serve.stdout()).toMatch(/unready; still answering checks for shutdown\.delaySeconds/);
        expect(serve.stdout()).toContain('portcullis stopped');
      } finally {
        running = false;
        await Promise.all(loops);
      }
    },
  );
});
