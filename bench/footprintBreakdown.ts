// Where the idle memory of `portcullis serve` serving a bundle goes, from real processes (the built dist/, the
// image's Node flags and ENV), read through /proc and from inside the server. Prints figures; asserts nothing.
//   npm run bench:footprint:breakdown      (runs `npm run build` first; Linux only: reads /proc)
//   SERVE_NODE_FLAGS="..." for the server's Node flags (default: the image's); PACKAGES=0 skips the per-package
//   costs; SKIP_BUILD=1 measures dist/ as it is; SETTLE_SECONDS=25 for the later idle sample
// Sections:
// - a bare `node` with the same flags: the binary's own pages, the floor under every figure;
// - the server after start-up, 1,000 checks and a pause: resident set (file-backed: the binary and shared
//   libraries; anonymous: heaps), V8's heap by space, code, external memory and array buffers; the same server
//   again once V8's memory reducer has run (what an idle sidecar settles at);
// - the idle heap from a heap snapshot of that server (taken last): self size by kind of object, the module
//   source text it keeps by package, and the largest retained objects with their retainers (bench/heapSnapshot.ts);
// - the modules the serving process loads (ESM through a resolve hook, CommonJS from require.cache), by package:
//   files and bytes of source;
// - what each package costs: imported in a bare process, in the server's order (marginal: on top of the ones
//   before it) and alone (which also counts what any first package pays: the CommonJS loader, V8's optimizing
//   compiler's pages).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkRequest, createTestClient } from '../test/helpers/checkClient.js';
import { MODULE_LOG_ENV, writeModuleLogHook } from '../test/helpers/moduleLog.js';
import { largestRetained, parseHeapSnapshot, selfSizeByKind, sourceTextByPackage } from './heapSnapshot.js';
import { imageNodeEnv, imageNodeFlags } from './imageNodeFlags.js';
import { startServe } from './serveProcess.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MB = 1024 * 1024;
const SETTLE_SECONDS = Number(process.env.SETTLE_SECONDS ?? 25);
const NODE_FLAGS = (process.env.SERVE_NODE_FLAGS ?? imageNodeFlags(ROOT).join(' ')).split(' ').filter(Boolean);
const NODE_ENV_VARS = { ...process.env, ...imageNodeEnv(ROOT) };
const REQUESTS = [checkRequest({ path: '/healthz' }), checkRequest({ path: '/api/orders/1', method: 'POST' })];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/** Resident-set fields of /proc/PID/status, in bytes. */
function residentSet(pid: number | 'self'): { rss: number; file: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: field('VmRSS'), file: field('RssFile') + field('RssShmem'), anon: field('RssAnon') };
}

// Loaded with --import into the server: on SIGUSR2 it writes V8's figures and the CommonJS module list.
const PROBE = `import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
const require = createRequire(import.meta.url);
let signals = 0;
process.on('SIGUSR2', () => {
  // The second signal, after the settled sample: a heap snapshot (its collections would have changed that sample).
  if (signals++ > 0) return void v8.writeHeapSnapshot(process.env.FOOTPRINT_SNAPSHOT_OUT);
  writeFileSync(process.env.FOOTPRINT_PROBE_OUT, JSON.stringify({
    memory: process.memoryUsage(),
    spaces: v8.getHeapSpaceStatistics(),
    code: v8.getHeapCodeStatistics(),
    heap: v8.getHeapStatistics(),
    cjs: Object.keys(require.cache),
  }));
});
`;

interface Probe {
  memory: NodeJS.MemoryUsage;
  spaces: Array<{ space_name: string; space_size: number; space_used_size: number; physical_space_size: number }>;
  code: { code_and_metadata_size: number; bytecode_and_metadata_size: number; external_script_source_size: number };
  heap: { malloced_memory: number; total_physical_size: number };
  cjs: string[];
}

async function serveBundle(
  work: string,
  bundle: string,
  extraFlags: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const serve = await startServe({
    root: ROOT,
    dir: work,
    policyPath: bundle,
    watch: false,
    nodeFlags: [...NODE_FLAGS, ...extraFlags],
    config: ['shutdown: { delaySeconds: 0 }'],
    env,
  });
  const client = createTestClient(serve.grpcPort);
  for (let i = 0; i < 1_000; i++) await client.check(REQUESTS[i % REQUESTS.length]);
  client.close();
  await sleep(3_000);
  return serve;
}

/** The package a module file belongs to: `node_modules/<name>`, the workspace package, or dist/<folder>. */
function packageOf(file: string): string {
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  if (inModules) return inModules[1]!;
  const inWorkspace = /\/packages\/([^/]+)\/dist\/([^/]+)/.exec(file);
  if (inWorkspace) return `packages/${inWorkspace[1]}${inWorkspace[2]!.endsWith('.js') ? '' : `/${inWorkspace[2]}`}`;
  const inDist = /\/dist\/([^/]+)\//.exec(file);
  return inDist ? `dist/${inDist[1]}` : file.replace(ROOT, '');
}

/** RSS and V8 heap of a bare process with the server's flags that imports `specifiers` (none: the floor). */
function costOf(specifiers: string[]): { rss: number; heapUsed: number } {
  const script = `${specifiers.map((s) => `await import(${JSON.stringify(s)});`).join('')}
globalThis.gc(); await new Promise((r) => setTimeout(r, 1500));
const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
console.log(JSON.stringify({ rss: Number(/^VmRSS:\\s+(\\d+)/m.exec(status)[1]) * 1024, heapUsed: process.memoryUsage().heapUsed }));`;
  const run = spawnSync(process.execPath, [...NODE_FLAGS, '--expose-gc', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...NODE_ENV_VARS, NODE_ENV: 'production' },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`importing ${specifiers.join(', ')} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout) as { rss: number; heapUsed: number };
}

/** The median of three runs of `costOf` (RSS varies by a few hundred kB from run to run). */
function medianCost(specifiers: string[]): { rss: number; heapUsed: number } {
  const runs = [costOf(specifiers), costOf(specifiers), costOf(specifiers)];
  const median = (values: number[]): number => values.sort((a, b) => a - b)[1]!;
  return { rss: median(runs.map((r) => r.rss)), heapUsed: median(runs.map((r) => r.heapUsed)) };
}

const work = mkdtempSync(join(tmpdir(), 'portcullis-breakdown-'));
try {
  if (process.env.SKIP_BUILD !== '1') {
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }
  const bundle = join(work, 'bundle.tar.gz');
  const build = spawnSync(
    process.execPath,
    ['bin/portcullis.js', 'policy', 'build', join(ROOT, 'policies'), '-o', bundle],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`policy build failed:\n${build.stderr}`);
  writeFileSync(join(work, 'probe.mjs'), PROBE);
  const moduleLogHook = writeModuleLogHook(work);

  console.log(
    `footprint breakdown (node ${process.version} ${NODE_FLAGS.join(' ')}; env ${JSON.stringify(imageNodeEnv(ROOT))}):`,
  );
  const row = (what: string, value: string, note = ''): void =>
    console.log(`  ${what.padEnd(44)} ${value.padStart(10)}  ${note}`);

  const bare = spawn(process.execPath, [...NODE_FLAGS, '-e', 'setInterval(() => {}, 1e6)'], { env: NODE_ENV_VARS });
  await sleep(1_500);
  const bareSet = residentSet(bare.pid!);
  bare.kill();

  const probeOut = join(work, 'probe.json');
  const snapshotOut = join(work, 'idle.heapsnapshot');
  const probed = await serveBundle(work, bundle, ['--import', pathToFileURL(join(work, 'probe.mjs')).href], {
    FOOTPRINT_PROBE_OUT: probeOut,
    FOOTPRINT_SNAPSHOT_OUT: snapshotOut,
  });
  const set = residentSet(probed.child.pid!);
  probed.child.kill('SIGUSR2');
  // V8's memory reducer starts ~8 s after the last full collection once allocation is low, then compacts the heap
  // and gives pages back: what a sidecar left idle settles at (the figure above is bench:footprint's).
  await sleep(SETTLE_SECONDS * 1000);
  const settled = residentSet(probed.child.pid!);
  probed.child.kill('SIGUSR2');
  while (!existsSync(snapshotOut) || statSync(snapshotOut).size === 0) await sleep(200);
  await sleep(1_000); // written in one go once it appears; give it time to finish
  await probed.stop();
  const probe = JSON.parse(readFileSync(probeOut, 'utf8')) as Probe;

  console.log('resident set (/proc/PID/status), idle after 1,000 checks:');
  row(
    'bare node with the same flags',
    mb(bareSet.rss),
    `file-backed ${mb(bareSet.file)}, anonymous ${mb(bareSet.anon)}`,
  );
  row('portcullis serve (a bundle)', mb(set.rss), `file-backed ${mb(set.file)}, anonymous ${mb(set.anon)}`);
  row('  above the bare process', mb(set.rss - bareSet.rss));
  row(`  ${SETTLE_SECONDS} s later (V8's memory reducer ran)`, mb(settled.rss), `anonymous ${mb(settled.anon)}`);
  console.log('V8 and Node, from inside the server (process.memoryUsage, v8.getHeap*Statistics):');
  row('heap committed / used', `${mb(probe.memory.heapTotal)}`, `used ${mb(probe.memory.heapUsed)}`);
  for (const space of probe.spaces.filter((s) => s.physical_space_size > 0)) {
    row(`  ${space.space_name}`, mb(space.physical_space_size), `used ${mb(space.space_used_size)}`);
  }
  row(
    '  bytecode / machine code and metadata',
    mb(probe.code.bytecode_and_metadata_size),
    `code ${mb(probe.code.code_and_metadata_size)}`,
  );
  row('  source text of loaded scripts (external)', mb(probe.code.external_script_source_size));
  row('external (C++ objects tied to JS)', mb(probe.memory.external), `array buffers ${mb(probe.memory.arrayBuffers)}`);
  row("V8's malloc'ed memory outside the heap", mb(probe.heap.malloced_memory));
  row(
    'anonymous memory not in the V8 heap',
    mb(set.anon - probe.heap.total_physical_size),
    'malloc arenas, thread stacks, Wasm memory, Node',
  );

  // What the idle heap holds, from a snapshot taken after the settled sample (the same server).
  const graph = parseHeapSnapshot(readFileSync(snapshotOut, 'utf8'));
  const kB = (bytes: number): string => `${(bytes / 1024).toFixed(0)} kB`;
  console.log('the idle heap (a heap snapshot after the settled sample), self size by kind, largest first:');
  for (const r of selfSizeByKind(graph, 12)) row(`  ${r.what}`, kB(r.bytes), `${r.count} objects`);
  console.log('  module source text kept on the heap, by package:');
  for (const r of sourceTextByPackage(graph, packageOf, 12)) row(`    ${r.what}`, kB(r.bytes), `${r.count} scripts`);
  console.log('largest retained at idle (what would be freed with it; <- its retainers, nearest first):');
  for (const r of largestRetained(graph, 15)) console.log(`  ${kB(r.bytes).padStart(8)}  ${r.what}`);

  // The module list: a second server with the resolve hook (the hook's own thread would blur the figures above).
  const moduleLog = join(work, 'modules.log');
  writeFileSync(moduleLog, '');
  const recorded = await serveBundle(work, bundle, ['--import', moduleLogHook], { [MODULE_LOG_ENV]: moduleLog });
  await recorded.stop();
  const resolved = readFileSync(moduleLog, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file:'))
    .map((url) => fileURLToPath(url));
  const files = new Set([...resolved, ...probe.cjs.filter((file) => file.startsWith('/'))]);
  const byPackage = new Map<string, { files: number; bytes: number }>();
  for (const file of files) {
    const entry = byPackage.get(packageOf(file)) ?? { files: 0, bytes: 0 };
    entry.files++;
    entry.bytes += statSync(file).size;
    byPackage.set(packageOf(file), entry);
  }
  console.log(`modules loaded serving a bundle (${files.size} files), by package, largest source first:`);
  const packages = [...byPackage].sort((a, b) => b[1].bytes - a[1].bytes);
  for (const [name, { files: count, bytes }] of packages)
    row(`  ${name}`, `${(bytes / 1024).toFixed(0)} kB`, `${count} files`);

  if (process.env.PACKAGES !== '0') {
    console.log(
      'cost of what the server loads, in the order it loads it: each step imported in a bare process with the ' +
        'server\'s flags, after a GC (median of 3); "alone": that step by itself, "marginal": on top of the steps above:',
    );
    // The project's own dependencies (their dependencies count within them), in the order the server first
    // resolves them, then the compiler package's evaluation-time entry and the server's own modules.
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const order = [...new Set(resolved.map(packageOf))].filter(
      (name) => name in dependencies && name !== '@portcullis/rego-wasm',
    );
    const own = (file: string): string => pathToFileURL(join(ROOT, file)).href;
    const steps: Array<{ name: string; specifier: string }> = [
      ...order.map((name) => ({ name, specifier: name })),
      // The builtins entry the server imports (only the namespaces a module calls load later), and what it keeps
      // of the config (the YAML parser, zod and the schema load in the config child: loadInChild.ts).
      { name: '@portcullis/rego-wasm/builtins/lazy', specifier: '@portcullis/rego-wasm/builtins/lazy' },
      { name: 'dist/config/loadInChild.js (config child)', specifier: own('dist/config/loadInChild.js') },
      { name: 'dist/server/sidecar.js (the server)', specifier: own('dist/server/sidecar.js') },
      { name: 'dist/cli/serve.js (the serve command)', specifier: own('dist/cli/serve.js') },
    ];
    const floor = medianCost([]);
    row('  bare process (the floor)', mb(floor.rss), `heap ${mb(floor.heapUsed)}`);
    let before = floor;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const alone = medianCost([step.specifier]);
      const cumulative = medianCost(steps.slice(0, i + 1).map((s) => s.specifier));
      row(
        `  ${step.name}`,
        `+${mb(cumulative.rss - before.rss)}`,
        `marginal, heap +${mb(cumulative.heapUsed - before.heapUsed)}; alone +${mb(alone.rss - floor.rss)}, heap +${mb(alone.heapUsed - floor.heapUsed)}`,
      );
      before = cumulative;
    }
    row('  all of the above', mb(before.rss), `heap ${mb(before.heapUsed)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
