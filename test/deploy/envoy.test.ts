// envoy/envoy.yaml decoded against Envoy's own protos (the envoy-api tree shipped with @grpc/grpc-js-xds):
// the whole bootstrap is walked strictly, so every field of the file — not only the ext_authz filter — is
// one Envoy knows, and the settings the deployment relies on are read back from the decoded messages.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type protobuf from 'protobufjs';
import { ProtoWalkError, decodeStrict, loadEnvoyProtos } from './protoWalk.js';
import { loadConfig } from '../../src/config/load.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const envoyYamlPath = path.join(repoRoot, 'envoy', 'envoy.yaml');

const EXT_AUTHZ = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const EXT_AUTHZ_PER_ROUTE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

// Every message the file (or a test below) names in an "@type"; the walker refuses types it cannot find.
const PROTO_FILES = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
];

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value ?? {}) as Obj;
const list = (value: unknown): Obj[] => (value ?? []) as Obj[];

let root: protobuf.Root;
let raw: Obj;
let bootstrap: Obj;

beforeAll(async () => {
  root = await loadEnvoyProtos(PROTO_FILES);
  raw = parse(fs.readFileSync(envoyYamlPath, 'utf8')) as Obj;
  bootstrap = decodeStrict(root, 'envoy.config.bootstrap.v3.Bootstrap', raw, 'envoy.yaml');
});

function typeName(any: Obj): string {
  return String(any['@type']).replace('type.googleapis.com/', '');
}

/** The HttpConnectionManager of the first listener, decoded (or as written in the YAML when `from` is raw). */
function connectionManager(from: Obj = bootstrap): Obj {
  const listener = list(obj(from.static_resources).listeners)[0]!;
  const filter = list(list(listener.filter_chains)[0]!.filters)[0]!;
  const hcm = obj(filter.typed_config);
  expect(typeName(hcm)).toBe(HCM);
  return hcm;
}

function extAuthzFilter(from: Obj = bootstrap): Obj {
  const filters = list(connectionManager(from).http_filters);
  const filter = filters.find((f) => f.name === 'envoy.filters.http.ext_authz');
  expect(filter, 'an http filter named envoy.filters.http.ext_authz').toBeDefined();
  const config = obj(filter!.typed_config);
  expect(typeName(config)).toBe(EXT_AUTHZ);
  return config;
}

function cluster(name: string): Obj | undefined {
  return list(obj(bootstrap.static_resources).clusters).find((c) => c.name === name);
}

function durationMs(duration: unknown): number {
  const { seconds = 0, nanos = 0 } = obj(duration) as { seconds?: number; nanos?: number };
  return seconds * 1000 + nanos / 1e6;
}

describe('envoy/envoy.yaml', () => {
  it('decodes as an Envoy v3 Bootstrap with no unknown, misplaced or deprecated field anywhere', () => {
    // beforeAll threw otherwise; this re-runs the walk to make the assertion explicit.
    expect(() => decodeStrict(root, 'envoy.config.bootstrap.v3.Bootstrap', raw)).not.toThrow();
    expect(list(obj(bootstrap.static_resources).listeners)).toHaveLength(1);
  });

  it('runs ext_authz before the router, so no request reaches the app unchecked', () => {
    const names = list(connectionManager().http_filters).map((f) => f.name);
    expect(names.indexOf('envoy.filters.http.ext_authz')).toBeGreaterThanOrEqual(0);
    expect(names.at(-1)).toBe('envoy.filters.http.router');
    expect(names.indexOf('envoy.filters.http.ext_authz')).toBeLessThan(names.indexOf('envoy.filters.http.router'));
  });

  it('calls Portcullis over envoy_grpc with the v3 transport API and a bounded timeout', () => {
    const config = extAuthzFilter();
    expect(config.transport_api_version).toBe('V3');
    const service = obj(config.grpc_service);
    expect(obj(service.envoy_grpc).cluster_name).toBe('portcullis');
    expect(config.http_service).toBeUndefined();
    expect(durationMs(service.timeout)).toBeGreaterThan(0);
    expect(durationMs(service.timeout)).toBeLessThanOrEqual(1000);
  });

  it('fails closed with 503 when Portcullis cannot answer', () => {
    const config = extAuthzFilter();
    // Written explicitly in the file (not just the proto default) so nobody flips it by accident.
    expect(extAuthzFilter(raw).failure_mode_allow).toBe(false);
    expect(config.failure_mode_allow ?? false).toBe(false);
    expect(obj(config.status_on_error).code).toBe('ServiceUnavailable');
  });

  it('normalizes the path before the check, so input.parsed_path is the path the upstream serves', () => {
    const hcm = connectionManager();
    expect(hcm.normalize_path).toEqual({ value: true });
    expect(hcm.merge_slashes).toBe(true);
    expect(['UNESCAPE_AND_REDIRECT', 'REJECT_REQUEST', 'UNESCAPE_AND_FORWARD']).toContain(
      hcm.path_with_escaped_slashes_action,
    );
  });

  it('sends a bounded request body so policies can read input.parsed_body', () => {
    const body = obj(extAuthzFilter().with_request_body);
    expect(body.max_request_bytes).toBeGreaterThan(0);
    expect(body.allow_partial_message).toBe(true);
  });

  it('names a cluster that exists, points at port 9191 and speaks HTTP/2', () => {
    const clusterName = obj(obj(extAuthzFilter().grpc_service).envoy_grpc).cluster_name as string;
    const target = cluster(clusterName);
    expect(target, `cluster ${clusterName}`).toBeDefined();
    const options = obj(obj(target!.typed_extension_protocol_options)[HTTP_PROTOCOL_OPTIONS]);
    expect(typeName(options)).toBe(HTTP_PROTOCOL_OPTIONS);
    expect(obj(options.explicit_http_config).http2_protocol_options).toBeDefined();
    const ports = list(obj(target!.load_assignment).endpoints)
      .flatMap((e) => list(e.lb_endpoints))
      .map((lb) => obj(obj(obj(lb.endpoint).address).socket_address).port_value);
    expect(ports).toEqual([9191]);
    // Portcullis serves grpc.health.v1.Health on the Check port.
    expect(list(target!.health_checks).some((h) => h.grpc_health_check !== undefined)).toBe(true);
  });

  it('disables the check for the exact health path only, with ExtAuthzPerRoute', () => {
    const routes = list(list(obj(connectionManager().route_config).virtual_hosts)[0]!.routes);
    const health = routes.find((r) => obj(r.match).path === '/healthz');
    expect(health, 'a route matching path /healthz').toBeDefined();
    const perRoute = obj(obj(health!.typed_per_filter_config)['envoy.filters.http.ext_authz']);
    expect(typeName(perRoute)).toBe(EXT_AUTHZ_PER_ROUTE);
    expect(perRoute.disabled).toBe(true);
    // Every other route keeps the check (no prefix route disables it).
    const disabledElsewhere = routes.filter(
      (r) => r !== health && obj(obj(r.typed_per_filter_config)['envoy.filters.http.ext_authz']).disabled === true,
    );
    expect(disabledElsewhere).toEqual([]);
  });

  it('matches the Portcullis config shipped beside it (envoy/portcullis.yaml, read by the real loader)', async () => {
    const { config } = await loadConfig({ file: path.join(repoRoot, 'envoy', 'portcullis.yaml'), env: {} });
    const grpcPort = Number(config.grpc.address.split(':').at(-1));
    const endpointPorts = list(obj(cluster('portcullis')!.load_assignment).endpoints)
      .flatMap((e) => list(e.lb_endpoints))
      .map((lb) => obj(obj(obj(lb.endpoint).address).socket_address).port_value);
    expect(endpointPorts).toEqual([grpcPort]);
    // The body Envoy sends must fit in one gRPC message Portcullis accepts, or every large request fails.
    const bodyLimit = obj(extAuthzFilter().with_request_body).max_request_bytes as number;
    expect(bodyLimit).toBeLessThan(config.grpc.maxReceiveMessageBytes);
    // Envoy's admin listener must not take a Portcullis port.
    const adminPort = obj(obj(obj(bootstrap.admin).address).socket_address).port_value;
    expect([grpcPort, Number(config.admin.address.split(':').at(-1))]).not.toContain(adminPort);
  });

  it('routes to an upstream app cluster that exists', () => {
    const routes = list(list(obj(connectionManager().route_config).virtual_hosts)[0]!.routes);
    for (const route of routes) {
      const target = obj(route.route).cluster as string;
      expect(cluster(target), `cluster ${target}`).toBeDefined();
    }
    expect(cluster('app')).toBeDefined();
  });
});

describe('the strict proto walker', () => {
  const goodExtAuthz = {
    transport_api_version: 'V3',
    grpc_service: { envoy_grpc: { cluster_name: 'portcullis' }, timeout: '0.25s' },
    failure_mode_allow: false,
  };

  function issuesOf(typeName: string, value: unknown): string[] {
    try {
      decodeStrict(root, typeName, value, 'x');
      return [];
    } catch (err) {
      if (err instanceof ProtoWalkError) return err.issues;
      throw err;
    }
  }

  it('accepts a correct ExtAuthz and decodes its duration and enum', () => {
    const decoded = decodeStrict(root, EXT_AUTHZ, goodExtAuthz);
    expect(decoded.transport_api_version).toBe('V3');
    expect(durationMs(obj(decoded.grpc_service).timeout)).toBe(250);
  });

  it('rejects a misspelled field that protobufjs fromObject alone would silently drop', () => {
    const misspelled = { transport_api_version: 'V3', failure_mode_alow: true };
    // The premise: protobufjs by itself loses the field without a word.
    const type = root.lookupType(EXT_AUTHZ);
    const lenient = type.toObject(type.fromObject(misspelled), { enums: String });
    expect(lenient).toEqual({ transport_api_version: 'V3' });
    expect(issuesOf(EXT_AUTHZ, misspelled)).toEqual([
      'x.failure_mode_alow: unknown field of envoy.extensions.filters.http.ext_authz.v3.ExtAuthz (did you mean "failure_mode_allow"?)',
    ]);
  });

  it('rejects a misspelled field deep inside a nested message', () => {
    const nested = { ...goodExtAuthz, grpc_service: { envoy_grpc: { clustr_name: 'portcullis' } } };
    expect(issuesOf(EXT_AUTHZ, nested)[0]).toMatch(/^x\.grpc_service\.envoy_grpc\.clustr_name: unknown field/);
  });

  it('rejects a misspelled field inside a typed_per_filter_config Any (ExtAuthzPerRoute)', () => {
    const route = {
      match: { path: '/healthz' },
      route: { cluster: 'app' },
      typed_per_filter_config: {
        'envoy.filters.http.ext_authz': { '@type': `type.googleapis.com/${EXT_AUTHZ_PER_ROUTE}`, disable: true },
      },
    };
    const issues = issuesOf('envoy.config.route.v3.Route', route);
    expect(
      issues.some((i) => i.includes('typed_per_filter_config.envoy.filters.http.ext_authz.disable: unknown field')),
    ).toBe(true);
  });

  it('rejects a misspelled field inside a cluster HttpProtocolOptions', () => {
    const options = {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
      explicit_http_config: { http2_protocol_option: {} },
    };
    expect(issuesOf('google.protobuf.Any', options)[0]).toMatch(
      /explicit_http_config\.http2_protocol_option: unknown field/,
    );
  });

  it('rejects wrong scalar types, unknown enum names and malformed durations', () => {
    const issues = issuesOf(EXT_AUTHZ, {
      transport_api_version: 'V4',
      failure_mode_allow: 'no',
      grpc_service: { envoy_grpc: { cluster_name: 'portcullis' }, timeout: '250ms' },
    });
    expect(issues).toHaveLength(3);
    expect(issues.join('\n')).toMatch(/transport_api_version: "V4" is not a value of ApiVersion/);
    expect(issues.join('\n')).toMatch(/failure_mode_allow: expected true or false/);
    expect(issues.join('\n')).toMatch(/timeout: expected a duration/);
  });

  it('rejects two members of one oneof and a missing required oneof', () => {
    expect(issuesOf(EXT_AUTHZ_PER_ROUTE, { disabled: true, check_settings: {} }).join('\n')).toMatch(
      /both set but belong to oneof override/,
    );
    expect(issuesOf(EXT_AUTHZ_PER_ROUTE, {}).join('\n')).toMatch(/one of disabled, check_settings is required/);
  });

  it('rejects protoc-gen-validate violations Envoy enforces at load', () => {
    expect(issuesOf(EXT_AUTHZ_PER_ROUTE, { disabled: false }).join('\n')).toMatch(/disabled: must be true/);
    expect(issuesOf(EXT_AUTHZ, { ...goodExtAuthz, with_request_body: { max_request_bytes: 0 } }).join('\n')).toMatch(
      /max_request_bytes: must be greater than 0/,
    );
  });

  it('rejects an "@type" that is not a loaded Envoy message', () => {
    const issues = issuesOf('google.protobuf.Any', {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuth',
    });
    expect(issues[0]).toMatch(/unknown message type envoy\.extensions\.filters\.http\.ext_authz\.v3\.ExtAuth/);
  });

  it('rejects deprecated fields such as Cluster.http2_protocol_options', () => {
    const issues = issuesOf('envoy.config.cluster.v3.Cluster', { name: 'portcullis', http2_protocol_options: {} });
    expect(issues[0]).toMatch(/http2_protocol_options: deprecated/);
  });
});

describe('envoy/docker-compose.yaml', () => {
  const compose = parse(fs.readFileSync(path.join(repoRoot, 'envoy', 'docker-compose.yaml'), 'utf8')) as {
    services: Record<string, Obj>;
  };
  const endpointPort = (clusterName: string): number =>
    list(obj(cluster(clusterName)!.load_assignment).endpoints)
      .flatMap((e) => list(e.lb_endpoints))
      .map((lb) => obj(obj(obj(lb.endpoint).address).socket_address).port_value as number)[0]!;

  it('runs Envoy with this envoy.yaml, in the network namespace of Portcullis so 127.0.0.1 reaches it', () => {
    const envoy = compose.services.envoy!;
    expect(envoy.network_mode).toBe('service:portcullis');
    expect(envoy.volumes as string[]).toContain('./envoy.yaml:/etc/envoy/envoy.yaml:ro');
    expect(envoy.command).toEqual(['envoy', '-c', '/etc/envoy/envoy.yaml']);
    expect(obj(obj(envoy.depends_on).portcullis).condition).toBe('service_healthy');
  });

  it("publishes Envoy's listener port and binds Check where envoy.yaml's portcullis cluster looks for it", () => {
    const portcullis = compose.services.portcullis!;
    const listenerPort = obj(
      obj(list(obj(bootstrap.static_resources).listeners)[0]!.address).socket_address,
    ).port_value;
    expect(portcullis.ports as string[]).toContain(`${listenerPort}:${listenerPort}`);
    expect(obj(portcullis.environment).PORTCULLIS_GRPC_ADDRESS).toBe(`127.0.0.1:${endpointPort('portcullis')}`);
    expect(obj(portcullis.build).dockerfile).toBe('Dockerfile');
    expect(fs.existsSync(path.join(repoRoot, 'envoy', String(obj(portcullis.build).context), 'Dockerfile'))).toBe(true);
  });

  it('runs a supported Envoy release line (v1.37 or later, pinned to a minor version)', () => {
    const image = String(compose.services.envoy!.image);
    const tag = /^envoyproxy\/envoy:v(\d+)\.(\d+)(?:-latest|\.\d+)$/.exec(image);
    expect(tag, image).not.toBeNull();
    expect(Number(tag![1]) * 1000 + Number(tag![2])).toBeGreaterThanOrEqual(1037);
  });

  it('gives Portcullis a stop grace period longer than its shutdown delay and timeout', async () => {
    const { config } = await loadConfig({ file: path.join(repoRoot, 'envoy', 'portcullis.yaml'), env: {} });
    const grace = /^(\d+)s$/.exec(String(compose.services.portcullis!.stop_grace_period));
    expect(grace, 'stop_grace_period in seconds').not.toBeNull();
    expect(Number(grace![1])).toBeGreaterThan(config.shutdown.delaySeconds + config.shutdown.timeoutSeconds);
  });

  it("serves the stand-in app on envoy.yaml's app endpoint, in the same namespace", () => {
    const app = compose.services.app!;
    expect(app.network_mode).toBe('service:portcullis');
    expect(app.command as string[]).toContain(String(endpointPort('app')));
  });
});
