import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { ENVOY_HTTP_STATUSES } from '../../src/response/envoyHttpStatus.js';
import { envoyIncludeDirs } from '../helpers/upstreamProtos.js';

describe('ENVOY_HTTP_STATUSES', () => {
  it("is exactly Envoy's envoy.type.v3.StatusCode enum, without Empty (0)", () => {
    const definition = protoLoader.loadSync('envoy/type/v3/http_status.proto', { includeDirs: envoyIncludeDirs() });
    const statusCode = definition['envoy.type.v3.StatusCode'] as unknown as {
      type: { value: Array<{ number: number }> };
    };
    const fromProto = statusCode.type.value.map((v) => v.number).filter((n) => n !== 0);
    expect(fromProto.length).toBeGreaterThan(50);
    expect([...ENVOY_HTTP_STATUSES].sort((a, b) => a - b)).toEqual(fromProto.sort((a, b) => a - b));
  });
});
