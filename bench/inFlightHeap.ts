// What the checks in flight hold on the heap: a heap snapshot of bench:check's full pipeline idle (after a
// warm-up) and one taken under closed-loop load (8 connections × 16 streams = 128 checks in flight) while Redis
// holds every command (CLIENT PAUSE), so that all 128 checks wait where a check spends most of its time, for
// the store's answer. Compared by kind of object. Every young-generation collection copies what is live, so
// these bytes per check in flight are what a collection under load costs. A snapshot is taken after a full
// collection: it holds only what is reachable at that moment. Deterministic enough to compare two trees
// (BASE=DIR runs the other tree's bench/check/server.ts the same way).
//   npm run bench:in-flight-heap   (TOP=40; DISTINCT=1: 1,000 tokens; KEEP=DIR keeps both .heapsnapshot files;
//                                   BASE=DIR)
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHeapSnapshot, selfSizeByKind, type Row } from './heapSnapshot.js';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import { distinctLoad, h2load, startServer } from './check/servers.js';
import { redisCli } from '../test/helpers/redis.js';

const TOP = Number(process.env.TOP ?? 40);
const DISTINCT = process.env.DISTINCT === '1';
const IN_FLIGHT = 8 * 16;

const setup = await prepareBench(DISTINCT ? 1000 : 1);
const configFile = setup.writeConfig('portcullis.json', {
  // the checks wait out the pause and the snapshot rather than time out
  redis: { url: setup.redisUrl, commandTimeoutMs: 60_000 },
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '127.0.0.1:0' },
  logLevel: 'silent',
});
const serverFile = join(process.env.BASE ?? '.', 'bench/check/server.ts');
const server = await startServer('portcullis', [serverFile, 'portcullis', configFile]);
const redisPort = Number(new URL(setup.redisUrl).port);
const shape = { connections: 8, streams: 16, path: CHECK_PATH, dir: setup.dir };
const load = (seconds: number) =>
  DISTINCT
    ? distinctLoad(server.port, setup.bodies, { ...shape, seconds })
    : h2load(server.port, setup.oneTokenFile, { ...shape, seconds });
await load(2); // warm-up: JIT, caches, the sessions' first streams
await new Promise((r) => setTimeout(r, 500));

const idleFile = join(setup.dir, 'idle.heapsnapshot');
const loadedFile = join(setup.dir, 'loaded.heapsnapshot');
await server.ask(`snapshot ${idleFile}`, 'SNAPSHOT');
const running = load(8);
await new Promise((r) => setTimeout(r, 2000));
await redisCli(redisPort, 'CLIENT', 'PAUSE', '4000', 'ALL');
await new Promise((r) => setTimeout(r, 500)); // every stream's check reaches the store
await server.ask(`snapshot ${loadedFile}`, 'SNAPSHOT');
await running;
if (process.env.KEEP !== undefined) {
  copyFileSync(idleFile, join(process.env.KEEP, 'idle.heapsnapshot'));
  copyFileSync(loadedFile, join(process.env.KEEP, 'loaded.heapsnapshot'));
}

const byKind = (file: string): Map<string, Row> =>
  new Map(selfSizeByKind(parseHeapSnapshot(readFileSync(file, 'utf8')), 100_000).map((row) => [row.what, row]));
const idle = byKind(idleFile);
const loaded = byKind(loadedFile);
const diff = [...loaded.values()]
  .map((row) => ({
    what: row.what,
    bytes: row.bytes - (idle.get(row.what)?.bytes ?? 0),
    count: row.count - (idle.get(row.what)?.count ?? 0),
  }))
  .sort((a, b) => b.bytes - a.bytes);
// the JavaScript heap only: not code (compiled on the way), native memory or the snapshot's synthetic nodes
const onHeap = (row: Row): boolean => !/^(code|native|synthetic)\b/.test(row.what);
const total = diff.filter(onHeap).reduce((sum, row) => sum + row.bytes, 0);
console.log(
  `bench:in-flight-heap — ${process.env.BASE ?? 'this tree'}, ${DISTINCT ? '1,000 tokens' : '1 token'}; JavaScript heap (without code) with 128 checks waiting for Redis minus idle: ${(total / 1024).toFixed(0)} KB, ${(total / IN_FLIGHT).toFixed(0)} bytes per check in flight (${IN_FLIGHT})`,
);
console.log('| kind | bytes per check in flight | objects per check in flight |');
console.log('|---|---:|---:|');
for (const row of diff.filter(onHeap).slice(0, TOP))
  console.log(`| ${row.what} | ${(row.bytes / IN_FLIGHT).toFixed(0)} | ${(row.count / IN_FLIGHT).toFixed(2)} |`);

server.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
await setup.dispose();
process.exit(0);
