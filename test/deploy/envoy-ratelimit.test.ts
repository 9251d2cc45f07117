// envoy/ratelimit/: Envoy's rate_limit filter with Portcullis as its rate limit service. envoy.yaml is decoded
// strictly against Envoy's own protos (every field, not only the filter's); the descriptors its route actions
// build are matched against config.yaml with the service's own matcher; portcullis.yaml loads as a config.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type protobuf from 'protobufjs';
import { decodeStrict, loadEnvoyProtos } from './protoWalk.js';
import { loadConfig } from '../../src/config/load.js';
import { buildRules } from '../../src/limits/service-rules.js';
import { planDescriptors } from '../../src/limits/service-match.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = path.join(repoRoot, 'envoy', 'ratelimit');
const RATE_LIMIT = 'envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value ?? {}) as Obj;
const list = (value: unknown): Obj[] => (value ?? []) as Obj[];
const typeName = (any: Obj) => String(any['@type']).replace('type.googleapis.com/', '');

let root: protobuf.Root;
let bootstrap: Obj;

beforeAll(async () => {
  root = await loadEnvoyProtos([
    'envoy/config/bootstrap/v3/bootstrap.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  ]);
  const raw = parse(fs.readFileSync(path.join(dir, 'envoy.yaml'), 'utf8')) as Obj;
  bootstrap = decodeStrict(root, 'envoy.config.bootstrap.v3.Bootstrap', raw, 'envoy/ratelimit/envoy.yaml');
});

function connectionManager(): Obj {
  const listener = list(obj(bootstrap.static_resources).listeners)[0]!;
  const hcm = obj(list(list(listener.filter_chains)[0]!.filters)[0]!.typed_config);
  expect(typeName(hcm)).toBe(HCM);
  return hcm;
}

function rateLimitFilter(): Obj {
  const filter = list(connectionManager().http_filters).find((f) => f.name === 'envoy.filters.http.ratelimit');
  expect(filter, 'an http filter named envoy.filters.http.ratelimit').toBeDefined();
  const config = obj(filter!.typed_config);
  expect(typeName(config)).toBe(RATE_LIMIT);
  return config;
}

/** The descriptor one route rate_limits entry builds for a request from `address` (the actions used here). */
function descriptorOf(rateLimit: Obj, address: string): Array<{ key: string; value: string }> {
  return list(rateLimit.actions).map((action) => {
    if (action.remote_address !== undefined) return { key: 'remote_address', value: address };
    const generic = obj(action.generic_key);
    if (action.generic_key !== undefined)
      return { key: String(generic.descriptor_key ?? 'generic_key'), value: String(generic.descriptor_value) };
    throw new Error(`action ${JSON.stringify(action)} is not modelled by this test`);
  });
}

describe('envoy/ratelimit/envoy.yaml', () => {
  it('decodes as an Envoy v3 Bootstrap with the rate_limit filter before the router', () => {
    const names = list(connectionManager().http_filters).map((f) => f.name);
    expect(names).toEqual(['envoy.filters.http.ratelimit', 'envoy.filters.http.router']);
  });

  it('calls the rate limit service over envoy_grpc, API v3, on the portcullis cluster, with a bounded timeout', () => {
    const filter = rateLimitFilter();
    const service = obj(filter.rate_limit_service);
    expect(service.transport_api_version).toBe('V3');
    expect(obj(obj(service.grpc_service).envoy_grpc).cluster_name).toBe('portcullis');
    const timeout = obj(filter.timeout) as { seconds?: number; nanos?: number };
    expect((timeout.seconds ?? 0) * 1000 + (timeout.nanos ?? 0) / 1e6).toBeLessThanOrEqual(250);
    expect(filter.domain).toBe('edge');
  });

  it('points the portcullis cluster at 9191 over HTTP/2 with gRPC health checks', () => {
    const cluster = list(obj(bootstrap.static_resources).clusters).find((c) => c.name === 'portcullis')!;
    const options = obj(
      obj(cluster.typed_extension_protocol_options)['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'],
    );
    expect(obj(options.explicit_http_config).http2_protocol_options).toBeDefined();
    const ports = list(obj(cluster.load_assignment).endpoints)
      .flatMap((e) => list(e.lb_endpoints))
      .map((lb) => obj(obj(obj(lb.endpoint).address).socket_address).port_value);
    expect(ports).toEqual([9191]);
    expect(list(cluster.health_checks).some((h) => h.grpc_health_check !== undefined)).toBe(true);
  });

  it("builds descriptors that config.yaml has a rule for, in the filter's domain", () => {
    const rules = buildRules([{ file: 'config.yaml', text: fs.readFileSync(path.join(dir, 'config.yaml'), 'utf8') }]);
    const domain = String(rateLimitFilter().domain);
    const routes = list(list(obj(connectionManager().route_config).virtual_hosts)[0]!.routes);
    const descriptors = routes.flatMap((r) =>
      list(obj(r.route).rate_limits).map((rl) => ({ entries: descriptorOf(rl, '198.51.100.7') })),
    );
    expect(descriptors.length).toBeGreaterThanOrEqual(4);
    const plans = planDescriptors(rules, domain, descriptors);
    expect(plans.map((p) => p.kind)).not.toContain('none');
    // the blocked address of config.yaml is always over
    const [blocked] = planDescriptors(rules, domain, [{ entries: [{ key: 'remote_address', value: '203.0.113.66' }] }]);
    expect(blocked).toMatchObject({ kind: 'limited', limit: { requestsPerUnit: 0 } });
  });
});

describe('envoy/ratelimit/portcullis.yaml', () => {
  it('loads as a Portcullis config naming the rule file', async () => {
    const { config } = await loadConfig({
      file: path.join(dir, 'portcullis.yaml'),
      env: { PORTCULLIS_ADMIN_TOKEN: 't' },
    });
    expect(config.rateLimitService).toEqual({ config: ['./envoy/ratelimit/config.yaml'], headers: 'ietf' });
    expect(fs.existsSync(path.join(repoRoot, config.rateLimitService!.config[0]!))).toBe(true);
  });
});
