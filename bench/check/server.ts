// One side of `npm run bench:check`, run as its own process so the driver can read this process's CPU time
// and RSS from /proc/PID/stat without counting the load generator.
//   node --import tsx bench/check/server.ts noop
//   node --import tsx bench/check/server.ts portcullis CONFIG.json
// Prints `PORT <n>` on stdout once it answers, and runs until SIGTERM. Commands on stdin, one a line:
//   stages              -> `STAGES {"checks":n,"nanoseconds":{...}}` (the pipeline's stage timers; portcullis only)
//   profile-start       -> starts the V8 CPU profiler (node:inspector), answers `PROFILING`
//   profile-stop FILE   -> writes the .cpuprofile to FILE, answers `PROFILED`
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { loadProtos } from '../../src/server/protos.js';
import { startSidecar } from '../../src/server/sidecar.js';
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
} else if (mode === 'portcullis' && configFile !== undefined) {
  const config = configSchema.parse(JSON.parse(readFileSync(configFile, 'utf8')));
  const sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }), processMetrics: false, stageTimes });
  process.stdout.write(`PORT ${sidecar.grpcPort}\n`);
  process.once('SIGTERM', () => void sidecar.close().finally(() => process.exit(0)));
} else {
  process.stderr.write('usage: server.ts noop | portcullis CONFIG.json\n');
  process.exit(2);
}

const session = new Session();
session.connect();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument] = line.trim().split(/\s+/, 2);
  void (async () => {
    if (command === 'stages') process.stdout.write(`STAGES ${JSON.stringify(stageTimes.snapshot())}\n`);
    else if (command === 'profile-start') {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      process.stdout.write('PROFILING\n');
    } else if (command === 'heap-start') {
      await session.post('HeapProfiler.enable');
      // every allocation sampled, also those already collected: what the garbage collector has to deal with
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      process.stdout.write('PROFILING\n');
    } else if (command === 'heap-stop' && argument !== undefined) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(argument, JSON.stringify(profile));
      process.stdout.write('PROFILED\n');
    } else if (command === 'profile-stop' && argument !== undefined) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(argument, JSON.stringify(profile));
      process.stdout.write('PROFILED\n');
    }
  })();
});
