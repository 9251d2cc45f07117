// The benchmark's server processes (bench/check/server.ts, or the CLI for workers): start, ask over stdin, read their
// CPU time and RSS from /proc, and the two load generators (h2load for one body, framesLoad for many).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CHECK_STAGES, type CheckStage } from '../../src/server/stageTimes.js';
import { framesLoad } from './framesLoad.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  /** sends a command line on stdin and resolves with the first stdout line starting with `answerPrefix` */
  ask(command: string, answerPrefix: string): Promise<string>;
}

export async function startServer(
  name: string,
  args: string[],
  ready = (line: string): number | null => {
    const m = /^PORT (\d+)$/.exec(line);
    return m ? Number(m[1]) : null;
  },
  nodeOptions: string[] = [],
): Promise<Server> {
  const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<{ prefix: string; resolve: (line: string) => void }> = [];
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
    lines.on('line', (line) => {
      const port = ready(line);
      if (port !== null) resolve(port);
      const index = waiting.findIndex((w) => line.startsWith(w.prefix));
      if (index >= 0) waiting.splice(index, 1)[0]!.resolve(line);
    });
  });
  return {
    name,
    child,
    port,
    ask(command, answerPrefix) {
      return new Promise((resolve) => {
        waiting.push({ prefix: answerPrefix, resolve });
        child.stdin!.write(`${command}\n`);
      });
    },
  };
}

/** The stage timers' totals of a bench/check/server.ts portcullis process. */
export async function stageTotals(
  server: Server,
): Promise<{ checks: number; nanoseconds: Record<CheckStage, number> }> {
  const line = await server.ask('stages', 'STAGES ');
  return JSON.parse(line.slice('STAGES '.length)) as { checks: number; nanoseconds: Record<CheckStage, number> };
}

/** What a bench/check/server.ts process saw of its own event loop between loop-start and loop-stop. */
export interface LoopStats {
  /** the longest event-loop delay, ms */
  maxMs: number;
  p99Ms: number;
  /** the longest garbage-collection pause, ms, and how many major (mark-compact) collections ran */
  gcMaxMs: number;
  majorGcs: number;
  /**
   * the loop's ticks held up by more than 30 ms (with the process's CPU ms over them: far below the tick's length,
   * it waited for a core), and the GC pauses over 5 ms, at their wall-clock time (ms)
   */
  held: Array<{ atMs: number; ms: number; cpuMs: number }>;
  gcs: Array<{ atMs: number; ms: number; kind: number }>;
}

export async function loopStart(server: Server): Promise<void> {
  await server.ask('loop-start', 'LOOPING');
}

export async function loopStop(server: Server): Promise<LoopStats> {
  const line = await server.ask('loop-stop', 'LOOP ');
  return JSON.parse(line.slice('LOOP '.length)) as LoopStats;
}

/** µs per check per stage between two stage-timer snapshots */
export function stageMicros(
  before: { checks: number; nanoseconds: Record<CheckStage, number> },
  after: { checks: number; nanoseconds: Record<CheckStage, number> },
): Record<CheckStage, number> {
  const checks = after.checks - before.checks;
  return Object.fromEntries(
    CHECK_STAGES.map((stage) => [stage, (after.nanoseconds[stage] - before.nanoseconds[stage]) / checks / 1000]),
  ) as Record<CheckStage, number>;
}

/** the server's process and, for workers, its node:cluster children */
function processes(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return [pid, ...children.map(Number)];
}

// Note: a worker that exited during a phase takes its CPU time with it; none should.
export function cpuSeconds(pid: number): number {
  let sum = 0;
  for (const p of processes(pid)) {
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    sum += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  }
  return sum;
}

/**
 * This process's CPU seconds plus those of the children it has waited for (h2load runs as one): the load
 * generator's share of the machine, whether it is h2load or this process's own HTTP/2 client.
 */
export function loadGeneratorCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime (fields 14-17)
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

export function rssMiB(pid: number): number {
  let sum = 0;
  for (const p of processes(pid))
    sum += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  return sum;
}

export interface LoadResult {
  done: number;
  seconds: number;
  latenciesMs: number[];
}

export interface LoadShape {
  seconds: number;
  connections: number;
  streams: number;
  path: string;
  /** work directory for h2load's log */
  dir: string;
}

/** One request of an h2load run, from its `--log-file`. */
export interface H2loadRecord {
  /** when the request started, ms since the epoch (h2load logs µs) */
  startMs: number;
  /** the HTTP status (gRPC answers 200 whatever its grpc-status) */
  status: number;
  latencyMs: number;
}

/** h2load with one body file: closed loop, or `rate` checks/s across all connections; every request's record */
export async function h2loadRecords(
  port: number,
  bodyFile: string,
  shape: LoadShape,
  rate?: number,
): Promise<{ done: number; seconds: number; records: H2loadRecord[] }> {
  const log = join(shape.dir, `h2load-${port}.log`);
  rmSync(log, { force: true });
  const args = [
    '-D',
    String(shape.seconds),
    '-c',
    String(shape.connections),
    '-m',
    String(shape.streams),
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '-d',
    bodyFile,
    '--log-file',
    log,
    ...(rate === undefined ? [] : ['--rps', String(rate / shape.connections)]),
    `http://127.0.0.1:${port}${shape.path}`,
  ];
  const { stdout } = await promisify(execFile)('h2load', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(stdout)?.[1] ?? NaN);
  const seconds = Number(/finished in ([\d.]+)s/.exec(stdout)?.[1] ?? NaN);
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [start, status, micros] = line.split('\t');
      return { startMs: Number(start) / 1000, status: Number(status), latencyMs: Number(micros) / 1000 };
    });
  rmSync(log, { force: true });
  return { done, seconds, records };
}

/** h2load with one body file: closed loop, or `rate` checks/s across all connections */
export async function h2load(port: number, bodyFile: string, shape: LoadShape, rate?: number): Promise<LoadResult> {
  const { done, seconds, records } = await h2loadRecords(port, bodyFile, shape, rate);
  return { done, seconds, latenciesMs: records.map((r) => r.latencyMs).sort((a, b) => a - b) };
}

/** framesLoad over many bodies, same shape */
export function distinctLoad(port: number, bodies: Buffer[], shape: LoadShape, rate?: number): Promise<LoadResult> {
  return framesLoad({
    port,
    path: shape.path,
    bodies,
    sessions: shape.connections,
    streams: shape.streams,
    seconds: shape.seconds,
    ...(rate === undefined ? {} : { rate }),
  });
}
