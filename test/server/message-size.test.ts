import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { functionPolicy } from '../helpers/fakePolicy.js';
import { checkRequest } from '../helpers/checkClient.js';

describe('grpc.maxReceiveMessageBytes', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      config: { grpc: { maxReceiveMessageBytes: 2048 } },
      options: { loadPolicy: functionPolicy(() => true) },
    });
  });
  afterAll(async () => t?.close());

  it('accepts a CheckRequest under the limit', async () => {
    expect((await t.client.check(checkRequest({ method: 'POST', body: 'x'.repeat(100) }))).status?.code).toBe(0);
  });

  it('refuses a larger CheckRequest with RESOURCE_EXHAUSTED at the transport', async () => {
    await expect(t.client.check(checkRequest({ method: 'POST', body: 'x'.repeat(4096) }))).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
  });
});
