// Real redis-server processes for tests: standalone, a 3-master Cluster and a Sentinel setup, each on free
// ports in a temporary directory, stopped and removed by `stop()` (and killed if the test process exits).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port; with `alsoFree`, a port whose port+offset is free too (Cluster's bus port is port+10000). */
export async function freePort(alsoFreeOffset?: number): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (alsoFreeOffset === undefined) return port;
    if (port + alsoFreeOffset < 65536 && (await portIsFree(port + alsoFreeOffset))) return port;
  }
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisServer {
  port: number;
  url: string;
  /** Stop the process abruptly (SIGKILL), as a crash or a network cut looks to clients. */
  stop(): Promise<void>;
  /** Start it again on the same port (empty: no persistence); a no-op while it runs. */
  start(): Promise<void>;
  /** Freeze the process (SIGSTOP): connections stay open but nothing answers, like a hung server. */
  pause(): void;
  resume(): void;
  /** Stop for good and remove the temporary directory the harness made. */
  dispose(): Promise<void>;
}

export async function startRedisServer(
  options: { port?: number; args?: string[]; dir?: string } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'portcullis-redis-')));
  let child: ChildProcess | null = null;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child !== null && child.exitCode === null) return;
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(options.args ?? []),
      ];
      const started = spawn('redis-server', args, { stdio: 'ignore' });
      child = started;
      live.add(started);
      started.once('exit', () => live.delete(started));
      await waitFor(`redis-server on ${port}`, async () => (await redisCli(port, 'ping')) === 'PONG');
    },
    async stop() {
      const running = child;
      if (running === null || running.exitCode !== null) return;
      child = null;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGKILL');
      await exited;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async dispose() {
      await server.stop();
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export interface RedisCluster {
  urls: string[];
  nodes: RedisServer[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cluster-'));
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort(10_000);
    nodes.push(
      await startRedisServer({
        port,
        dir,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
        ],
      }),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const node of nodes) {
    await waitFor(`cluster state ok on ${node.port}`, async () =>
      (await redisCli(node.port, 'cluster', 'info')).includes('cluster_state:ok'),
    );
  }
  // cluster_state:ok on each node comes before every node knows every other's slots; clients reading a stale
  // map get MOVED replies. Wait until all nodes describe the same slot map.
  await waitFor('every cluster node to agree on the slot map', async () => {
    const maps = await Promise.all(nodes.map((n) => redisCli(n.port, 'cluster', 'slots')));
    const normalised = maps.map((m) =>
      m
        .split('\n')
        .filter((l) => !/^[0-9a-f]{40}$/.test(l))
        .join('|'),
    );
    return normalised.every((m) => m === normalised[0]);
  });
  return {
    urls: nodes.map((n) => n.url),
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisSentinel {
  master: RedisServer;
  /** a replica of the master when started with `replica: true`; the sentinel may promote it */
  replica: RedisServer | null;
  /** port of the master the sentinel names now */
  currentMasterPort(): Promise<number>;
  /** host:port of the sentinel, as redis.sentinel.sentinels takes it */
  sentinels: string[];
  name: string;
  stop(): Promise<void>;
}

export async function startRedisSentinel(options: { name?: string; replica?: boolean } = {}): Promise<RedisSentinel> {
  const name = options.name ?? 'mymaster';
  const master = await startRedisServer();
  let replica: RedisServer | null = null;
  if (options.replica === true) {
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    await waitFor('replica in sync', async () =>
      (await redisCli(replica!.port, 'info', 'replication')).includes('master_link_status:up'),
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-sentinel-'));
  const port = await freePort();
  const configFile = join(dir, 'sentinel.conf');
  await writeFile(
    configFile,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel = spawn('redis-server', [configFile, '--sentinel'], { stdio: 'ignore' });
  live.add(sentinel);
  sentinel.once('exit', () => live.delete(sentinel));
  await waitFor(`sentinel on ${port}`, async () =>
    (await redisCli(port, 'sentinel', 'get-master-addr-by-name', name)).includes(String(master.port)),
  );
  if (replica !== null) {
    await waitFor('sentinel to discover the replica', async () =>
      (await redisCli(port, 'sentinel', 'replicas', name)).includes(String(replica!.port)),
    );
  }
  return {
    master,
    replica,
    async currentMasterPort() {
      return Number((await redisCli(port, 'sentinel', 'get-master-addr-by-name', name)).split('\n')[1]);
    },
    sentinels: [`127.0.0.1:${port}`],
    name,
    async stop() {
      if (sentinel.exitCode === null) {
        const exited = new Promise((r) => sentinel.once('exit', r));
        sentinel.kill('SIGKILL');
        await exited;
      }
      await master.dispose();
      await replica?.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
