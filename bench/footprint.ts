// Footprint benchmark, from real processes: `node bin/portcullis.js serve` (the built dist/, as in
// production) started on free ports, measured through /proc. Prints figures; asserts nothing.
//   npm run bench:footprint        (runs `npm run build` first, SKIP_BUILD=1 not; Linux only: reads /proc; needs h2load)
//   RATE=2000 RELOADS=5 for the reloads at a fixed rate (RELOAD_CYCLE_SECONDS=6: the time each reload and its
//   control window get); LOAD_SECONDS=5 CONCURRENCY=16 for the closed loop; SERVE_NODE_FLAGS="..." for the
//   server's Node flags (default: the image's); the server also runs under the image's ENV (MALLOC_ARENA_MAX...)
// Where the idle figure goes (heap, modules, packages): npm run bench:footprint:breakdown.
// Figures:
// - idle RSS serving the bundle of policies/ and serving policies/ itself, settled: after start-up and 1,000
//   checks, RSS sampled every second until V8's memory reducer has run (a major collection the server counts in
//   its nodejs_gc_duration_seconds metric, polled every 5 s) and the lowest sample has not moved for 10 s; at
//   most 150 s (V8's watchdog starts the reducer 120 s after the last collection at the latest), which the row
//   says if it happens. The targets' rows use this figure: a sidecar's memory request is sized by what it holds
//   while idle, and V8 gives its young generation and the free pages of its old one back only once it sees the
//   process idle (the reducer checks every 8 s whether the allocation rate has fallen; measured, it ran 15 to
//   55 s after the last check, the RSS flat until then). The figure this bench printed before, the lower of two
//   samples 3 and 4 s after the checks, is printed under it, labelled: it measures a recently busy process, and
//   it grows with the young generation (--max-semi-space-size);
// - peak RSS across reloads of policies/ under load: the server's own high-water mark (VmHWM, reset before
//   the reloads through /proc/PID/clear_refs; the same under load without a reload, for comparison), and
//   the highest sampled sum of the server, its compiler shell and compiler child (what a container's memory
//   limit sees);
// - production node_modules: `npm ci --omit=dev` of this checkout's manifests in a temporary directory;
// - check latency across reloads: each reload (file write to the server's 'policy reloaded' line, which it logs
//   right after the swap; the new revision on /v1/policy is checked after it) is followed by a
//   control window as long, same load, same sampling, no reload. The target compares the longest check in
//   flight during the reloads with 2x the control windows' p99; the control windows' own longest check, the
//   p99 during the reloads, the server's longest event-loop delay, CPU and preemptions per kind of window and
//   the reload's steps as the server logs them (timingsMs) come with it.
// Why the target is measured at a fixed rate (RATE checks/s, open loop, from h2load: a C client, light, in its
// own process): a sidecar is not run saturated, and at saturation the longest check against the p99 fails
// without any reload. The closed loop (CONCURRENCY grpc-js clients in this bench's own Node process, on the
// same cores as the server) keeps every core busy, so each hiccup of the machine queues the checks behind it:
// its control windows alone had a longest check of 3.2x their p99. Its figures are printed second, labelled as
// saturated, to show what a reload costs when there is no spare CPU at all.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { checkRequest, createTestClient, type TestClient } from '../test/helpers/checkClient.js';
import { h2loadRecords } from './check/servers.js';
import { CHECK_PATH, checkFrame } from './check/setup.js';
import { imageNodeEnv, imageNodeFlags } from './imageNodeFlags.js';
import { startServe } from './serveProcess.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const RELOADS = Number(process.env.RELOADS ?? 5);
/** checks per second of the fixed-rate load; bench:check's p99 convention */
const RATE = Number(process.env.RATE ?? 2000);
/** h2load's shape, as bench:check's: connections x concurrent streams each, the rate spread over them */
const CONNECTIONS = 8;
const STREAMS = 16;
/** the time one reload and its control window get under the fixed-rate load (one h2load run covers them all) */
const CYCLE_SECONDS = Number(process.env.RELOAD_CYCLE_SECONDS ?? 6);
/** How often the RSS of the server and its compiler children is sampled while reloads run (peak rows). */
const RSS_SAMPLE_MS = 20;
const MB = 1024 * 1024;
const CLOCK_TICKS = 100; // USER_HZ on Linux
/** Node flags of the server: by default the image's (Dockerfile ENTRYPOINT). */
const SERVE_NODE_FLAGS = process.env.SERVE_NODE_FLAGS ?? imageNodeFlags(ROOT).join(' ');

const REQUESTS = [checkRequest({ path: '/healthz' }), checkRequest({ path: '/api/orders/1', method: 'POST' })];
/** h2load sends one body: the check that goes through the policy */
const H2LOAD_REQUEST = REQUESTS[1];

/** Wall-clock time in ms with sub-ms resolution: h2load logs when each request started in µs since the epoch. */
const epochNow = (): number => performance.timeOrigin + performance.now();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/** A field of /proc/PID/status in bytes (VmRSS, VmHWM), or 0 once the process is gone. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Children of a process and theirs: the compiler's shell (started at the first compile and kept) and, while a
 * compile runs, the compiler child it started.
 */
function descendantPids(pid: number): number[] {
  let children: number[];
  try {
    children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendantPids(child)]);
}

interface Server {
  pid: number;
  grpcPort: number;
  client: TestClient;
  revision(): Promise<string>;
  /** The longest event-loop delay since the previous call (prom-client resets its histogram per scrape). */
  eventLoopLagMax(): Promise<number>;
  /** How many major (mark-compact) collections the server has run, from its metrics. */
  majorGcs(): Promise<number>;
  /** What the server logged so far (pino's JSON lines). */
  output(): string;
  /** How many times the server has logged a successful reload ('policy reloaded'), counted as its lines arrive. */
  reloadsLogged(): number;
  stop(): Promise<void>;
}

async function startServer(dir: string, policyPath: string, watch: boolean): Promise<Server> {
  const nodeFlags = SERVE_NODE_FLAGS.split(' ').filter(Boolean);
  const serve = await startServe({ root: ROOT, dir, policyPath, watch, nodeFlags });
  const admin = `http://127.0.0.1:${serve.adminPort}`;
  const client = createTestClient(serve.grpcPort);
  return {
    pid: serve.pid,
    grpcPort: serve.grpcPort,
    output: serve.output,
    reloadsLogged: serve.reloadsLogged,
    client,
    revision: async () => ((await (await fetch(`${admin}/v1/policy`)).json()) as { revision: string }).revision,
    async eventLoopLagMax() {
      const text = await (await fetch(`${admin}/metrics`)).text();
      const match = /^\w*nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
      return match ? Number(match[1]) * 1000 : NaN;
    },
    async majorGcs() {
      const text = await (await fetch(`${admin}/metrics`)).text();
      const match = /^\w*nodejs_gc_duration_seconds_count\{kind="major"\} (\S+)$/m.exec(text);
      // The series appears with the first major collection: none yet is 0.
      return match ? Number(match[1]) : 0;
    },
    async stop() {
      client.close();
      await serve.stop();
    },
  };
}

async function checks(server: Server, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await server.client.check(REQUESTS[i % REQUESTS.length]);
}

/** How long the settled idle sample waits at most, and how long its lowest RSS must hold. */
const SETTLE_MAX_MS = 150_000;
const SETTLE_STABLE_MS = 10_000;

interface IdleRss {
  /** after V8's memory reducer has run and the lowest RSS has held for SETTLE_STABLE_MS (the targets' figure) */
  settled: number;
  /** the lower of two samples 3 and 4 s after the checks: a recently busy process (the figure printed before) */
  recent: number;
  /** seconds after the last check when the settled figure was taken */
  seconds: number;
  /** false when SETTLE_MAX_MS passed without a major collection: `settled` is then the lowest sample seen */
  reducerRan: boolean;
}

/** Idle RSS after 1,000 checks: the recent figure, then sampled every second until it settles (header). */
async function idleRss(server: Server): Promise<IdleRss> {
  await checks(server, 1_000);
  const idleSince = epochNow();
  const majorBefore = await server.majorGcs();
  await sleep(3_000);
  const first = procStatus(server.pid, 'VmRSS');
  await sleep(1_000);
  const recent = Math.min(first, procStatus(server.pid, 'VmRSS'));
  let lowest = recent;
  let lowestSince = epochNow();
  let reducerRan = false;
  let polled = epochNow();
  while (epochNow() - idleSince < SETTLE_MAX_MS) {
    await sleep(1_000);
    const now = epochNow();
    const rss = procStatus(server.pid, 'VmRSS');
    if (rss < lowest) [lowest, lowestSince] = [rss, now];
    // Polled sparsely: a scrape allocates, and the reducer waits for a low allocation rate.
    if (!reducerRan && now - polled >= 5_000) {
      reducerRan = (await server.majorGcs()) > majorBefore;
      polled = now;
    }
    if (reducerRan && now - lowestSince >= SETTLE_STABLE_MS) break;
  }
  return { settled: lowest, recent, seconds: (epochNow() - idleSince) / 1000, reducerRan };
}

/** A check, or a window of time: when it started and ended, ms since the epoch. */
interface Sample {
  start: number;
  end: number;
}

/** Checks at fixed concurrency until `stop()` resolves; every check's start and end time. */
function load(server: Server): { samples: Sample[]; errors: number; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let errors = 0;
  let running = true;
  let n = 0;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (running) {
      const start = epochNow();
      try {
        await server.client.check(REQUESTS[n++ % REQUESTS.length]);
      } catch {
        errors++;
      }
      samples.push({ start, end: epochNow() });
    }
  });
  return {
    samples,
    get errors() {
      return errors;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

interface Window extends Sample {
  /** the server's longest event-loop delay in the window */
  lagMax: number;
  /** CPU the server used in the window (all its threads), ms */
  cpuMs: number;
  /** times the server's main thread was preempted (it wanted to run on): CPU competition */
  preempted: number;
}

/** CPU time of a process so far (utime + stime, all threads) in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Involuntary context switches of a process's main thread (the event loop) so far. */
function preemptions(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
    return Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** The server's CPU and preemption counters, to subtract at the end of a window. */
function counters(pid: number): { cpuMs: number; preempted: number } {
  return { cpuMs: cpuMs(pid), preempted: preemptions(pid) };
}

const since = (pid: number, before: { cpuMs: number; preempted: number }): { cpuMs: number; preempted: number } => {
  const now = counters(pid);
  return { cpuMs: now.cpuMs - before.cpuMs, preempted: now.preempted - before.preempted };
};

/** Checks that ended inside the windows, per second of window. */
const throughput = (samples: Sample[], windows: Window[]): number =>
  (samples.filter((s) => windows.some((w) => s.end >= w.start && s.end <= w.end)).length * 1000) /
  windows.reduce((sum, w) => sum + w.end - w.start, 0);
/** A counter summed over windows, per second of window. */
const perSecond = (windows: Window[], field: 'cpuMs' | 'preempted'): number =>
  (windows.reduce((sum, w) => sum + w[field], 0) * 1000) / windows.reduce((sum, w) => sum + w.end - w.start, 0);
const maxOf = (windows: Window[]): number => largest(windows.map((w) => w.lagMax));
/** Math.max without spreading: a long run has more checks than the call stack takes arguments. */
const largest = (values: number[]): number => values.reduce((max, value) => Math.max(max, value), -Infinity);
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';

/** The per-step timings of every reload the server logged ('policy reloaded', timingsMs). */
function reloadTimings(output: string): Array<Record<string, number>> {
  return output
    .split('\n')
    .filter((line) => line.includes('"policy reloaded"'))
    .map((line) => (JSON.parse(line) as { timingsMs?: Record<string, number> }).timingsMs ?? {});
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/**
 * What a reload appends to authz.rego: a rule named for it, so that every reload compiles a different Wasm
 * module. A comment alone (or a rule's new value) changes the revision but not one byte of the module, and V8
 * then reuses the module it compiled before (WebAssembly.compile took 0.6 ms): the reload would skip the
 * compile and tier-up a real change brings.
 */
const reloadRule = (tag: string, reload: number): string => `footprint_${tag.replace(/\W/g, '_')}_${reload} := true`;

/** Reloads of policies/ under a load that runs meanwhile, and their control windows. */
interface ReloadCycles {
  reloads: Window[];
  controls: Window[];
  loadAverageBefore: string;
  loadAverageAfter: string;
}

/**
 * RELOADS reloads (authz.rego rewritten with reloadRule, a new module each time), each followed by a control window: as
 * long as the reload took, under the same load and the same sampling, without a reload. With `slotMs`, reload i
 * starts `slotMs` after reload i-1 did (a load of fixed length covers them all); without, a pause of a second
 * separates the windows.
 *
 * A reload ends when the server's 'policy reloaded' line arrives (it is logged right after the swap), checked
 * every 5 ms, and the revision on /v1/policy is compared once after it: this process shares the two cores with
 * the server and the load, and fetching /v1/policy every 5 ms (as it did before) cost CPU in the reload windows
 * that the control windows did not match. RSS is sampled on a timer through both kinds of window alike.
 */
async function reloadCycles(
  server: Server,
  authzFile: string,
  tag: string,
  sampleRss: () => void,
  slotMs?: number,
): Promise<ReloadCycles> {
  const authz = readFileSync(authzFile, 'utf8');
  const reloads: Window[] = [];
  const controls: Window[] = [];
  const loadAverageBefore = loadAverage();
  const sampler = setInterval(sampleRss, RSS_SAMPLE_MS);
  const first = epochNow();
  for (let reload = 1; reload <= RELOADS; reload++) {
    if (slotMs !== undefined) await sleep(first + (reload - 1) * slotMs - epochNow());
    const before = await server.revision();
    const logged = server.reloadsLogged();
    await server.eventLoopLagMax();
    const reloadCounters = counters(server.pid);
    const start = epochNow();
    writeFileSync(authzFile, `${authz}\n${reloadRule(tag, reload)}\n`);
    while (server.reloadsLogged() === logged) await sleep(5);
    const end = epochNow();
    reloads.push({ start, end, ...since(server.pid, reloadCounters), lagMax: await server.eventLoopLagMax() });
    if ((await server.revision()) === before)
      throw new Error(`reload ${reload} was logged but the revision is unchanged`);
    await sleep(slotMs === undefined ? 1_000 : 500);

    await server.eventLoopLagMax();
    const controlCounters = counters(server.pid);
    const controlStart = epochNow();
    await sleep(end - start);
    const controlEnd = epochNow();
    controls.push({
      start: controlStart,
      end: controlEnd,
      ...since(server.pid, controlCounters),
      lagMax: await server.eventLoopLagMax(),
    });
    if (slotMs === undefined) await sleep(1_000);
  }
  clearInterval(sampler);
  return { reloads, controls, loadAverageBefore, loadAverageAfter: loadAverage() };
}

const row = (what: string, value: string, target: string): string =>
  `  ${what.padEnd(72)} ${value.padStart(12)}   (target ${target})`;

/** A settled idle figure (the target's), and under it the recent one, labelled. */
function printIdleRows(what: string, idle: IdleRss, target: string): void {
  const when = idle.reducerRan
    ? `settled at ${idle.seconds.toFixed(0)} s`
    : `no memory reducer in ${idle.seconds.toFixed(0)} s`;
  console.log(row(`${what} (${when})`, mb(idle.settled), target));
  console.log(row('  the same 4 s after the 1,000 checks (recently busy)', mb(idle.recent), '-'));
}

/**
 * The latency rows of one load across its reload cycles. A check counts in a window when it was in flight at any
 * moment of it (for a reload: between the file write and the swap). `target`: this load is the target's measure.
 */
function printReloadRows(title: string, checks: Sample[], cycles: ReloadCycles, target: boolean): void {
  const { reloads, controls } = cycles;
  const inWindows = (windows: Window[]): number[] =>
    checks.filter((s) => windows.some((w) => s.end >= w.start && s.start <= w.end)).map((s) => s.end - s.start);
  const reloadLatencies = inWindows(reloads);
  const controlLatencies = inWindows(controls);
  const controlP99 = percentile(controlLatencies, 0.99);
  const perReload = reloads.map((w) => largest(inWindows([w])));
  // When each reload's longest check started, after the file write: the watch's debounce, reading and forking the
  // compiler, the compile, the swap come in that order (the step rows below say how long each took).
  const worstAt = reloads.map((w) => {
    const inFlight = checks.filter((s) => s.end >= w.start && s.start <= w.end);
    const worst = inFlight.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a), inFlight[0]!);
    return `${(worst.start - w.start).toFixed(0)}/${(w.end - w.start).toFixed(0)}`;
  });
  const durations = reloads.map((w) => w.end - w.start);
  const bound = 2 * controlP99;
  console.log(title);
  console.log(row(`p99, control windows (${controlLatencies.length} checks)`, ms(controlP99), '-'));
  console.log(row('longest check in the control windows (no reload)', ms(largest(controlLatencies)), '-'));
  console.log(
    row(
      `longest check during a reload (${reloadLatencies.length} checks in flight)`,
      ms(largest(reloadLatencies)),
      target ? `<= 2x p99 = ${ms(bound)}` : '-',
    ),
  );
  console.log(
    row(
      `  per reload (${perReload.filter((worst) => worst <= bound).length} of ${perReload.length} within 2x p99)`,
      perReload.map((worst) => worst.toFixed(1)).join(' / '),
      '-',
    ),
  );
  console.log(row('  when it started (ms after the file write / reload time)', worstAt.join(' '), '-'));
  // The same count for the windows without a reload: how often steady state alone has a check over 2x p99.
  const perControl = controls.map((w) => largest(inWindows([w])));
  console.log(
    row(
      `  per control window (${perControl.filter((worst) => worst <= bound).length} of ${perControl.length} within 2x p99)`,
      perControl.map((worst) => worst.toFixed(1)).join(' / '),
      '-',
    ),
  );
  console.log(row('p99 during the reloads', ms(percentile(reloadLatencies, 0.99)), '-'));
  console.log(
    row(
      'longest event-loop delay in the server: reloads / control',
      `${ms(maxOf(reloads))} / ${ms(maxOf(controls))}`,
      '-',
    ),
  );
  console.log(
    row('reload time, median / longest', `${ms(percentile(durations, 0.5))} / ${ms(largest(durations))}`, '-'),
  );
  console.log(
    row(
      'checks answered per second: reloads / control',
      `${throughput(checks, reloads).toFixed(0)} / ${throughput(checks, controls).toFixed(0)}`,
      '-',
    ),
  );
  console.log(
    row(
      'server CPU per second of window: reloads / control',
      `${perSecond(reloads, 'cpuMs').toFixed(0)} / ${perSecond(controls, 'cpuMs').toFixed(0)} ms`,
      '-',
    ),
  );
  console.log(
    row(
      'server event loop preempted per second: reloads / control',
      `${perSecond(reloads, 'preempted').toFixed(0)} / ${perSecond(controls, 'preempted').toFixed(0)}`,
      '-',
    ),
  );
  console.log(
    row('load average (1 min) before / after', `${cycles.loadAverageBefore} / ${cycles.loadAverageAfter}`, '-'),
  );
}

/** What each step of a reload's timingsMs is, and where it runs; a step not listed is printed by its name. */
const STEPS: Record<string, string> = {
  read: 'reading policies/ (asynchronous I/O)',
  compile: 'compiling in the child (off the event loop)',
  spawn: '  of which starting the compile (on the event loop)',
  wasmCompile: 'WebAssembly.compile (off the event loop)',
  instantiate: 'data and instance (on the event loop)',
};

function productionNodeModules(): number {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-prod-'));
  try {
    for (const file of [
      'package.json',
      'package-lock.json',
      'packages/rego-wasm/package.json',
      'scripts/prepare.mjs',
    ]) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      cpSync(join(ROOT, file), join(dir, file));
    }
    const install = spawnSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (install.status !== 0) throw new Error(`npm ci --omit=dev failed:\n${install.stdout}${install.stderr}`);
    const du = spawnSync('du', ['-sk', join(dir, 'node_modules')], { encoding: 'utf8' });
    return Number(du.stdout.split('\t')[0]) * 1024;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const work = mkdtempSync(join(tmpdir(), 'portcullis-footprint-'));
try {
  const built =
    process.env.SKIP_BUILD === '1'
      ? 0
      : spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' }).status;
  if (built !== 0) throw new Error('npm run build failed');
  const policies = join(work, 'policies');
  cpSync(join(ROOT, 'policies'), policies, { recursive: true });
  const bundle = join(work, 'bundle.tar.gz');
  const build = spawnSync(process.execPath, ['bin/portcullis.js', 'policy', 'build', policies, '-o', bundle], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`policy build failed:\n${build.stderr}`);
  const bodyFile = join(work, 'check.bin');
  writeFileSync(bodyFile, checkFrame(H2LOAD_REQUEST));

  const fromBundle = await startServer(work, bundle, false);
  const bundleRss = await idleRss(fromBundle);
  await fromBundle.stop();

  const fromRego = await startServer(work, policies, true);
  const regoRss = await idleRss(fromRego);
  const shellRss = descendantPids(fromRego.pid).reduce((sum, pid) => sum + procStatus(pid, 'VmRSS'), 0);

  // Steady state under the closed loop, for the peak RSS without a reload.
  writeFileSync(`/proc/${fromRego.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const steady = load(fromRego);
  await sleep(LOAD_SECONDS * 1000);
  await steady.stop();
  const steadyPeak = procStatus(fromRego.pid, 'VmHWM');
  const steadyLatencies = steady.samples.map((s) => s.end - s.start);

  writeFileSync(`/proc/${fromRego.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  let podPeak = 0;
  let childPeak = 0;
  const sampleRss = (): void => {
    const children = descendantPids(fromRego.pid);
    const childRss = children.reduce((sum, pid) => sum + procStatus(pid, 'VmRSS'), 0);
    childPeak = Math.max(childPeak, ...children.map((pid) => procStatus(pid, 'VmHWM')));
    podPeak = Math.max(podPeak, procStatus(fromRego.pid, 'VmRSS') + childRss);
  };
  const authzFile = join(policies, 'authz.rego');

  // The target's measure: RATE checks/s from h2load, one run covering a second of lead and every reload's slot.
  const fixedLoad = h2loadRecords(
    fromRego.grpcPort,
    bodyFile,
    { seconds: 1 + RELOADS * CYCLE_SECONDS, connections: CONNECTIONS, streams: STREAMS, path: CHECK_PATH, dir: work },
    RATE,
  );
  await sleep(1_000);
  const fixedCycles = await reloadCycles(fromRego, authzFile, 'fixed-rate', sampleRss, CYCLE_SECONDS * 1000);
  const fixed = await fixedLoad;
  const fixedChecks = fixed.records.map((r) => ({ start: r.startMs, end: r.startMs + r.latencyMs }));
  const lastControl = fixedCycles.controls[fixedCycles.controls.length - 1]!;
  if (largest(fixedChecks.map((c) => c.start)) < lastControl.end)
    throw new Error(`the fixed-rate load ended before the last control window: raise RELOAD_CYCLE_SECONDS`);
  const fixedFailures = fixed.records.filter((r) => r.status !== 200).length;

  // The saturating closed loop, second.
  const loaded = load(fromRego);
  await sleep(500);
  const closedCycles = await reloadCycles(fromRego, authzFile, 'closed-loop', sampleRss);
  await loaded.stop();

  const serverPeak = procStatus(fromRego.pid, 'VmHWM');
  const afterReloadsRss = await idleRss(fromRego);
  await fromRego.stop();
  const timings = reloadTimings(fromRego.output());

  const nodeModules = productionNodeModules();

  console.log(
    `footprint (node ${process.version} ${SERVE_NODE_FLAGS} ${JSON.stringify(imageNodeEnv(ROOT))}, ` +
      `${RELOADS} reloads at ${RATE} checks/s, then ${RELOADS} under ${CONCURRENCY} concurrent checks):`,
  );
  printIdleRows('idle RSS serving the bundle of policies/', bundleRss, '<= 70 MB');
  printIdleRows('idle RSS serving policies/ (compiled in a child process)', regoRss, '<= 90 MB');
  console.log(row('  beside it: the shell that starts compiler children (kept)', mb(shellRss), '-'));
  console.log(row('peak RSS under load, no reload: the server process', mb(steadyPeak), '-'));
  console.log(row('peak RSS across reloads: the server process', mb(serverPeak), '<= 128 MB'));
  console.log(row('peak RSS across reloads: server + compiler shell and child (sampled)', mb(podPeak), '-'));
  console.log(row('peak RSS of the compiler child (sampled)', mb(childPeak), '-'));
  printIdleRows('idle RSS after the reloads', afterReloadsRss, '-');
  console.log(row('production node_modules (npm ci --omit=dev)', mb(nodeModules), '<= 45 MB'));
  printReloadRows(
    `reloads at a fixed rate: ${RATE} checks/s, open loop (h2load, ${CONNECTIONS} connections x ${STREAMS} ` +
      'streams) - the target',
    fixedChecks,
    fixedCycles,
    true,
  );
  printReloadRows(
    `reloads at saturation: closed loop, ${CONCURRENCY} grpc-js clients in the bench's process - not the target`,
    loaded.samples,
    closedCycles,
    false,
  );
  console.log(
    row(
      `  p99 of the closed loop without reloads (${steadyLatencies.length} checks)`,
      ms(percentile(steadyLatencies, 0.99)),
      '-',
    ),
  );
  console.log(`the reload's steps in the server (timingsMs of ${timings.length} reloads), median / longest`);
  const steps = [...new Set([...Object.keys(STEPS), ...timings.flatMap((t) => Object.keys(t))])];
  for (const step of steps) {
    const values = timings.map((t) => t[step] ?? NaN);
    if (values.every(Number.isNaN)) continue;
    console.log(row(`  ${STEPS[step] ?? step}`, `${ms(percentile(values, 0.5))} / ${ms(largest(values))}`, '-'));
  }
  console.log(
    row('checks that failed: fixed rate / closed loop', `${fixedFailures} / ${steady.errors + loaded.errors}`, '0'),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
