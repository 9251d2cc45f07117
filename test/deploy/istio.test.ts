// The Istio manifests under envoy/istio/: every document parses, the pieces refer to each other by the
// right names, and the Portcullis containers (written out, or added by the injection template) match
// Portcullis's own configuration (validated with the real config schema) and run locked down.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema } from '../../src/config/schema.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const istioDir = path.join(repoRoot, 'envoy', 'istio');

type Obj = Record<string, any>;

interface Manifest {
  file: string;
  doc: Obj;
}

function loadManifests(): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of fs.readdirSync(istioDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const document of parseAllDocuments(fs.readFileSync(path.join(istioDir, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      const doc = document.toJS() as Obj | null;
      if (doc !== null) manifests.push({ file, doc });
    }
  }
  return manifests;
}

const manifests = loadManifests();
const ofKind = (kind: string): Obj[] => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);

const meshProviders = (): Obj[] => ofKind('IstioOperator').flatMap((op) => op.spec?.meshConfig?.extensionProviders ?? []);
const injectionTemplates = (): Record<string, string> =>
  Object.assign({}, ...ofKind('IstioOperator').map((op) => op.spec?.values?.sidecarInjectorWebhook?.templates ?? {}));

/**
 * Renders the one template action the injection template uses, `{{ annotation .ObjectMeta `k` `default` }}`,
 * as Istio's injector does; any other action fails the test rather than being guessed at.
 */
function renderTemplate(template: string, podAnnotations: Record<string, string>): Obj {
  const rendered = template.replace(/\{\{\s*annotation\s+\.ObjectMeta\s+`([^`]+)`\s+`([^`]*)`\s*\}\}/g, (_m, key: string, fallback: string) => podAnnotations[key] ?? fallback);
  expect(rendered, 'only `annotation .ObjectMeta` actions are understood by this test').not.toMatch(/\{\{/);
  return parse(rendered) as Obj;
}

interface PodView {
  source: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  containers: Obj[];
  volumes: Obj[];
}

/** Each Deployment's pod as the cluster would run it: with the containers injection templates add. */
function pods(): PodView[] {
  return ofKind('Deployment').map((deployment) => {
    const template = deployment.spec.template;
    const view: PodView = {
      source: `Deployment ${deployment.metadata.name}`,
      labels: { ...template.metadata?.labels },
      annotations: { ...template.metadata?.annotations },
      containers: [...template.spec.containers],
      volumes: [...(template.spec.volumes ?? [])],
    };
    const requested = (view.annotations['inject.istio.io/templates'] ?? '').split(',').map((t) => t.trim());
    for (const name of requested.filter((t) => t !== '' && t !== 'sidecar')) {
      const template = injectionTemplates()[name];
      expect(template, `${view.source} asks for injection template "${name}"`).toBeDefined();
      const patch = renderTemplate(template!, view.annotations);
      Object.assign(view.labels, patch.metadata?.labels);
      Object.assign(view.annotations, patch.metadata?.annotations);
      view.containers.push(...(patch.spec?.containers ?? []));
      view.volumes.push(...(patch.spec?.volumes ?? []));
    }
    return view;
  });
}

const portcullisPods = (): Array<PodView & { container: Obj }> =>
  pods().flatMap((pod) => pod.containers.filter((c) => c.name === 'portcullis').map((container) => ({ ...pod, container })));

function configMap(name: string): Obj {
  const found = ofKind('ConfigMap').find((cm) => cm.metadata.name === name);
  expect(found, `ConfigMap ${name}`).toBeDefined();
  return found!;
}

/** The ConfigMap's portcullis.yaml through the real schema (with ${VAR:-default} filled in, as the loader does). */
function portcullisConfig() {
  const text = configMap('portcullis-config').data['portcullis.yaml'] as string;
  const expanded = text.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? 'from-the-environment');
  return configSchema.parse(parse(expanded));
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

describe('envoy/istio manifests', () => {
  it('parse as Kubernetes objects of the expected kinds', () => {
    const kinds = new Set(manifests.map((m) => m.doc.kind));
    expect([...kinds].sort()).toEqual(['AuthorizationPolicy', 'ConfigMap', 'Deployment', 'IstioOperator', 'Service', 'ServiceEntry']);
    for (const { file, doc } of manifests) {
      expect(typeof doc.apiVersion, `${file} apiVersion`).toBe('string');
      expect(typeof doc.metadata?.name, `${file} metadata.name`).toBe('string');
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
    expect(JSON.parse(policies['data.json'])).toEqual(JSON.parse(fs.readFileSync(path.join(repoRoot, 'policies', 'data.json'), 'utf8')));
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
      for (const [label, value] of Object.entries(selector)) expect(pod.labels[label], `${pod.source} label ${label}`).toBe(value);
    }
  });

  describe.each(portcullisPods().map((p) => [p.source, p] as const))('the Portcullis container of %s', (_source, pod) => {
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
  });
});
