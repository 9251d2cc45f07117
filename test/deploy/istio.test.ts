// The Istio manifests under envoy/istio/: every document parses and validates against its kind's schema,
// the pieces refer to each other by the right names, the Redis the configuration names is shipped, and the
// Portcullis containers (written out, or added by the injection template) are native sidecars that match
// Portcullis's own configuration (validated with the real config schema) and run locked down.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { loadIstioManifests, repoRoot, schemaErrors, type Obj } from './manifests.js';

const manifests = loadIstioManifests();
const ofKind = (kind: string): Obj[] => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);

const meshProviders = (): Obj[] =>
  ofKind('IstioOperator').flatMap((op) => op.spec?.meshConfig?.extensionProviders ?? []);
const injectionTemplates = (): Record<string, string> =>
  Object.assign({}, ...ofKind('IstioOperator').map((op) => op.spec?.values?.sidecarInjectorWebhook?.templates ?? {}));

/**
 * Renders the one template action the injection template uses, `{{ annotation .ObjectMeta `k` `default` }}`,
 * as Istio's injector does; any other action fails the test rather than being guessed at.
 */
function renderTemplate(template: string, podAnnotations: Record<string, string>): Obj {
  const rendered = template.replace(
    /\{\{\s*annotation\s+\.ObjectMeta\s+`([^`]+)`\s+`([^`]*)`\s*\}\}/g,
    (_m, key: string, fallback: string) => podAnnotations[key] ?? fallback,
  );
  expect(rendered, 'only `annotation .ObjectMeta` actions are understood by this test').not.toMatch(/\{\{/);
  return parse(rendered) as Obj;
}

interface PodView {
  source: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** app containers and native sidecars (init containers with restartPolicy: Always) alike */
  containers: Obj[];
  volumes: Obj[];
  /** the pod spec as the injector leaves it (for schema validation) */
  spec: Obj;
}

/** Each Deployment's pod as the cluster would run it: with the containers injection templates add. */
function pods(): PodView[] {
  return ofKind('Deployment').map((deployment) => {
    const template = deployment.spec.template;
    const view: PodView = {
      source: `Deployment ${deployment.metadata.name}`,
      labels: { ...template.metadata?.labels },
      annotations: { ...template.metadata?.annotations },
      containers: [...(template.spec.initContainers ?? []), ...template.spec.containers],
      volumes: [...(template.spec.volumes ?? [])],
      spec: {
        ...template.spec,
        initContainers: [...(template.spec.initContainers ?? [])],
        volumes: [...(template.spec.volumes ?? [])],
      },
    };
    const requested = (view.annotations['inject.istio.io/templates'] ?? '').split(',').map((t) => t.trim());
    for (const name of requested.filter((t) => t !== '' && t !== 'sidecar')) {
      const template = injectionTemplates()[name];
      expect(template, `${view.source} asks for injection template "${name}"`).toBeDefined();
      const patch = renderTemplate(template!, view.annotations);
      Object.assign(view.labels, patch.metadata?.labels);
      Object.assign(view.annotations, patch.metadata?.annotations);
      view.containers.push(...(patch.spec?.initContainers ?? []), ...(patch.spec?.containers ?? []));
      view.volumes.push(...(patch.spec?.volumes ?? []));
      view.spec.initContainers.push(...(patch.spec?.initContainers ?? []));
      view.spec.containers = [...view.spec.containers, ...(patch.spec?.containers ?? [])];
      view.spec.volumes.push(...(patch.spec?.volumes ?? []));
    }
    return view;
  });
}

const portcullisPods = (): Array<PodView & { container: Obj }> =>
  pods().flatMap((pod) =>
    pod.containers.filter((c) => c.name === 'portcullis').map((container) => ({ ...pod, container })),
  );

function configMap(name: string): Obj {
  const found = ofKind('ConfigMap').find((cm) => cm.metadata.name === name);
  expect(found, `ConfigMap ${name}`).toBeDefined();
  return found!;
}

/** The ConfigMap's portcullis.yaml through the real schema (with ${VAR:-default} filled in, as the loader does). */
function portcullisConfig() {
  const text = configMap('portcullis-config').data['portcullis.yaml'] as string;
  const expanded = text.replace(
    /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g,
    (_m, _name: string, fallback?: string) => fallback ?? 'from-the-environment',
  );
  return configSchema.parse(parse(expanded));
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

describe('envoy/istio manifests', () => {
  it('parse as Kubernetes objects of the expected kinds', () => {
    const kinds = new Set(manifests.map((m) => m.doc.kind));
    expect([...kinds].sort()).toEqual([
      'AuthorizationPolicy',
      'ConfigMap',
      'Deployment',
      'IstioOperator',
      'Namespace',
      'Service',
      'ServiceEntry',
      'StatefulSet',
    ]);
    for (const { file, doc } of manifests) {
      expect(typeof doc.apiVersion, `${file} apiVersion`).toBe('string');
      expect(typeof doc.metadata?.name, `${file} metadata.name`).toBe('string');
    }
  });

  it("validate against their kind's schema", () => {
    for (const { file, doc } of manifests)
      expect(schemaErrors(doc), `${file}: ${doc.kind} ${doc.metadata.name}`).toEqual([]);
  });

  it('would catch a wrong type or an unknown kind (the schemas are really applied)', () => {
    const deployment = ofKind('Deployment')[0]!;
    expect(schemaErrors({ ...deployment, spec: { ...deployment.spec, replicas: 'three' } }).join()).toMatch(
      /replicas must be integer/,
    );
    expect(schemaErrors({ apiVersion: 'v1', kind: 'Deploymnet', metadata: { name: 'x' } })).toEqual([
      'no schema known for v1 Deploymnet',
    ]);
  });

  it('give each pod, with the injection templates applied, a spec that validates as a Pod', () => {
    for (const pod of pods()) {
      const asPod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'x', labels: pod.labels, annotations: pod.annotations },
        spec: pod.spec,
      };
      expect(schemaErrors(asPod), pod.source).toEqual([]);
    }
  });

  it('ask for injection with the sidecar.istio.io/inject label, not the deprecated annotation', () => {
    for (const pod of pods()) {
      expect(pod.labels['sidecar.istio.io/inject'], pod.source).toBe('true');
      expect(pod.annotations['sidecar.istio.io/inject'], pod.source).toBeUndefined();
    }
  });

  it('ship the Redis the configuration names: a Service in front of a StatefulSet, in a Namespace of its own', () => {
    const fromEnv = portcullisPods().flatMap((p) =>
      (p.container.env ?? []).filter((e: Obj) => e.name === 'PORTCULLIS_REDIS_URL').map((e: Obj) => e.value as string),
    );
    const configured = portcullisConfig().redis?.url;
    for (const url of [configured, ...fromEnv]) {
      expect(url, 'redis.url').toBeDefined();
      const { hostname, port } = new URL(url!);
      const [service, namespace] = hostname.split('.');
      expect(hostname).toBe(`${service}.${namespace}.svc.cluster.local`);
      expect(ofKind('Namespace').map((n) => n.metadata.name)).toContain(namespace);
      const svc = ofKind('Service').find((s) => s.metadata.name === service && s.metadata.namespace === namespace);
      expect(svc, `Service ${service} in ${namespace}`).toBeDefined();
      const servicePort = svc!.spec.ports.find((p: Obj) => p.port === Number(port || 6379));
      expect(servicePort, `port ${port || 6379} of Service ${service}`).toBeDefined();
      const set = ofKind('StatefulSet').find(
        (s) => s.metadata.namespace === namespace && s.spec.serviceName === service,
      );
      expect(set, `a StatefulSet behind Service ${service}`).toBeDefined();
      for (const [label, value] of Object.entries(svc!.spec.selector as Record<string, string>)) {
        expect(set!.spec.template.metadata.labels[label], `pod label ${label}`).toBe(value);
      }
      const containerPorts = set!.spec.template.spec.containers.flatMap((c: Obj) => c.ports ?? []);
      expect(containerPorts).toContainEqual(
        expect.objectContaining({ name: servicePort.targetPort, containerPort: 6379 }),
      );
    }
  });

  it('uses a CUSTOM AuthorizationPolicy whose provider is declared in the mesh config', () => {
    const providers = meshProviders().map((p) => p.name);
    const policies = ofKind('AuthorizationPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      expect(policy.spec.action).toBe('CUSTOM');
      expect(providers).toContain(policy.spec.provider.name);
    }
  });

  it('declares an envoyExtAuthzGrpc provider on 9191 that fails closed with 503', () => {
    const provider = meshProviders().find((p) => p.name === 'portcullis');
    expect(provider?.envoyExtAuthzGrpc).toBeDefined();
    const grpc = provider!.envoyExtAuthzGrpc;
    expect(grpc.port).toBe(9191);
    expect(grpc.failOpen).toBe(false);
    expect(grpc.statusOnError).toBe('503');
    expect(grpc.timeout).toMatch(/^\d+(\.\d+)?(ms|s)$/);
  });

  it('normalizes paths mesh-wide (decode %2F, merge slashes, resolve dot segments) before the check', () => {
    const normalizations = ofKind('IstioOperator').map((op) => op.spec?.meshConfig?.pathNormalization?.normalization);
    expect(normalizations).toContain('DECODE_AND_MERGE_SLASHES');
  });

  it("resolves the provider's service through a ServiceEntry to the pod's own Portcullis on 9191 over gRPC", () => {
    const grpc = meshProviders().find((p) => p.name === 'portcullis')!.envoyExtAuthzGrpc;
    const entry = ofKind('ServiceEntry').find((e) => e.spec.hosts.includes(grpc.service));
    expect(entry, `a ServiceEntry for ${grpc.service}`).toBeDefined();
    expect(entry!.spec.ports).toContainEqual(expect.objectContaining({ number: grpc.port, protocol: 'GRPC' }));
    expect(entry!.spec.endpoints.map((e: Obj) => e.address)).toEqual(['127.0.0.1']);
    expect(entry!.spec.resolution).toBe('STATIC');
  });

  it('ships a portcullis.yaml that passes the config schema, listening on 9191 (gRPC) and 9192 (admin)', () => {
    const config = portcullisConfig();
    expect(portOf(config.grpc.address)).toBe(9191);
    expect(portOf(config.admin.address)).toBe(9192);
    // The only gRPC client is the pod's istio-proxy.
    expect(config.grpc.address).toBe('127.0.0.1:9191');
    expect(config.policy.entrypoint).toBe('envoy/authz/allow');
  });

  it('ships the default policy unchanged (the ConfigMap copy equals policies/)', () => {
    const policies = configMap('portcullis-policies').data;
    expect(policies['authz.rego']).toBe(fs.readFileSync(path.join(repoRoot, 'policies', 'authz.rego'), 'utf8'));
    expect(JSON.parse(policies['data.json'])).toEqual(
      JSON.parse(fs.readFileSync(path.join(repoRoot, 'policies', 'data.json'), 'utf8')),
    );
  });

  it('runs Portcullis both ways: written into a Deployment and added by the injection template', () => {
    const sources = portcullisPods().map((p) => p.source);
    expect(sources).toContain('Deployment orders');
    expect(sources).toContain('Deployment invoices');
    const injected = pods().find((p) => p.source === 'Deployment invoices')!;
    expect(injected.annotations['inject.istio.io/templates']).toBe('sidecar,portcullis');
  });

  it('selects every pod that runs Portcullis with the CUSTOM AuthorizationPolicy', () => {
    const policy = ofKind('AuthorizationPolicy')[0]!;
    const selector: Record<string, string> = policy.spec.selector.matchLabels;
    for (const pod of portcullisPods()) {
      for (const [label, value] of Object.entries(selector))
        expect(pod.labels[label], `${pod.source} label ${label}`).toBe(value);
    }
  });

  describe.each(portcullisPods().map((p) => [p.source, p] as const))(
    'the Portcullis container of %s',
    (_source, pod) => {
      const { container } = pod;

      it('exposes 9191 (gRPC) and 9192 (admin), the ports of its configuration', () => {
        const ports = container.ports.map((p: Obj) => p.containerPort).sort();
        expect(ports).toEqual([9191, 9192]);
      });

      it('probes /healthz (liveness) and /readyz (readiness) on the admin port 9192', () => {
        expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 9192 });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 9192 });
      });

      it('runs as a non-root user with a read-only root filesystem and no privileges', () => {
        const security = container.securityContext;
        expect(security.runAsNonRoot).toBe(true);
        expect(security.runAsUser).toBeGreaterThan(0);
        expect(security.readOnlyRootFilesystem).toBe(true);
        expect(security.allowPrivilegeEscalation).toBe(false);
        expect(security.capabilities.drop).toEqual(['ALL']);
      });

      it('declares resource requests and a memory limit', () => {
        expect(container.resources.requests.cpu).toBeDefined();
        expect(container.resources.requests.memory).toBeDefined();
        expect(container.resources.limits.memory).toBeDefined();
      });

      it('requests at least the measured working set and limits above the measured peak (docs/deploy.md, Memory)', () => {
        // The row for a policy directory compiled at start-up, as the ConfigMap mounts it: the server's own peak,
        // and the pod's while the compiler child runs (what the memory limit counts).
        const docs = fs.readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');
        const row = docs.split('\n').find((line) => line.startsWith('| directory compiled at start-up'));
        const serverPeakMiB = Number(/\| (\d+) MiB, a reload included \|/.exec(row ?? '')?.[1]);
        const podPeakMiB = Number(/\| (\d+) MiB while it compiles \|$/.exec(row ?? '')?.[1]);
        expect(serverPeakMiB, "the server's measured peak in docs/deploy.md").toBeGreaterThan(0);
        expect(podPeakMiB, "the pod's measured peak in docs/deploy.md").toBeGreaterThan(serverPeakMiB);
        const mebibytes = (quantity: string): number => {
          const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
          expect(match, `memory quantity ${quantity} in Mi or Gi`).not.toBeNull();
          return Number(match![1]) * (match![2] === 'Gi' ? 1024 : 1);
        };
        expect(mebibytes(container.resources.requests.memory)).toBeGreaterThanOrEqual(serverPeakMiB);
        expect(mebibytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(Math.ceil(podPeakMiB * 1.25));
      });

      it('is a native sidecar: an init container with restartPolicy Always, so it outlives the app', () => {
        expect(container.restartPolicy).toBe('Always');
        expect(pod.spec.initContainers.map((c: Obj) => c.name)).toContain('portcullis');
        expect(pod.spec.containers.map((c: Obj) => c.name)).not.toContain('portcullis');
      });

      it("leaves the pod's grace period room for the app plus Portcullis's shutdown delay and timeout", () => {
        const deployment = ofKind('Deployment').find((d) => `Deployment ${d.metadata.name}` === pod.source)!;
        const { delaySeconds, timeoutSeconds } = portcullisConfig().shutdown;
        expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
          delaySeconds + timeoutSeconds + 10,
        );
      });

      it('reads its config and policies from mounted ConfigMaps that exist, at the paths the config names', () => {
        expect(container.args.slice(0, 2)).toEqual(['serve', '--config']);
        const configFile: string = container.args[2];
        const mountFor = (file: string): Obj | undefined =>
          container.volumeMounts.find((m: Obj) => file === m.mountPath || file.startsWith(`${m.mountPath}/`));
        const configMount = mountFor(configFile);
        expect(configMount, `a volume mounted at ${path.dirname(configFile)}`).toBeDefined();
        const configVolume = pod.volumes.find((v) => v.name === configMount!.name);
        expect(configMap(configVolume!.configMap.name).data[path.basename(configFile)]).toBeDefined();

        const policyMount = mountFor(portcullisConfig().policy.path);
        expect(policyMount, `a volume mounted at ${portcullisConfig().policy.path}`).toBeDefined();
        const policyVolume = pod.volumes.find((v) => v.name === policyMount!.name);
        expect(configMap(policyVolume!.configMap.name).data['authz.rego']).toBeDefined();
      });
    },
  );
});
