import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownProtoDir } from '../../src/server/protos.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { functionPolicy } from '../helpers/fakePolicy.js';

describe('proto/grpc/health/v1/health.proto', () => {
  const definition = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [ownProtoDir()] });
  const service = definition['grpc.health.v1.Health'] as unknown as grpc.ServiceDefinition;

  it('encodes HealthCheckRequest.service as field 1 (string), as upstream does', () => {
    const bytes = service['Check']!.requestSerialize({ service: 'x' });
    expect([...bytes]).toEqual([0x0a, 0x01, 0x78]);
  });

  it('encodes HealthCheckResponse.status as field 1 with SERVING=1, NOT_SERVING=2, SERVICE_UNKNOWN=3', () => {
    const encode = (status: string) => [...service['Check']!.responseSerialize({ status })];
    expect(encode('SERVING')).toEqual([0x08, 0x01]);
    expect(encode('NOT_SERVING')).toEqual([0x08, 0x02]);
    expect(encode('SERVICE_UNKNOWN')).toEqual([0x08, 0x03]);
    expect(encode('UNKNOWN')).toEqual([0x08, 0x00]); // protobufjs writes an explicitly set zero
  });

  it('serves the upstream method paths', () => {
    expect(service['Check']!.path).toBe('/grpc.health.v1.Health/Check');
    expect(service['Watch']!.path).toBe('/grpc.health.v1.Health/Watch');
    expect(service['Watch']!.responseStream).toBe(true);
  });
});

describe('grpc.health.v1.Health on the Check port', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({ options: { loadPolicy: functionPolicy(() => true) } });
  });
  afterAll(async () => t?.close());

  it('reports SERVING for the server as a whole', async () => {
    expect((await t.client.healthCheck('')).status).toBe(1);
  });

  it('reports SERVING for envoy.service.auth.v3.Authorization', async () => {
    expect((await t.client.healthCheck('envoy.service.auth.v3.Authorization')).status).toBe(1);
  });

  it('answers NOT_FOUND for a service it does not serve', async () => {
    await expect(t.client.healthCheck('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('tells watchers NOT_SERVING when the sidecar starts draining', async () => {
    const statuses: number[] = [];
    const stream = t.client.health.Watch({ service: '' });
    const ended = new Promise<void>((resolve) => {
      stream.on('data', (message: { status: number }) => {
        statuses.push(message.status);
        if (statuses.length === 1) void t.sidecar.close();
      });
      stream.on('end', resolve);
      stream.on('error', () => resolve());
    });
    await ended;
    expect(statuses).toEqual([1, 2]);
  });
});
