// What a Node flag or a C-library setting in the image buys and costs: the built `portcullis serve` (dist/, as in
// production) with the image's flags and ENV plus each candidate, started in turn and measured in alternating
// rounds (so a machine shared with other work loads every candidate alike). Per candidate, the median over the
// rounds of: idle RSS serving a bundle (after start-up, a second of load and a pause), peak RSS under load
// (VmHWM), closed-loop throughput and CPU µs per check (the server's utime+stime from /proc over the checks it
// answered). The pipeline is bench:check's: RS256 JWT, denylist and a rate limit on a real redis-server, the
// default policy (here as a bundle). Prints figures; asserts nothing. Linux only.
//   npm run bench:footprint:flags      (runs `npm run build` first; SECONDS=5 ROUNDS=3 to change the phases;
//   CANDIDATES='[{"name":"x","flags":["--foo"],"env":{"VAR":"1"}}]' for other candidates)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/process.js';
import { CHECK_PATH, prepareBench } from './check/setup.js';
import { cpuSeconds, h2load } from './check/servers.js';
import { imageNodeEnv, imageNodeFlags } from './imageNodeFlags.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.SECONDS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const MB = 1024 * 1024;

interface Candidate {
  name: string;
  flags: string[];
  env?: Record<string, string>;
}

/** On top of the image's flags and ENV; the first is the image as it is. */
const CANDIDATES: Candidate[] = process.env.CANDIDATES
  ? (JSON.parse(process.env.CANDIDATES) as Candidate[])
  : [
      { name: 'the image', flags: [] },
      { name: '--v8-pool-size=1', flags: ['--v8-pool-size=1'] },
      { name: '--single-threaded-gc', flags: ['--single-threaded-gc'] },
      { name: '--max-semi-space-size=1', flags: ['--max-semi-space-size=1'] },
      { name: 'MALLOC_ARENA_MAX=2', flags: [], env: { MALLOC_ARENA_MAX: '2' } },
    ];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN) * 1024;
}

interface Measured {
  idleRss: number;
  peakRss: number;
  checksPerSecond: number;
  cpuMicrosPerCheck: number;
}

async function measure(candidate: Candidate, config: (grpcPort: number) => string, bodyFile: string, dir: string) {
  const grpcPort = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...imageNodeFlags(ROOT),
      ...candidate.flags,
      join(ROOT, 'bin/portcullis.js'),
      'serve',
      '--config',
      config(grpcPort),
    ],
    { cwd: ROOT, env: { ...process.env, ...imageNodeEnv(ROOT), ...candidate.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    while (!output.includes('portcullis serving')) {
      if (child.exitCode !== null) throw new Error(`serve (${candidate.name}) exited ${child.exitCode}:\n${output}`);
      await sleep(20);
    }
    const shape = { seconds: 1, connections: 8, streams: 16, path: CHECK_PATH, dir };
    await h2load(grpcPort, bodyFile, shape);
    await sleep(3_000);
    const idleRss = procStatus(child.pid!, 'VmRSS');
    const cpuBefore = cpuSeconds(child.pid!);
    const run = await h2load(grpcPort, bodyFile, { ...shape, seconds: SECONDS });
    const cpu = cpuSeconds(child.pid!) - cpuBefore;
    return {
      idleRss,
      peakRss: procStatus(child.pid!, 'VmHWM'),
      checksPerSecond: run.done / run.seconds,
      cpuMicrosPerCheck: (cpu / run.done) * 1e6,
    } satisfies Measured;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const built =
  process.env.SKIP_BUILD === '1'
    ? 0
    : spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' }).status;
if (built !== 0) throw new Error('npm run build failed');
const setup = await prepareBench(1);
try {
  const bundle = join(setup.dir, 'bundle.tar.gz');
  const policy = spawnSync(process.execPath, ['bin/portcullis.js', 'policy', 'build', 'policies', '-o', bundle], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (policy.status !== 0) throw new Error(`policy build failed:\n${policy.stderr}`);
  const adminPort = await freePort();
  const config = (grpcPort: number): string =>
    setup.writeConfig(`portcullis-${grpcPort}.json`, {
      grpc: { address: `127.0.0.1:${grpcPort}` },
      admin: { address: `127.0.0.1:${adminPort}` },
      shutdown: { delaySeconds: 0 },
      policy: { path: bundle, watch: false },
      logLevel: 'info',
      decisionLog: { enabled: false },
    });
  const results = new Map<string, Measured[]>(CANDIDATES.map((c) => [c.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const candidate of CANDIDATES) {
      results.get(candidate.name)!.push(await measure(candidate, config, setup.oneTokenFile, setup.dir));
    }
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(
    `footprint by Node flag / ENV (node ${process.version}; on top of the image's ${imageNodeFlags(ROOT).join(' ')} ` +
      `${JSON.stringify(imageNodeEnv(ROOT))}; median of ${ROUNDS} alternating rounds, ${SECONDS} s closed loop, 8×16 streams):`,
  );
  console.log('| candidate | idle RSS MB | peak RSS under load MB | checks/s | CPU µs/check |');
  console.log('|---|---:|---:|---:|---:|');
  for (const candidate of CANDIDATES) {
    const runs = results.get(candidate.name)!;
    console.log(
      `| ${candidate.name} | ${(median(runs.map((r) => r.idleRss)) / MB).toFixed(1)} | ` +
        `${(median(runs.map((r) => r.peakRss)) / MB).toFixed(1)} | ${median(runs.map((r) => r.checksPerSecond)).toFixed(0)} | ` +
        `${median(runs.map((r) => r.cpuMicrosPerCheck)).toFixed(1)} |`,
    );
  }
} finally {
  await setup.dispose();
}
