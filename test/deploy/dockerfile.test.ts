// The Dockerfile, built without a Docker engine: its COPY and RUN steps (read from the file, not repeated
// here) run in temporary directories standing for each stage's filesystem, then the final stage's own
// ENTRYPOINT/CMD starts on free ports and must answer /healthz and /readyz, with the policy bundle the
// build compiled. Slow (two `npm ci`, a full build): it has a long timeout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import {
  aptPackages,
  buildWithoutDocker,
  dockerignoreMatcher,
  imageCommand,
  imageEnv,
  parseDockerfile,
  parseEnv,
  runCommands,
  splitFlags,
  type BuiltStage,
} from './dockerfile.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dockerfilePath = path.join(repoRoot, 'Dockerfile');
const BUILD_TIMEOUT_MS = 15 * 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string): Promise<Response> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`portcullis exited with ${child.exitCode} before answering:\n${output()}`);
    try {
      return await fetch(url);
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer from ${url} within 60 s:\n${output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('Dockerfile reader', () => {
  it('joins continuation lines, keeps stages apart and reads exec forms', () => {
    const stages = parseDockerfile(
      'FROM node:20 AS build\nWORKDIR /app\nRUN a \\\n  # note\n  && b\nFROM node:20\nCOPY --from=build /app/x ./x\nCMD ["serve"]\n',
    );
    expect(stages.map((s) => s.name)).toEqual(['build', '1']);
    expect(stages[0]!.instructions[1]).toEqual({ keyword: 'RUN', args: 'a && b', line: 3 });
    expect(stages[1]!.instructions.map((i) => i.keyword)).toEqual(['COPY', 'CMD']);
  });

  it('recognises a RUN step that only installs Debian packages, and nothing else as one', () => {
    expect(
      aptPackages('apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*'),
    ).toEqual(['tini']);
    expect(aptPackages('apt-get install -y curl ca-certificates')).toEqual(['curl', 'ca-certificates']);
    expect(aptPackages('apt-get update && apt-get install -y tini && curl -o /x http://example.com/x')).toBeNull();
    expect(aptPackages('npm ci --omit=dev')).toBeNull();
  });

  it('reads ENV pairs and .dockerignore patterns as Docker does', () => {
    expect(parseEnv('A=1 B="x y"')).toEqual({ A: '1', B: 'x y' });
    const ignored = dockerignoreMatcher('node_modules\n*.log\n**/secret\n');
    expect(ignored('node_modules/x/y.js')).toBe(true);
    expect(ignored('a.log')).toBe(true);
    expect(ignored('src/a.log')).toBe(false);
    expect(ignored('deep/er/secret')).toBe(true);
    expect(ignored('src/index.ts')).toBe(false);
  });

  it('finds in the real Dockerfile a build stage and a runtime stage with the steps the image needs', () => {
    const stages = parseDockerfile(fs.readFileSync(dockerfilePath, 'utf8'));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runs = stages.flatMap(runCommands);
    expect(runs.some((r) => /^npm ci\b/.test(r))).toBe(true);
    expect(runs).toContain('npm run build');
    expect(
      runs.some((r) => r.includes('policy build policies -o /app/policy/bundle.tar.gz -e envoy/authz/allow')),
    ).toBe(true);
    const last = stages.at(-1)!;
    expect(runCommands(last)).toContain('npm ci --omit=dev --ignore-scripts');
  });

  it('copies only files that exist in the repository and that .dockerignore lets into the build context', () => {
    const ignored = dockerignoreMatcher(fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'));
    const stages = parseDockerfile(fs.readFileSync(dockerfilePath, 'utf8'));
    const sources = stages
      .flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY'))
      .map((i) => splitFlags(i.args))
      .filter((copy) => copy.flags.from === undefined)
      .flatMap((copy) => copy.rest.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(fs.existsSync(path.join(repoRoot, source)), `${source} exists`).toBe(true);
      expect(ignored(source), `${source} is excluded by .dockerignore`).toBe(false);
    }
    // ...and the build context leaves out what must never reach an image layer.
    for (const excluded of ['node_modules', '.git', 'dist', 'test']) expect(ignored(excluded), excluded).toBe(true);
  });
});

/**
 * `npm ci` refuses a package-lock.json that does not match package.json (for example one written against a
 * registry mirror that lacks some platform packages). Then no image can be built from this checkout at all;
 * the suite says so in its name instead of failing on the first RUN step. `npm ci --dry-run` checks that in
 * about a second without installing anything.
 */
function npmCiPrecheck(): { ok: boolean; reason: string } {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-npmci-'));
  try {
    // The workspace packages' manifests too: npm ci installs (links) them.
    for (const file of ['package.json', 'package-lock.json', 'packages/rego-wasm/package.json']) {
      fs.mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
      fs.copyFileSync(path.join(repoRoot, file), path.join(scratch, file));
    }
    const result = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--prefer-offline'], {
      cwd: scratch,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const firstError = `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('npm error') && l.length > 'npm error '.length)
      .slice(0, 2)
      .join(' / ');
    return { ok: result.status === 0, reason: firstError };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const npmCi = npmCiPrecheck();
const imageSuite = 'the image built from the Dockerfile, without Docker';

describe.skipIf(!npmCi.ok)(
  npmCi.ok ? imageSuite : `${imageSuite} — SKIPPED: npm ci cannot install package-lock.json here (${npmCi.reason})`,
  () => {
    let workDir: string;
    let stages: BuiltStage[];
    let image: BuiltStage;
    let child: ChildProcess | undefined;
    let childOutput = '';
    let adminAddress = '';
    /** Whether the image's init (tini, a Debian package) exists on this machine and so ran for real. */
    let initRan = false;

    beforeAll(async () => {
      workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-image-'));
      stages = await buildWithoutDocker({
        context: repoRoot,
        dockerfile: dockerfilePath,
        outDir: workDir,
        // Reuse the machine's npm cache; the steps themselves are the Dockerfile's.
        runEnv: {
          npm_config_prefer_offline: 'true',
          npm_config_audit: 'false',
          npm_config_fund: 'false',
          npm_config_update_notifier: 'false',
        },
      });
      image = stages.at(-1)!;

      const grpcPort = await freePort();
      const adminPort = await freePort();
      adminAddress = `127.0.0.1:${adminPort}`;
      let imageArgv = imageCommand(image);
      // The init comes from an apt-get step, which is recorded, not run: use the machine's copy when it has one.
      initRan = fs.existsSync(imageArgv[0]!);
      if (!initRan && image.osPackages.includes(path.basename(imageArgv[0]!)))
        imageArgv = imageArgv.slice(imageArgv.indexOf('--') + 1);
      const [command, ...args] = imageArgv;
      child = spawn(command!, args, {
        cwd: path.join(image.root, image.workdir),
        env: {
          PATH: process.env.PATH ?? '',
          HOME: os.tmpdir(),
          ...imageEnv(image),
          PORTCULLIS_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
          PORTCULLIS_ADMIN_ADDRESS: adminAddress,
          // The image's config names /app/policy/bundle.tar.gz; here /app is a directory of the stage.
          PORTCULLIS_POLICY: path.join(image.root, 'app', 'policy', 'bundle.tar.gz'),
          PORTCULLIS_SHUTDOWN_DELAY_SECONDS: '0.5',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk: Buffer) => (childOutput += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (childOutput += chunk.toString()));
    }, BUILD_TIMEOUT_MS);

    afterAll(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      // Two stages' node_modules: tens of thousands of files. Removed without blocking the worker's event loop
      // (a synchronous rm starves vitest's own RPC on a busy machine), with time to spare.
      if (workDir) await fs.promises.rm(workDir, { recursive: true, force: true });
    }, 300_000);

    it('answers /healthz and /readyz on the admin port once started with the image command', async () => {
      const health = await waitForHttp(`http://${adminAddress}/healthz`, child!, () => childOutput);
      expect(health.status, childOutput).toBe(200);
      const deadline = Date.now() + 30_000;
      let ready = await fetch(`http://${adminAddress}/readyz`);
      while (ready.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        ready = await fetch(`http://${adminAddress}/readyz`);
      }
      expect(ready.status, childOutput).toBe(200);
    }, 120_000);

    it("passes the Dockerfile's own HEALTHCHECK command, which probes the admin address the config reads", async () => {
      await waitForHttp(`http://${adminAddress}/healthz`, child!, () => childOutput);
      expect(image.healthcheck).not.toBeNull();
      const [command, ...args] = imageCommand({ ...image, entrypoint: image.healthcheck!, cmd: [] });
      const probe = (address: string) =>
        spawnSync(command!, args, {
          encoding: 'utf8',
          timeout: 10_000,
          env: { ...imageEnv(image), PATH: process.env.PATH ?? '', PORTCULLIS_ADMIN_ADDRESS: address },
        });
      const healthy = probe(adminAddress);
      expect(healthy.status, healthy.stderr).toBe(0);
      // Not a hard-coded port: the same probe against an address where nothing listens fails.
      expect(probe(`127.0.0.1:${await freePort()}`).status).toBe(1);
      // The image's default is the one its portcullis.yaml falls back to.
      expect(image.env['PORTCULLIS_ADMIN_ADDRESS']).toBe('0.0.0.0:9192');
    }, 120_000);

    it('probes health without starting a Node process', () => {
      expect(image.healthcheck![0]).not.toMatch(/(^|\/)node$/);
      expect(image.healthcheck!.join(' ')).not.toMatch(/\bnode\b/);
    });

    it('runs under tini, from Debian, as PID 1 so SIGTERM reaches Node', () => {
      expect(image.entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
      expect(image.osPackages).toContain('tini');
    });

    it('compiled the policies at build time into an OPA-layout bundle with the default entrypoint', async () => {
      const bundle = path.join(image.root, 'app', 'policy', 'bundle.tar.gz');
      const entries: string[] = [];
      await tar.t({ file: bundle, onReadEntry: (entry) => void entries.push(entry.path.replace(/^\/?/, '/')) });
      expect(entries).toEqual(expect.arrayContaining(['/policy.wasm', '/data.json', '/.manifest']));
      const policyResponse = await fetch(`http://${adminAddress}/v1/policy`);
      expect(JSON.stringify(await policyResponse.json())).toContain('envoy/authz/allow');
    });

    it('keeps the final image to production dependencies and compiled output', () => {
      const app = path.join(image.root, 'app');
      expect(fs.existsSync(path.join(app, 'dist', 'cli', 'main.js'))).toBe(true);
      // gRPC is served on node:http2 with protobufjs: no gRPC library in production.
      expect(fs.existsSync(path.join(app, 'node_modules', 'protobufjs', 'light.js'))).toBe(true);
      // The Envoy proto tree is a development dependency (the server's protos are in proto/); of binaryen, a
      // development dependency too, only the library is copied in, not its command-line tools.
      expect(fs.existsSync(path.join(app, 'node_modules', 'binaryen', 'index.js'))).toBe(true);
      expect(fs.existsSync(path.join(app, 'node_modules', 'binaryen', 'bin')), 'binaryen/bin in the image').toBe(false);
      for (const devOnly of ['typescript', 'vitest', 'tsx', 'assemblyscript', '@grpc/grpc-js', '@grpc/grpc-js-xds']) {
        expect(fs.existsSync(path.join(app, 'node_modules', devOnly)), `node_modules/${devOnly} in the image`).toBe(
          false,
        );
      }
      expect(fs.existsSync(path.join(app, 'src')), 'TypeScript sources in the image').toBe(false);
      expect(fs.existsSync(path.join(app, 'test')), 'tests in the image').toBe(false);
    });

    it('compiles a mounted directory of .rego with its own node_modules (as envoy/istio/ mounts policies)', () => {
      const policies = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-image-policies-'));
      try {
        fs.writeFileSync(
          path.join(policies, 'authz.rego'),
          'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
        );
        // The image's node, its flags and the CLI, without the init in front of them.
        const argv = imageCommand(image);
        const nodeAt = argv.findIndex((arg) => arg === 'node' || arg.endsWith('/node'));
        const cliAt = argv.findIndex((arg) => arg.endsWith('bin/portcullis.js'));
        const out = path.join(policies, 'out.wasm');
        const result = spawnSync(
          argv[nodeAt]!,
          [...argv.slice(nodeAt + 1, cliAt + 1), 'policy', 'build', policies, '-o', out],
          {
            cwd: path.join(image.root, image.workdir),
            env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...imageEnv(image) },
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
        expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
        expect(fs.readFileSync(out).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
      } finally {
        fs.rmSync(policies, { recursive: true, force: true });
      }
    }, 120_000);

    it('runs as a numeric non-root user, exposes 9191 and 9192 and starts `portcullis serve`', () => {
      expect(image.user).toMatch(/^[1-9]\d*(:\d+)?$/);
      expect(image.exposed.sort()).toEqual([9191, 9192]);
      const command = [...image.entrypoint, ...image.cmd];
      expect(command.some((a) => a.endsWith('bin/portcullis.js'))).toBe(true);
      expect(command.at(-1)).toBe('serve');
    });

    // Last: it stops the process the tests above use.
    it('on SIGTERM shuts down and exits 0 (through tini when the machine has it)', async () => {
      await waitForHttp(`http://${adminAddress}/healthz`, child!, () => childOutput);
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child!.kill('SIGTERM');
      expect(await exited, childOutput).toBe(0);
      expect(childOutput).toContain('portcullis stopped');
      if (!initRan) console.warn('tini is not installed on this machine: the image command ran without its init');
    }, 60_000);
  },
);
