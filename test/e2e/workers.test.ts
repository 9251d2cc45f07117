// `workers: 2`: two event loops behind one gRPC port (node:cluster). With Redis they answer checks, /metrics
// is aggregated across them, a worker that dies is replaced and counted, and SIGTERM drains all and exits 0.
// With the in-process store the configuration is refused at start-up (exit 2).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { coresFromCpuMax, resolveWorkerCount } from '../../src/server/workerCount.js';
import { onWorkerExit } from '../../src/server/workerPool.js';
import { checkRequest, createTestClient, type TestClient } from '../helpers/checkClient.js';
import { freePort, runCli, spawnCli, type CliProcess } from '../helpers/process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis.js';
import { makeTempDir, writeFiles } from '../helpers/sidecar.js';

const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(admin: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('workers: auto', () => {
  it('is the cgroup CPU quota, capped by the cores the process may use', () => {
    expect(coresFromCpuMax('max 100000\n')).toBeNull();
    expect(coresFromCpuMax('200000 100000\n')).toBe(2);
    expect(coresFromCpuMax('150000 100000')).toBe(2);
    expect(coresFromCpuMax('50000 100000')).toBe(1);
    expect(resolveWorkerCount('auto', { cpuMax: () => '200000 100000', parallelism: () => 64 })).toBe(2);
    expect(resolveWorkerCount('auto', { cpuMax: () => 'max 100000', parallelism: () => 3 })).toBe(3);
    expect(resolveWorkerCount('auto', { cpuMax: () => null, parallelism: () => 4 })).toBe(4);
    expect(resolveWorkerCount('auto', { cpuMax: () => '800000 100000', parallelism: () => 2 })).toBe(2);
    expect(resolveWorkerCount(3, { cpuMax: () => '100000 100000', parallelism: () => 1 })).toBe(3);
  });
});

describe('a worker that exits while the pool is not stopping', () => {
  it('is replaced if it was serving, whatever its exit', () => {
    expect(onWorkerExit({ wasReady: true, code: 1, signal: null }, 0)).toEqual({
      action: 'replace',
      startupKill: false,
    });
    expect(onWorkerExit({ wasReady: true, code: null, signal: 'SIGKILL' }, 2)).toEqual({
      action: 'replace',
      startupKill: false,
    });
  });
  it("stops the pool with the worker's code if it exited with an error before serving", () => {
    expect(onWorkerExit({ wasReady: false, code: 2, signal: null }, 0)).toEqual({ action: 'stop', exitCode: 2 });
    expect(onWorkerExit({ wasReady: false, code: 1, signal: null }, 0)).toEqual({ action: 'stop', exitCode: 1 });
  });
  it('is replaced if it was killed during start-up, up to three kills in a row', () => {
    expect(onWorkerExit({ wasReady: false, code: null, signal: 'SIGKILL' }, 0)).toEqual({
      action: 'replace',
      startupKill: true,
    });
    expect(onWorkerExit({ wasReady: false, code: null, signal: 'SIGKILL' }, 1)).toEqual({
      action: 'replace',
      startupKill: true,
    });
    expect(onWorkerExit({ wasReady: false, code: null, signal: 'SIGKILL' }, 2)).toEqual({
      action: 'stop',
      exitCode: 1,
    });
  });
  it('stops the pool if it exited 0 before serving (nothing to replace it for)', () => {
    expect(onWorkerExit({ wasReady: false, code: 0, signal: null }, 0)).toEqual({ action: 'stop', exitCode: 1 });
  });
});

describe('workers: 2 with the in-process store', () => {
  it('is refused at start-up with exit 2 and says why', { timeout: 60_000 }, async () => {
    const dir = makeTempDir();
    writeFiles(dir, {
      'policies/authz.rego': ALLOW_ALL,
      'c.yaml': [
        'workers: 2',
        'grpc: { address: 127.0.0.1:0 }',
        'admin: { address: 127.0.0.1:0 }',
        `policy: { path: ${join(dir, 'policies')}, watch: false }`,
      ].join('\n'),
    });
    const result = await runCli(['serve', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/workers: 2 .*needs redis/);
  });
});

describe('workers: 2 with Redis', () => {
  let redis: RedisServer;
  let serve: CliProcess;
  let client: TestClient;
  let admin: string;
  let grpcPort: number;

  beforeAll(async () => {
    redis = await startRedisServer();
    grpcPort = await freePort();
    const adminPort = await freePort();
    admin = `http://127.0.0.1:${adminPort}`;
    const dir = makeTempDir();
    writeFiles(dir, {
      'policies/authz.rego': ALLOW_ALL,
      'c.yaml': [
        'workers: 2',
        `grpc: { address: 127.0.0.1:${grpcPort} }`,
        `admin: { address: 127.0.0.1:${adminPort} }`,
        'shutdown: { delaySeconds: 0, timeoutSeconds: 5 }',
        `redis: { url: "${redis.url}", keyPrefix: "workers:" }`,
        // 10 POSTs a minute in all: exact only if both workers draw on the one budget in Redis.
        'rateLimits: [{ name: posts, when: { methods: [POST] }, key: [request.method], limit: 10, periodSeconds: 60 }]',
        `policy: { path: ${join(dir, 'policies')}, watch: false }`,
      ].join('\n'),
    });
    serve = spawnCli(['serve', '--config', join(dir, 'c.yaml')]);
    // Both workers log their own start-up line.
    await serve.waitForOutput(/portcullis serving[\s\S]*portcullis serving/);
    client = createTestClient(grpcPort);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    await redis?.dispose();
  });

  it('answers checks on the one port and aggregates /metrics across both workers', { timeout: 60_000 }, async () => {
    for (let i = 0; i < 20; i++)
      expect((await client.check(checkRequest({ path: '/api/orders' }))).status?.code ?? 0).toBe(0);
    expect(await metric(admin, 'portcullis_workers')).toBe(2);
  });

  it('keeps a rate limit exact across workers (one budget in Redis)', { timeout: 60_000 }, async () => {
    // Round-robin is per connection: eight clients, eight connections, spread over both workers.
    const clients = Array.from({ length: 8 }, () => createTestClient(grpcPort));
    try {
      const codes = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          clients[i % clients.length]!.check(checkRequest({ method: 'POST', path: '/api/orders' })),
        ),
      );
      expect(codes.filter((r) => (r.status?.code ?? 0) === 0)).toHaveLength(10);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it(
    'replaces a worker that dies, answers /metrics for the others meanwhile, and counts it',
    { timeout: 150_000 },
    async () => {
      const workerPids = () => [...serve.stdout().matchAll(/"workerPid":(\d+)/g)].map((m) => Number(m[1]));
      const first = workerPids()[0];
      expect(first).toBeDefined();
      process.kill(first!, 'SIGKILL');
      // The replacement compiles the policy before it serves (a second or more): the scrape that first shows the
      // restart comes while it starts, and answers for the one worker serving instead of waiting for it.
      const deadline = Date.now() + 120_000;
      let restarts: number | undefined;
      while ((restarts = await metric(admin, 'portcullis_worker_restarts_total').catch(() => undefined)) !== 1) {
        expect(Date.now()).toBeLessThan(deadline);
        await sleep(100);
      }
      expect(restarts).toBe(1);
      expect(await metric(admin, 'portcullis_workers')).toBe(1);
      // Killed during its start-up, before it reported ready: replaced again, not taken for a policy that fails.
      await vi.waitFor(() => expect(workerPids()).toHaveLength(3), { timeout: 10_000 });
      process.kill(workerPids()[2]!, 'SIGKILL');
      while ((await metric(admin, 'portcullis_worker_restarts_total').catch(() => undefined)) !== 2) {
        expect(Date.now()).toBeLessThan(deadline);
        await sleep(100);
      }
      expect(serve.child.exitCode).toBeNull();
      while ((await metric(admin, 'portcullis_workers').catch(() => undefined)) !== 2) {
        expect(Date.now()).toBeLessThan(deadline);
        await sleep(200);
      }
      expect(serve.stdout()).toMatch(/killed during start-up; starting a replacement/);
      expect((await client.check(checkRequest({ path: '/api/orders' }))).status?.code ?? 0).toBe(0);
    },
  );

  it('drains all workers on SIGTERM and exits 0', { timeout: 60_000 }, async () => {
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    await expect(client.check(checkRequest({ path: '/api/orders' }))).rejects.toThrow();
  });
});
