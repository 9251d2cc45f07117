// The Istio walkthrough of docs/deploy.md, followed against the shipped files instead of a cluster: every
// file its commands apply exists and validates against its kind's schema, everything the workloads need
// (namespaces, the admin Secret, ConfigMaps, the Redis of redis.url) is created by those commands, the
// namespace gets the non-deprecated injection label, and no manifest under envoy/istio/ is left out.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as loadYaml } from 'yaml';
import { istioDir, loadManifestFile, repoRoot, schemaErrors, type Manifest, type Obj } from './manifests.js';

/** The shell commands of the first ```sh block under "## Istio", continuation lines joined, split on && and ;. */
function walkthroughCommands(markdown: string): string[][] {
  const section = /^## Istio\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1];
  if (section === undefined) throw new Error('docs/deploy.md has no "## Istio" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('the Istio section has no ```sh block');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .flatMap((line) => line.split(/\s*(?:&&|;)\s*/))
    .map((command) => command.trim())
    .filter((command) => command !== '' && !command.startsWith('#'))
    .map((command) => command.match(/"[^"]*"|'[^']*'|\S+/g) ?? []);
}

const docs = fs.readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');
const commands = walkthroughCommands(docs);

const filesOf = (argv: string[]): string[] => argv.flatMap((arg, i) => (arg === '-f' ? [argv[i + 1]!] : []));
const isKubectl = (argv: string[], ...verb: string[]): boolean =>
  argv[0] === 'kubectl' && verb.every((v) => argv.filter((a, i) => i === 0 || argv[i - 1] !== '-n').includes(v));
const namespaceOf = (argv: string[]): string | undefined => argv[argv.indexOf('-n') + 1];

const applied: Manifest[] = commands
  .filter((argv) => isKubectl(argv, 'apply') || (argv[0] === 'istioctl' && argv[1] === 'install'))
  .flatMap(filesOf)
  .filter((file) => fs.existsSync(path.join(repoRoot, file)))
  .flatMap(loadManifestFile);
const ofKind = (kind: string): Obj[] => applied.filter((m) => m.doc.kind === kind).map((m) => m.doc);

const createdNamespaces = new Set([
  // istioctl install creates istio-system for the IstioOperator resources.
  'istio-system',
  ...commands
    .filter((argv) => isKubectl(argv, 'create', 'namespace'))
    .map((argv) => argv[argv.indexOf('namespace') + 1]!),
  ...ofKind('Namespace').map((ns) => ns.metadata.name as string),
]);

/** Pod templates of the applied workloads, with the containers the injection template adds. */
function podTemplates(): Array<{ source: string; namespace: string; spec: Obj }> {
  const templates = Object.assign(
    {},
    ...ofKind('IstioOperator').map((op) => op.spec?.values?.sidecarInjectorWebhook?.templates ?? {}),
  ) as Record<string, string>;
  return [...ofKind('Deployment'), ...ofKind('StatefulSet')].map((workload) => {
    const spec: Obj = structuredClone(workload.spec.template.spec);
    const wanted = (workload.spec.template.metadata?.annotations?.['inject.istio.io/templates'] ?? '') as string;
    for (const name of wanted
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '' && t !== 'sidecar')) {
      // The template's only Go actions name ConfigMaps with a default; the default is what the pod gets here.
      const rendered = templates[name]!.replace(/\{\{\s*annotation\s+\.ObjectMeta\s+`[^`]+`\s+`([^`]*)`\s*\}\}/g, '$1');
      const patch = (loadYaml(rendered) as Obj).spec as Obj;
      spec.initContainers = [...(spec.initContainers ?? []), ...(patch.initContainers ?? [])];
      spec.containers = [...spec.containers, ...(patch.containers ?? [])];
      spec.volumes = [...(spec.volumes ?? []), ...(patch.volumes ?? [])];
    }
    return { source: `${workload.kind} ${workload.metadata.name}`, namespace: workload.metadata.namespace, spec };
  });
}

describe('the Istio walkthrough of docs/deploy.md', () => {
  it('is found, and applies files with kubectl and istioctl', () => {
    expect(commands.length).toBeGreaterThan(3);
    expect(commands.flatMap(filesOf).length).toBeGreaterThan(3);
  });

  it('applies only files that exist in the repository', () => {
    for (const file of commands.flatMap(filesOf)) expect(fs.existsSync(path.join(repoRoot, file)), file).toBe(true);
  });

  it('applies every manifest under envoy/istio/, so nothing the examples need is left out', () => {
    const appliedFiles = new Set(commands.flatMap(filesOf).map((f) => path.normalize(f)));
    for (const file of fs.readdirSync(istioDir).filter((f) => /\.ya?ml$/.test(f))) {
      expect(appliedFiles.has(path.join('envoy', 'istio', file)), `envoy/istio/${file} is applied`).toBe(true);
    }
  });

  it("applies documents that validate against their kind's schema", () => {
    expect(applied.length).toBeGreaterThan(5);
    for (const { file, doc } of applied)
      expect(schemaErrors(doc), `${file}: ${doc.kind} ${doc.metadata.name}`).toEqual([]);
  });

  it('creates every namespace a document lives in before using it', () => {
    for (const { file, doc } of applied) {
      if (doc.kind === 'Namespace') continue;
      expect(createdNamespaces.has(doc.metadata.namespace), `${file}: namespace ${doc.metadata.namespace}`).toBe(true);
    }
  });

  it('labels the workload namespace for injection with istio-injection=enabled (not a deprecated form)', () => {
    const labelled = commands.filter((argv) => isKubectl(argv, 'label', 'namespace'));
    expect(labelled.map((argv) => argv.at(-1))).toContain('istio-injection=enabled');
    for (const workload of ofKind('Deployment')) {
      expect(
        labelled.some((argv) => argv.includes(workload.metadata.namespace)),
        `${workload.metadata.namespace} is labelled`,
      ).toBe(true);
    }
  });

  it('creates every Secret and ConfigMap the pods refer to, in their namespace', () => {
    const secrets = commands
      .filter((argv) => isKubectl(argv, 'create', 'secret'))
      .map((argv) => `${namespaceOf(argv)}/${argv[argv.indexOf('generic') + 1]}`);
    const configMaps = ofKind('ConfigMap').map((cm) => `${cm.metadata.namespace}/${cm.metadata.name}`);
    for (const pod of podTemplates()) {
      const containers: Obj[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
      for (const env of containers.flatMap((c) => c.env ?? [])) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref) expect(secrets, `${pod.source}: Secret ${ref.name}`).toContain(`${pod.namespace}/${ref.name}`);
      }
      for (const volume of pod.spec.volumes ?? []) {
        if (volume.configMap)
          expect(configMaps, `${pod.source}: ConfigMap ${volume.configMap.name}`).toContain(
            `${pod.namespace}/${volume.configMap.name}`,
          );
      }
    }
  });

  it('starts the Redis the Portcullis configuration names', () => {
    const config = ofKind('ConfigMap').find((cm) => cm.data?.['portcullis.yaml'] !== undefined);
    const url = /url:\s*\$\{PORTCULLIS_REDIS_URL:-([^}]+)\}/.exec(config!.data['portcullis.yaml'])?.[1];
    expect(url, 'redis.url in portcullis.yaml').toBeDefined();
    const [service, namespace] = new URL(url!).hostname.split('.');
    expect(ofKind('Service').some((s) => s.metadata.name === service && s.metadata.namespace === namespace)).toBe(true);
    expect(
      ofKind('StatefulSet').some((s) => s.spec.serviceName === service && s.metadata.namespace === namespace),
    ).toBe(true);
    // ...and waits for it before the workloads that use it.
    const waitsForRedis = commands.findIndex((argv) => argv.includes('rollout') && argv.includes('statefulset/redis'));
    const appliesWorkloads = commands.findIndex((argv) => filesOf(argv).some((f) => f.endsWith('deployment.yaml')));
    expect(waitsForRedis).toBeGreaterThanOrEqual(0);
    expect(waitsForRedis).toBeLessThan(appliesWorkloads);
  });
});
