// Memory footprint of `portcullis serve` as deployed beside a pod (the sizing behind the memory requests and
// limits in envoy/istio/): the built CLI (`npm run build` first) in its own process, with the image's Node
// flags (Dockerfile ENTRYPOINT) and ENV, a policy directory compiled in a child process (as the Istio ConfigMap
// mounts it), JWT verification and one rate-limit rule. Reads the server's resident set (VmRSS) and its peak (VmHWM)
// from /proc after start-up and under check load, with a policy reload (a recompile) half-way through the
// load; the pod's figure adds the compiler child's resident set while it runs (what the container's memory
// limit counts). Linux only. Prints figures; asserts nothing.
//   npm run build && npm run bench:deploy-memory      (DURATION_SECONDS=20 CONCURRENCY=32 POLICY=bundle
//   REDIS_URL=redis://... to change)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkRequest, createTestClient } from '../test/helpers/checkClient.js';
import { freePort } from '../test/helpers/process.js';
import { createTestIssuer } from '../test/helpers/tokens.js';
import { imageNodeEnv, imageNodeFlags } from './imageNodeFlags.js';

const SECONDS = Number(process.env.DURATION_SECONDS ?? 20);
/** dir: the policy directory compiled at start-up (the Istio ConfigMap); bundle: compiled beforehand (the image). */
const POLICY = process.env.POLICY === 'bundle' ? 'bundle' : 'dir';
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const USERS = 500;

const dir = mkdtempSync(join(tmpdir(), 'portcullis-footprint-'));
const issuer = await createTestIssuer();
mkdirSync(join(dir, 'policies'));
cpSync(resolve('policies'), join(dir, 'policies'), { recursive: true });
const policyPath = POLICY === 'bundle' ? join(dir, 'bundle.tar.gz') : join(dir, 'policies');
if (POLICY === 'bundle') {
  const build = spawn(
    process.execPath,
    ['bin/portcullis.js', 'policy', 'build', join(dir, 'policies'), '-o', policyPath, '-e', 'envoy/authz/allow'],
    { stdio: 'inherit' },
  );
  await new Promise((r) => build.once('exit', r));
}
const grpcPort = await freePort();
const adminPort = await freePort();
writeFileSync(
  join(dir, 'c.yaml'),
  [
    `grpc: { address: 127.0.0.1:${grpcPort} }`,
    `admin: { address: 127.0.0.1:${adminPort} }`,
    'shutdown: { delaySeconds: 0 }',
    ...(process.env.REDIS_URL ? [`redis: { url: "${process.env.REDIS_URL}", keyPrefix: "footprint:" }`] : []),
    `jwt: { required: false, providers: [{ name: corp, issuer: "${issuer.issuer}", audiences: [${issuer.audience}], algorithms: [ES256], jwksFile: ${issuer.writeJwksFile(dir)} }] }`,
    'rateLimits: [{ name: per-user, key: [jwt.sub], limit: 1000000, periodSeconds: 60 }]',
    `policy: { path: ${policyPath}, watch: ${POLICY === 'dir'} }`,
    'decisionLog: { enabled: true }',
    'logLevel: warn',
  ].join('\n'),
);

const child = spawn(
  process.execPath,
  [...imageNodeFlags(resolve('.')), 'bin/portcullis.js', 'serve', '--config', join(dir, 'c.yaml')],
  {
    env: { ...process.env, ...imageNodeEnv(resolve('.')) },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const kibOf = (pid: number, key: string): number => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  } catch {
    return 0; // the process is gone
  }
};
const mib = (kib: number): number => Math.round(kib / 102.4) / 10;
/** The server's children: the compiler while a policy directory compiles. */
const childPids = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
const memory = (): { rssMiB: number; peakMiB: number; podMiB: number } => {
  const rss = kibOf(child.pid!, 'VmRSS');
  const children = childPids(child.pid!).reduce((sum, pid) => sum + kibOf(pid, 'VmRSS'), 0);
  return { rssMiB: mib(rss), peakMiB: mib(kibOf(child.pid!, 'VmHWM')), podMiB: mib(rss + children) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const started = Date.now();
for (;;) {
  try {
    if ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200) break;
  } catch {
    // not listening yet
  }
  if (child.exitCode !== null) throw new Error(`portcullis exited with ${child.exitCode}`);
  await sleep(100);
}
const startup = { seconds: (Date.now() - started) / 1000, ...memory() };
await sleep(2000);
const idle = memory();

const client = createTestClient(grpcPort);
const tokens = await Promise.all(
  Array.from({ length: USERS }, (_, i) => issuer.sign({ sub: `user-${i}`, roles: ['viewer'] })),
);
let checks = 0;
let maxRss = 0;
let maxPod = 0;
const deadline = Date.now() + SECONDS * 1000;
const sampler = setInterval(() => {
  const now = memory();
  maxRss = Math.max(maxRss, now.rssMiB);
  maxPod = Math.max(maxPod, now.podMiB);
}, 50);
// A policy change half-way through the load: the directory is recompiled (in a child process) while checks go on.
const touch =
  POLICY === 'dir'
    ? setTimeout(
        () =>
          writeFileSync(
            join(dir, 'policies', 'authz.rego'),
            `${readFileSync(join(dir, 'policies', 'authz.rego'), 'utf8')}\n# touched\n`,
          ),
        (SECONDS * 1000) / 2,
      )
    : undefined;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < deadline) {
      const token = tokens[checks % USERS]!;
      await client.check(checkRequest({ path: '/api/orders', headers: { authorization: `Bearer ${token}` } }));
      checks++;
    }
  }),
);
clearTimeout(touch);
clearInterval(sampler);
const loaded = { checksPerSecond: Math.round(checks / SECONDS), maxRssMiB: maxRss, maxPodMiB: maxPod, ...memory() };
await sleep(3000);
const after = memory();

client.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });

console.log(
  `node ${process.version}, ${POLICY === 'dir' ? 'policy directory compiled at start-up (in a child process)' : 'prebuilt bundle'}, ${process.env.REDIS_URL ? 'redis' : 'in-process'} store`,
);
console.log(
  `ready after ${startup.seconds.toFixed(1)} s: RSS ${startup.rssMiB} MiB (peak so far ${startup.peakMiB} MiB)`,
);
console.log(`idle: RSS ${idle.rssMiB} MiB`);
console.log(
  `under load (${CONCURRENCY} concurrent, ${SECONDS} s, ${loaded.checksPerSecond} checks/s${POLICY === 'dir' ? ', a policy reload half-way' : ''}): RSS up to ${loaded.maxRssMiB} MiB, peak ${loaded.peakMiB} MiB`,
);
console.log(`with the compiler child while it runs (the pod): up to ${loaded.maxPodMiB} MiB`);
console.log(`3 s after the load: RSS ${after.rssMiB} MiB`);
