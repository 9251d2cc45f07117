// `portcullis serve` started from a bench as the image runs it: the built bin/ of a checkout, the image's ENV
// (imageNodeEnv) and NODE_ENV=production, the Node flags given, a config on free loopback ports with JWT and the
// decision log off. Resolves once the server logs that it serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../test/helpers/process.js';
import { imageNodeEnv } from './imageNodeFlags.js';

export interface ServeOptions {
  /** the checkout whose bin/portcullis.js runs (and whose Dockerfile gives the ENV) */
  root: string;
  /** where the config file goes */
  dir: string;
  /** policy.path: a bundle, a `.wasm` or a directory of `.rego` */
  policyPath: string;
  watch: boolean;
  nodeFlags: readonly string[];
  /** more config lines (YAML flow mappings), e.g. `shutdown: { delaySeconds: 0 }` */
  config?: readonly string[];
  /** more environment variables */
  env?: Readonly<Record<string, string>>;
}

export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  grpcPort: number;
  adminPort: number;
  /** what the server printed so far, stdout and stderr (pino's JSON lines) */
  output(): string;
  /** how many successful reloads it has logged ('policy reloaded'), counted as its lines arrive */
  reloadsLogged(): number;
  /** SIGTERM, resolved once it has exited */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const grpcPort = await freePort();
  const adminPort = await freePort();
  const config = join(options.dir, `portcullis-${grpcPort}.yaml`);
  writeFileSync(
    config,
    [
      `grpc: { address: 127.0.0.1:${grpcPort} }`,
      `admin: { address: 127.0.0.1:${adminPort} }`,
      'jwt: { required: false, providers: [] }',
      'decisionLog: { enabled: false }',
      ...(options.config ?? []),
      `policy: { path: ${options.policyPath}, watch: ${options.watch} }`,
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [...options.nodeFlags, join(options.root, 'bin/portcullis.js'), 'serve', '--config', config],
    {
      cwd: options.root,
      env: { ...process.env, ...imageNodeEnv(options.root), NODE_ENV: 'production', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let reloadsLogged = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    reloadsLogged += text.split('"policy reloaded"').length - 1;
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  while (!output.includes('portcullis serving')) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${output}`);
    await sleep(20);
  }
  return {
    child,
    pid: child.pid!,
    grpcPort,
    adminPort,
    output: () => output,
    reloadsLogged: () => reloadsLogged,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
