// Memory footprint of `portcullis serve` as deployed beside a pod (the sizing behind the memory requests and
// limits in envoy/istio/): the built CLI (`npm run build` first) in its own process with a policy directory
// compiled in-process (as the Istio ConfigMap mounts it), JWT verification and one rate-limit rule. Reads
// the child's resident set (VmRSS) and its peak (VmHWM) from /proc after start-up, under check load, and
// after a policy reload (a recompile). Linux only. Prints figures; asserts nothing.
//   npm run build && npm run bench:deploy-memory      (DURATION_SECONDS=20 CONCURRENCY=32 POLICY=bundle
//   REDIS_URL=redis://... to change)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkRequest, createTestClient } from '../test/helpers/checkClient.js';
import { freePort } from '../test/helpers/process.js';
import { createTestIssuer } from '../test/helpers/tokens.js';

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

const child = spawn(process.execPath, ['bin/portcullis.js', 'serve', '--config', join(dir, 'c.yaml')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const memory = (): { rssMiB: number; peakMiB: number } => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: Math.round(kib('VmRSS') / 102.4) / 10, peakMiB: Math.round(kib('VmHWM') / 102.4) / 10 };
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
const deadline = Date.now() + SECONDS * 1000;
const sampler = setInterval(() => (maxRss = Math.max(maxRss, memory().rssMiB)), 250);
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < deadline) {
      const token = tokens[checks % USERS]!;
      await client.check(checkRequest({ path: '/api/orders', headers: { authorization: `Bearer ${token}` } }));
      checks++;
    }
  }),
);
clearInterval(sampler);
const loaded = { checksPerSecond: Math.round(checks / SECONDS), maxRssMiB: maxRss, ...memory() };

// A policy change: the directory is recompiled in-process while checks go on.
if (POLICY === 'dir') {
  writeFileSync(
    join(dir, 'policies', 'authz.rego'),
    `${readFileSync(join(dir, 'policies', 'authz.rego'), 'utf8')}\n# touched\n`,
  );
  await sleep(5000);
}
const reloaded = memory();

client.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });

console.log(
  `node ${process.version}, ${POLICY === 'dir' ? 'policy directory compiled in-process' : 'prebuilt bundle'}, ${process.env.REDIS_URL ? 'redis' : 'in-process'} store`,
);
console.log(
  `ready after ${startup.seconds.toFixed(1)} s: RSS ${startup.rssMiB} MiB (peak so far ${startup.peakMiB} MiB)`,
);
console.log(`idle: RSS ${idle.rssMiB} MiB`);
console.log(
  `under load (${CONCURRENCY} concurrent, ${SECONDS} s, ${loaded.checksPerSecond} checks/s): RSS up to ${loaded.maxRssMiB} MiB, peak ${loaded.peakMiB} MiB`,
);
console.log(
  `${POLICY === 'dir' ? 'after a policy reload' : 'at the end'}: RSS ${reloaded.rssMiB} MiB, peak over the whole run ${reloaded.peakMiB} MiB`,
);
