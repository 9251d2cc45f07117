// One side of `npm run bench:check`, run as its own process so the driver can read this process's CPU time
// and RSS from /proc/PID/stat without counting the load generator.
//   node --import tsx bench/check/server.ts noop
//   node --import tsx bench/check/server.ts portcullis CONFIG.json
// Prints `PORT <n>` on stdout once it answers, and runs until SIGTERM.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { loadProtos } from '../../src/server/protos.js';
import { startSidecar } from '../../src/server/sidecar.js';

const [mode, configFile] = process.argv.slice(2);

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
  process.once('SIGTERM', () => server.forceShutdown());
} else if (mode === 'portcullis' && configFile !== undefined) {
  const config = configSchema.parse(JSON.parse(readFileSync(configFile, 'utf8')));
  const sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }), processMetrics: false });
  process.stdout.write(`PORT ${sidecar.grpcPort}\n`);
  process.once('SIGTERM', () => void sidecar.close());
} else {
  process.stderr.write('usage: server.ts noop | portcullis CONFIG.json\n');
  process.exit(2);
}
