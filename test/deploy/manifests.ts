// Kubernetes manifests read as the API server would: every YAML document of a file, validated against the
// OpenAPI schema of its kind (kubernetes-models for the built-in kinds, @kubernetes-models/istio for Istio's).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Pod, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const istioDir = path.join(repoRoot, 'envoy', 'istio');

export type Obj = Record<string, any>;

export interface Manifest {
  file: string;
  doc: Obj;
}

/** Every non-empty YAML document of `file` (relative to the repository), or throws naming the file. */
export function loadManifestFile(file: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const document of parseAllDocuments(fs.readFileSync(path.join(repoRoot, file), 'utf8'))) {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
    const doc = document.toJS() as Obj | null;
    if (doc !== null) manifests.push({ file, doc });
  }
  return manifests;
}

/** Every manifest under envoy/istio/. */
export function loadIstioManifests(): Manifest[] {
  return fs
    .readdirSync(istioDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => loadManifestFile(path.posix.join('envoy', 'istio', f)));
}

interface Validating {
  validate(): void;
}
type ModelFactory = (doc: Obj) => Validating;

/**
 * apiVersion/kind -> the model that validates it. networking.istio.io/v1 serves the same schema as v1beta1
 * (Istio promoted the API without changing it), so a v1 ServiceEntry is checked against the v1beta1 one.
 */
const MODELS: Readonly<Record<string, ModelFactory>> = {
  'v1/ConfigMap': (doc) => new ConfigMap(doc as ConstructorParameters<typeof ConfigMap>[0]),
  'v1/Namespace': (doc) => new Namespace(doc as ConstructorParameters<typeof Namespace>[0]),
  'v1/Service': (doc) => new Service(doc as ConstructorParameters<typeof Service>[0]),
  'v1/Pod': (doc) => new Pod(doc as ConstructorParameters<typeof Pod>[0]),
  'apps/v1/Deployment': (doc) => new Deployment(doc as ConstructorParameters<typeof Deployment>[0]),
  'apps/v1/StatefulSet': (doc) => new StatefulSet(doc as ConstructorParameters<typeof StatefulSet>[0]),
  'security.istio.io/v1/AuthorizationPolicy': (doc) =>
    new AuthorizationPolicy(doc as ConstructorParameters<typeof AuthorizationPolicy>[0]),
  'networking.istio.io/v1/ServiceEntry': (doc) =>
    new ServiceEntry({ ...doc, apiVersion: 'networking.istio.io/v1beta1' } as ConstructorParameters<
      typeof ServiceEntry
    >[0]),
  'install.istio.io/v1alpha1/IstioOperator': (doc) =>
    new IstioOperator(doc as ConstructorParameters<typeof IstioOperator>[0]),
};

/** The schema errors of one document ([] when valid); an unknown apiVersion/kind is an error too. */
export function schemaErrors(doc: Obj): string[] {
  const factory = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (factory === undefined) return [`no schema known for ${doc.apiVersion} ${doc.kind}`];
  try {
    factory(doc).validate();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
