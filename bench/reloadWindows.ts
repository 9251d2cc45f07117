// Where in a reload the slow checks fall: the server (`portcullis serve`, the image's Node flags and ENV) under
// h2load at a fixed rate, with reload windows and control windows of the same length alternating in fixed slots,
// more of them than bench:footprint runs. Prints per kind of window: p50 / p99 / longest check, how many windows
// are within 2x the control windows' p99 (the reload target of bench:footprint), each window's longest check and
// when it started, the p99 / longest per 100 ms after the window's start (all windows of a kind together), and the
// server's CPU per thread, page faults and preemptions per second of window. Asserts nothing.
//   npm run bench:reload-windows   (CYCLES=10 RATE=2000; BUNDLE=1: the server serves a bundle and each reload
//                                    swaps in another one prebuilt, so no compiler runs: what the swap alone costs;
//                                    SERVE_NODE_FLAGS="...": the server's Node flags, default the image's;
//                                    BASE=DIR: another checkout, built, measured the same way in alternating runs
//                                    (ROUNDS=2 each), and a line per run of both to compare)
// A reload window runs from the file write (the directory's authz.rego, or the bundle renamed over the served
// one) to the server's 'policy reloaded' log line; a control window is as long as the reloads so far, without one.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { checkRequest } from '../test/helpers/checkClient.js';
import { h2loadRecords } from './check/servers.js';
import { CHECK_PATH, checkFrame } from './check/setup.js';
import { imageNodeFlags } from './imageNodeFlags.js';
import { startServe } from './serveProcess.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CYCLES = Number(process.env.CYCLES ?? 10);
const BASE = process.env.BASE;
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const RATE = Number(process.env.RATE ?? 2000);
const BUNDLE = process.env.BUNDLE === '1';
/** each window gets a slot this long: a reload of policies/ takes ~0.75 s, and the load settles after it */
const SLOT_MS = 2500;
const KINDS = ['reload', 'control'] as const;
type Kind = (typeof KINDS)[number];
const CLOCK_TICKS = 100; // USER_HZ on Linux

const epochNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's CPU ms per thread (the event loop as 'main', the others by name), minor faults, preemptions. */
function counters(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = task === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
      out.set(`cpu ${name}`, (out.get(`cpu ${name}`) ?? 0) + ms);
    } catch {
      // a thread that ended meanwhile
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  out.set('minor faults', Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]));
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  out.set('loop preempted', Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN));
  return out;
}

function difference(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([key, value]) => [key, value - (before.get(key) ?? 0)]));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

const largest = (values: number[]): number => values.reduce((max, value) => Math.max(max, value), -Infinity);

interface Window {
  kind: Kind;
  start: number;
  end: number;
  counters: Map<string, number>;
}

interface RunSummary {
  controlP99: number;
  reloadP99: number;
  reloadLongest: number;
  reloadWithin: number;
  controlWithin: number;
  reloadMs: number;
}

/** One run against the server of the checkout at `root`: prints its windows, resolves to the figures compared. */
async function run(root: string): Promise<RunSummary> {
  const FLAGS = (process.env.SERVE_NODE_FLAGS ?? imageNodeFlags(root).join(' ')).split(' ').filter(Boolean);
  const work = mkdtempSync(join(tmpdir(), 'portcullis-reload-windows-'));
  const policies = join(work, 'policies');
  cpSync(join(root, 'policies'), policies, { recursive: true, filter: (path) => !path.includes('examples') });
  const authzFile = join(policies, 'authz.rego');
  const authz = readFileSync(authzFile, 'utf8');

  // With BUNDLE=1: one bundle per reload, each with a rule of its own (a new module each time), built beforehand.
  const servedBundle = join(work, 'served', 'policy.tar.gz');
  const bundles: string[] = [];
  if (BUNDLE) {
    for (let i = 0; i <= CYCLES; i++) {
      const dir = join(work, `bundle-${i}`);
      cpSync(policies, dir, { recursive: true });
      writeFileSync(join(dir, 'authz.rego'), `${authz}\nreload_windows_${i} := true\n`);
      const out = join(work, `bundle-${i}.tar.gz`);
      const build = spawnSync(process.execPath, [join(root, 'bin/portcullis.js'), 'policy', 'build', dir, '-o', out], {
        encoding: 'utf8',
      });
      if (build.status !== 0) throw new Error(`policy build failed:\n${build.stderr}`);
      bundles.push(out);
    }
    mkdirSync(join(work, 'served'));
    cpSync(bundles[0]!, servedBundle);
  }

  const server = await startServe({
    root: root,
    dir: work,
    policyPath: BUNDLE ? servedBundle : policies,
    watch: true,
    nodeFlags: FLAGS,
  });
  const { pid, grpcPort } = server;

  // h2load writes its per-request log in a directory of its own: not beside the watched path, whose parent the
  // server watches too.
  const loadDir = mkdtempSync(join(tmpdir(), 'portcullis-reload-windows-load-'));
  const bodyFile = join(loadDir, 'check.bin');
  writeFileSync(bodyFile, checkFrame(checkRequest({ path: '/api/orders/1', method: 'POST' })));
  const shape = (seconds: number) => ({ seconds, connections: 8, streams: 16, path: CHECK_PATH, dir: loadDir });
  await h2loadRecords(grpcPort, bodyFile, shape(3), RATE); // warm-up
  const load = h2loadRecords(grpcPort, bodyFile, shape(2 + (CYCLES * KINDS.length * SLOT_MS) / 1000), RATE);
  await sleep(1000);

  const windows: Window[] = [];
  const durations: number[] = [];
  /** a control window lasts as long as the reloads so far, on average */
  const meanReloadMs = (): number => durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length);
  const first = epochNow();
  let slot = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    for (const kind of KINDS) {
      await sleep(first + slot++ * SLOT_MS - epochNow());
      const before = counters(pid);
      const start = epochNow();
      if (kind === 'reload') {
        const logged = server.reloadsLogged();
        if (BUNDLE) {
          cpSync(bundles[cycle + 1]!, `${servedBundle}.next`);
          renameSync(`${servedBundle}.next`, servedBundle);
        } else {
          writeFileSync(authzFile, `${authz}\nreload_windows_${cycle} := true\n`);
        }
        while (server.reloadsLogged() === logged) await sleep(5);
        durations.push(epochNow() - start);
      } else {
        await sleep(meanReloadMs());
      }
      windows.push({ kind, start, end: epochNow(), counters: difference(before, counters(pid)) });
    }
  }
  const checks = (await load).records.map((r) => ({ start: r.startMs, end: r.startMs + r.latencyMs }));
  await server.stop();

  const inFlight = (w: Window): Array<{ start: number; end: number }> =>
    checks.filter((c) => c.end >= w.start && c.start <= w.end);
  const latencies = (ws: Window[]): number[] => ws.flatMap((w) => inFlight(w).map((c) => c.end - c.start));
  const controlP99 = percentile(latencies(windows.filter((w) => w.kind === 'control')), 0.99);
  const bound = 2 * controlP99;
  console.log(
    `bench:reload-windows — ${CYCLES} reloads of ${BUNDLE ? 'a bundle (no compiler)' : 'policies/'} and ${CYCLES} ` +
      `control windows at ${RATE} checks/s (h2load, 8 connections x 16 streams); node ${FLAGS.join(' ')}; ` +
      `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  console.log(`control windows' p99 ${controlP99.toFixed(2)} ms: 2x p99 = ${bound.toFixed(2)} ms`);
  /** per kind of window, what a BASE comparison prints: p99, longest check, windows within 2x p99 */
  const figures = new Map<Kind, { p99: number; longest: number; within: number }>();
  for (const kind of KINDS) {
    const ofKind = windows.filter((w) => w.kind === kind);
    const all = latencies(ofKind);
    const worst = ofKind.map((w) => {
      const checksOf = inFlight(w);
      const slowest = checksOf.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a), checksOf[0]!);
      return { ms: slowest.end - slowest.start, at: slowest.start - w.start, length: w.end - w.start };
    });
    const seconds = ofKind.reduce((sum, w) => sum + w.end - w.start, 0) / 1000;
    const ofKindFigures = {
      p99: percentile(all, 0.99),
      longest: largest(all),
      within: worst.filter((w) => w.ms <= bound).length,
    };
    figures.set(kind, ofKindFigures);
    console.log(
      `${kind}: ${ofKind.length} windows of ${((seconds * 1000) / ofKind.length).toFixed(0)} ms; p50 ` +
        `${percentile(all, 0.5).toFixed(2)} / p99 ${ofKindFigures.p99.toFixed(2)} / longest ` +
        `${ofKindFigures.longest.toFixed(2)} ms; ${ofKindFigures.within} of ${ofKind.length} within 2x p99`,
    );
    console.log(
      `  longest check per window, ms (started at ms after the window's start / window length): ` +
        worst.map((w) => `${w.ms.toFixed(1)} (${w.at.toFixed(0)}/${w.length.toFixed(0)})`).join(', '),
    );
    const bins = new Map<number, number[]>();
    for (const w of ofKind) {
      for (const c of checks.filter((check) => check.start >= w.start - 100 && check.start <= w.end + 200)) {
        const bin = Math.floor((c.start - w.start) / 100) * 100;
        bins.set(bin, [...(bins.get(bin) ?? []), c.end - c.start]);
      }
    }
    console.log(
      '  p99 / longest by when the check started (ms after the window start): ' +
        [...bins]
          .sort((a, b) => a[0] - b[0])
          .map(([bin, values]) => `${bin}: ${percentile(values, 0.99).toFixed(1)} / ${largest(values).toFixed(0)}`)
          .join(', '),
    );
    const keys = [...new Set(ofKind.flatMap((w) => [...w.counters.keys()]))].sort();
    console.log(
      '  per second of window: ' +
        keys
          .map(
            (key) => `${key} ${(ofKind.reduce((sum, w) => sum + (w.counters.get(key) ?? 0), 0) / seconds).toFixed(0)}`,
          )
          .join(', '),
    );
  }
  const reload = figures.get('reload')!;
  return {
    controlP99,
    reloadP99: reload.p99,
    reloadLongest: reload.longest,
    reloadWithin: reload.within,
    controlWithin: figures.get('control')!.within,
    reloadMs: meanReloadMs(),
  };
}

if (BASE === undefined) {
  await run(ROOT);
} else {
  const results: Array<{ tree: string; summary: RunSummary }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [tree, root] of [
      ['this tree', ROOT],
      ['BASE', BASE],
    ] as const) {
      console.log(`\n## round ${round + 1}, ${tree} (${root})`);
      results.push({ tree, summary: await run(root) });
    }
  }
  console.log(
    '\nrun        tree       control p99  reload p99  reload longest  reloads within  controls within  reload ms',
  );
  results.forEach(({ tree, summary: r }, i) =>
    console.log(
      `${String(i + 1).padEnd(10)} ${tree.padEnd(10)} ${r.controlP99.toFixed(2).padStart(11)}  ${r.reloadP99.toFixed(2).padStart(10)}  ` +
        `${r.reloadLongest.toFixed(2).padStart(14)}  ${`${r.reloadWithin} of ${CYCLES}`.padStart(14)}  ` +
        `${`${r.controlWithin} of ${CYCLES}`.padStart(15)}  ${r.reloadMs.toFixed(0).padStart(9)}`,
    ),
  );
}
