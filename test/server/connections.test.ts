// gRPC connections are capped and do not live forever: idle and aged connections are closed, the ones past
// grpc.maxConnections are refused at accept, and the cap leaves descriptors for the admin port, so /healthz
// answers while gRPC is saturated. Driven with real sockets and raw HTTP/2 sessions.
import { spawn } from 'node:child_process';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectionCap } from '../../src/server/grpcListener.js';
import { checkRequest, createTestClient } from '../helpers/checkClient.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { makeTempDir, startTestSidecar, writeFiles } from '../helpers/sidecar.js';

const allowAll = { loadPolicy: functionPolicy(() => true) };

/** A raw HTTP/2 session, resolved once the server's SETTINGS arrived (the server took the connection). */
function openSession(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
    session.once('close', () => reject(new Error('closed before the server sent SETTINGS')));
  });
}

/** Resolves with how the session ended. */
function ended(session: ClientHttp2Session): Promise<'goaway' | 'close'> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) resolve('close');
    session.once('goaway', () => resolve('goaway'));
    session.once('close', () => resolve('close'));
  });
}

async function eventually(probe: () => boolean | Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('grpc.maxConnections', () => {
  it('refuses connections past the cap, counts them, keeps /healthz answering, and accepts again when one closes', async () => {
    const t = await startTestSidecar({ config: { grpc: { maxConnections: 4 } }, options: allowAll });
    const sessions: ClientHttp2Session[] = [];
    try {
      // The test client holds one connection once it has made a call.
      expect((await t.client.check(checkRequest())).okResponse).toBeDefined();
      for (let i = 0; i < 3; i++) sessions.push(await openSession(t.sidecar.grpcPort));
      await expect(openSession(t.sidecar.grpcPort)).rejects.toThrow();
      const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/portcullis_grpc_connections_refused_total [1-9]/);
      expect(metrics).toMatch(/portcullis_grpc_connections 4/);
      expect((await fetch(`${t.adminUrl}/healthz`)).status).toBe(200);
      expect(t.logs.some((l) => l['msg'] === 'gRPC connection refused: grpc.maxConnections connections are open')).toBe(
        true,
      );

      sessions.pop()?.close();
      await eventually(async () => {
        const session = await openSession(t.sidecar.grpcPort).catch(() => undefined);
        if (session !== undefined) sessions.push(session);
        return session !== undefined;
      }, 'a free connection slot');
    } finally {
      for (const s of sessions) s.destroy();
      await t.close();
    }
  });

  it('is lowered under the open-file limit to leave descriptors for the admin port and the rest', () => {
    expect(connectionCap(1000, 1024)).toBe(768);
    expect(connectionCap(100, 1024)).toBe(100);
    expect(connectionCap(1000, undefined)).toBe(1000);
    expect(connectionCap(1000, 100)).toBe(1);
  });
});

describe('connection lifetimes', () => {
  it('closes a connection idle for grpc.maxConnectionIdleSeconds', async () => {
    const t = await startTestSidecar({
      config: { grpc: { maxConnectionIdleSeconds: 0.3, maxConnectionAgeSeconds: 0 } },
      options: allowAll,
    });
    try {
      const session = await openSession(t.sidecar.grpcPort);
      expect(await ended(session)).toBeDefined();
      await eventually(() => session.closed || session.destroyed, 'the idle session to close');
    } finally {
      await t.close();
    }
  });

  it('closes a bare TCP connection that never speaks HTTP/2 once it is idle', async () => {
    const t = await startTestSidecar({ config: { grpc: { maxConnectionIdleSeconds: 0.3 } }, options: allowAll });
    try {
      const socket: Socket = connectTcp(t.sidecar.grpcPort, '127.0.0.1');
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    } finally {
      await t.close();
    }
  });

  it('ends a connection older than grpc.maxConnectionAgeSeconds with a GOAWAY, even a busy one', async () => {
    const t = await startTestSidecar({
      config: {
        grpc: { maxConnectionIdleSeconds: 0, maxConnectionAgeSeconds: 0.5, maxConnectionAgeGraceSeconds: 0.2 },
      },
      options: allowAll,
    });
    const client = createTestClient(t.sidecar.grpcPort);
    try {
      const session = await openSession(t.sidecar.grpcPort);
      expect(await ended(session)).toBe('goaway');
      // A client that reconnects (as Envoy does) keeps being served across the age limit.
      for (let i = 0; i < 10; i++) {
        expect((await client.check(checkRequest())).okResponse).toBeDefined();
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.close();
      await t.close();
    }
  });

  it('keeps an idle connection open when no idle limit is set', async () => {
    const t = await startTestSidecar({
      config: { grpc: { maxConnectionIdleSeconds: 0, maxConnectionAgeSeconds: 0 } },
      options: allowAll,
    });
    try {
      const session = await openSession(t.sidecar.grpcPort);
      await new Promise((r) => setTimeout(r, 1000));
      expect(session.closed).toBe(false);
      session.destroy();
    } finally {
      await t.close();
    }
  });
});

describe('under a small open-file limit (ulimit -n 400)', () => {
  it('still answers /healthz with 450 idle connections pressing on the gRPC port', { timeout: 120_000 }, async () => {
    const dir = makeTempDir('portcullis-fd-');
    writeFiles(dir, {
      'policies/authz.rego': 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
      'c.yaml': `grpc: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\npolicy: { path: ${join(dir, 'policies')}, watch: false }\n`,
    });
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const runCli = fileURLToPath(new URL('../helpers/runCli.ts', import.meta.url));
    const child = spawn(
      'sh',
      [
        '-c',
        `ulimit -n 400 && exec "${process.execPath}" --import tsx "${runCli}" serve --config "${join(dir, 'c.yaml')}"`,
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const sockets: Socket[] = [];
    try {
      await eventually(() => output.includes('portcullis serving'), 'the sidecar to start', 60_000);
      const serving = JSON.parse(output.split('\n').find((l) => l.includes('portcullis serving')) ?? '{}') as {
        grpcPort: number;
        adminPort: number;
      };
      expect(output).toContain('grpc.maxConnections lowered');
      for (let i = 0; i < 450; i++) {
        const socket = connectTcp(serving.grpcPort, '127.0.0.1');
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      await new Promise((r) => setTimeout(r, 500));
      const health = await fetch(`http://127.0.0.1:${serving.adminPort}/healthz`, {
        signal: AbortSignal.timeout(10_000),
      });
      expect(health.status).toBe(200);
      const client = createTestClient(serving.grpcPort);
      for (const s of sockets.splice(0, 50)) s.destroy();
      await eventually(
        async () => (await client.check(checkRequest()).catch(() => undefined))?.okResponse !== undefined,
        'a check once connections were freed',
      );
      client.close();
    } finally {
      for (const s of sockets) s.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
