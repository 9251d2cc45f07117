// One side of `npm run bench:check`, run as its own process so the driver can read this process's CPU time
// and RSS from /proc/PID/stat without counting the load generator.
//   node --import tsx bench/check/server.ts noop           (grpc-js, the baseline)
//   node --import tsx bench/check/server.ts noop-http2     (the sidecar's own node:http2 transport)
//   node --import tsx bench/check/server.ts portcullis CONFIG.json
// Prints `PORT <n>` on stdout once it answers, and runs until SIGTERM. Commands on stdin, one a line:
//   stages              -> `STAGES {"checks":n,"nanoseconds":{...}}` (the pipeline's stage timers; portcullis only)
//   profile-start       -> starts the V8 CPU profiler (node:inspector), answers `PROFILING`
//   profile-stop FILE   -> writes the .cpuprofile to FILE, answers `PROFILED`
//   loop-start          -> starts watching the event loop's delay and GC pauses, answers `LOOPING`
//   loop-stop           -> `LOOP {"maxMs":n,"p99Ms":n,"gcMaxMs":n,"majorGcs":n,"held":[..],"gcs":[..]}` since
//                          loop-start: the longest interval between two ticks of a 10 ms timer (10 = the loop was
//                          never held up; 60 = it was busy or blocked for ~50 ms), the longest GC pause, and, with
//                          their wall-clock times, the ticks held up by more than 30 ms (with the process's CPU ms
//                          over them) and the GC pauses over 5 ms:
//                          what a client's p99 at a fixed rate may have waited on in this process
//   snapshot FILE       -> writes a heap snapshot (what is live at that moment, checks in flight included) to
//                          FILE, answers `SNAPSHOT`
import { readFileSync, writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { listenForGrpc } from '../../src/server/grpcListener.js';
import { routeTable, unary } from '../../src/server/grpcService.js';
import { createGrpcTransport } from '../../src/server/grpcTransport.js';
import { loadProtos } from '../../src/server/protos.js';
import { startSidecar } from '../../src/server/sidecar.js';
import { applyServerV8Flags } from '../../src/server/v8Flags.js';
import { createStageTimes } from '../../src/server/stageTimes.js';

const [mode, configFile] = process.argv.slice(2);
const stageTimes = createStageTimes();

if (mode === 'noop') {
  // The ceiling: grpc-js decodes the CheckRequest and answers OK without looking at it.
  const server = new grpc.Server();
  server.addService(loadProtos().authorization, {
    Check: (_call: unknown, callback: grpc.sendUnaryData<object>) => callback(null, { status: { code: 0 } }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
  process.stdout.write(`PORT ${port}\n`);
  process.once('SIGTERM', () => {
    server.forceShutdown();
    process.exit(0);
  });
} else if (mode === 'noop-http2') {
  // The same ceiling on the sidecar's transport (listener, HTTP/2, framing, protobufjs): what is left of the
  // gap between Portcullis and the grpc-js no-op once the transport is the sidecar's.
  const allow = { message: { status: { code: 0 } } };
  const transport = createGrpcTransport({
    routes: routeTable([
      { definition: loadProtos().authorization, handlers: { Check: unary(() => Promise.resolve(allow)) } },
    ]),
    maxReceiveMessageBytes: 4 * 1024 * 1024,
    connections: {
      maxConnections: 1000,
      maxConnectionIdleSeconds: 0,
      maxConnectionAgeSeconds: 0,
      maxConnectionAgeGraceSeconds: 0,
      keepaliveSeconds: 0,
      keepaliveTimeoutSeconds: 20,
    },
    onHandlerError: (error) => process.stderr.write(`${String(error)}\n`),
  });
  const listener = await listenForGrpc({
    address: '127.0.0.1:0',
    maxConnections: 1000,
    accept: (socket) => transport.accept(socket),
    onRefused: () => undefined,
  });
  process.stdout.write(`PORT ${listener.port}\n`);
  process.once('SIGTERM', () => process.exit(0));
} else if (mode === 'portcullis' && configFile !== undefined) {
  applyServerV8Flags(); // as `portcullis serve` does
  const config = configSchema.parse(JSON.parse(readFileSync(configFile, 'utf8')));
  const sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }), processMetrics: false, stageTimes });
  process.stdout.write(`PORT ${sidecar.grpcPort}\n`);
  process.once('SIGTERM', () => void sidecar.close().finally(() => process.exit(0)));
} else {
  process.stderr.write('usage: server.ts noop | noop-http2 | portcullis CONFIG.json\n');
  process.exit(2);
}

// The server's own view of a fixed-rate phase: the event loop's delay (sampled every 10 ms by libuv's timer) and
// the garbage collector's pauses, so a client-side p99 can be told apart from a stall in this process. Ticks
// held up by more than HELD_MS and GC pauses longer than GC_LISTED_MS are listed with their wall-clock time
// (ms since the epoch), so bench/stall.ts can line them up with the client's slow requests.
const HELD_MS = 30;
const GC_LISTED_MS = 5;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let gcMaxMs = 0;
let majorGcs = 0;
let held: Array<{ atMs: number; ms: number; cpuMs: number }> = [];
let gcs: Array<{ atMs: number; ms: number; kind: number }> = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMaxMs = Math.max(gcMaxMs, entry.duration);
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    if (entry.duration > GC_LISTED_MS)
      gcs.push({ atMs: performance.timeOrigin + entry.startTime, ms: entry.duration, kind });
  }
});
let ticker: NodeJS.Timeout | undefined;
let lastTick = 0;
let lastCpu = process.cpuUsage();
// A held tick with the process's CPU time over it: close to the tick's length, the process was busy (its own
// work or its GC threads); far below it, it was waiting for a core (the machine was busy).
function tick(): void {
  const now = performance.now();
  const cpu = process.cpuUsage();
  if (now - lastTick > HELD_MS) {
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    held.push({ atMs: performance.timeOrigin + lastTick, ms: now - lastTick, cpuMs });
  }
  lastTick = now;
  lastCpu = cpu;
}

const session = new Session();
session.connect();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument] = line.trim().split(/\s+/, 2);
  void (async () => {
    if (command === 'stages') process.stdout.write(`STAGES ${JSON.stringify(stageTimes.snapshot())}\n`);
    else if (command === 'loop-start') {
      loopDelay.reset();
      loopDelay.enable();
      gcMaxMs = 0;
      majorGcs = 0;
      held = [];
      gcs = [];
      gcObserver.observe({ entryTypes: ['gc'] });
      lastTick = performance.now();
      lastCpu = process.cpuUsage();
      ticker = setInterval(tick, 10);
      process.stdout.write('LOOPING\n');
    } else if (command === 'loop-stop') {
      loopDelay.disable();
      gcObserver.disconnect();
      clearInterval(ticker);
      const loop = { maxMs: loopDelay.max / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, gcMaxMs, majorGcs, held, gcs };
      process.stdout.write(`LOOP ${JSON.stringify(loop)}\n`);
    } else if (command === 'profile-start') {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      process.stdout.write('PROFILING\n');
    } else if (command === 'heap-start' || command === 'heap-start-survivors') {
      await session.post('HeapProfiler.enable');
      // every allocation sampled, also those already collected: what the garbage collector has to deal with;
      // heap-start-survivors: only what outlived a young-generation collection (copied, then promoted)
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: command === 'heap-start',
      });
      process.stdout.write('PROFILING\n');
    } else if (command === 'heap-stop' && argument !== undefined) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(argument, JSON.stringify(profile));
      process.stdout.write('PROFILED\n');
    } else if (command === 'snapshot' && argument !== undefined) {
      writeHeapSnapshot(argument);
      process.stdout.write('SNAPSHOT\n');
    } else if (command === 'profile-stop' && argument !== undefined) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(argument, JSON.stringify(profile));
      process.stdout.write('PROFILED\n');
    }
  })();
});
