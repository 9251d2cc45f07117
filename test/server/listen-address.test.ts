// The Check port is loopback-only by default, and binding it elsewhere without TLS logs a warning.
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { adminExposureWarning, isLoopbackHost, plaintextExposureWarning } from '../../src/server/listenAddress.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** Resolves true when a TCP connection to host:port is accepted, false when it is refused. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** This machine's first non-loopback IPv4 address, the one a neighbour in the network would dial. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
}

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );
  it.each(['0.0.0.0', '::', '[::]', '10.0.0.5', '192.0.2.2', 'portcullis', '128.0.0.1', '::ffff:10.0.0.1'])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('plaintextExposureWarning', () => {
  it('warns for a routable address without TLS, naming the address and the fix', () => {
    const warning = plaintextExposureWarning({ address: '0.0.0.0:9191' });
    expect(warning).toContain('grpc.address 0.0.0.0:9191');
    expect(warning).toContain('grpc.tls');
  });

  it('stays quiet on loopback, and when grpc.tls is configured', () => {
    expect(plaintextExposureWarning({ address: '127.0.0.1:9191' })).toBeNull();
    expect(plaintextExposureWarning({ address: '0.0.0.0:9191', tls: { certFile: 'c', keyFile: 'k' } })).toBeNull();
  });

  it('warns about any non-loopback admin port without admin.tls, and names the token when one is set', () => {
    const plain = adminExposureWarning({ address: '0.0.0.0:9192' });
    expect(plain).toContain('admin.address 0.0.0.0:9192');
    expect(plain).toContain('admin.tls');
    expect(plain).not.toContain('admin.token');
    expect(adminExposureWarning({ address: '0.0.0.0:9192', token: 't' })).toContain('admin.token is set');
    expect(adminExposureWarning({ address: '127.0.0.1:9192', token: 't' })).toBeNull();
    expect(adminExposureWarning({ address: '[::1]:9192' })).toBeNull();
    expect(
      adminExposureWarning({ address: '0.0.0.0:9192', token: 't', tls: { certFile: 'c', keyFile: 'k' } }),
    ).toBeNull();
  });
});

describe('the Check port of a running sidecar', () => {
  let t: TestSidecar | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const start = (address: string) =>
    startTestSidecar({ config: { grpc: { address } }, options: { loadPolicy: functionPolicy(() => true) } });
  const exposureWarnings = (s: TestSidecar) =>
    s.logs.filter((l) => l['level'] === 40 && String(l['msg']).startsWith('grpc.address'));

  it('listens only on loopback with the default grpc.address', async () => {
    const defaultAddress = configSchema.parse({}).grpc.address;
    expect(defaultAddress).toBe('127.0.0.1:9191');
    // The default's host, on a free port (9191 itself may be taken on a shared machine).
    t = await start(defaultAddress.replace(/:\d+$/, ':0'));
    const port = t.sidecar.grpcPort;
    expect(await connects('127.0.0.1', port)).toBe(true);
    const external = externalAddress();
    expect(external, 'this test needs a non-loopback interface to dial').toBeDefined();
    expect(await connects(external!, port)).toBe(false);
    expect(exposureWarnings(t)).toEqual([]);
  });

  it('is reachable on every interface when bound to 0.0.0.0, and says so in a warning at start-up', async () => {
    t = await start('0.0.0.0:0');
    expect(await connects(externalAddress()!, t.sidecar.grpcPort)).toBe(true);
    expect(exposureWarnings(t)).toHaveLength(1);
    expect(exposureWarnings(t)[0]).toMatchObject({ grpc: '0.0.0.0:0' });
  });
});

describe('the admin port of a running sidecar', () => {
  let t: TestSidecar | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const adminWarnings = (s: TestSidecar) =>
    s.logs.filter((l) => l['level'] === 40 && String(l['msg']).startsWith('admin.address'));

  it('logs one plaintext warning at start-up when bound to every interface without admin.tls, even without a token', async () => {
    t = await startTestSidecar({
      config: { admin: { address: '0.0.0.0:0' } },
      options: { loadPolicy: functionPolicy(() => true) },
    });
    expect(await connects(externalAddress()!, t.sidecar.adminPort)).toBe(true);
    expect(adminWarnings(t)).toHaveLength(1);
    expect(adminWarnings(t)[0]).toMatchObject({ admin: '0.0.0.0:0' });
  });

  it('stays quiet on loopback', async () => {
    t = await startTestSidecar({ options: { loadPolicy: functionPolicy(() => true) } });
    expect(adminWarnings(t)).toEqual([]);
  });
});
