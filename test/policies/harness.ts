// Compiles the shipped policies with Portcullis's own compiler and evaluates them through the real
// opa-wasm SDK, the way the sidecar does, on inputs built by the sidecar's input stage.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import opa from '@open-policy-agent/opa-wasm';
import { compileRego, type RegoSource } from '@portcullis/rego-wasm';
import { customBuiltins } from '@portcullis/rego-wasm/builtins';
import { buildPolicyInput } from '../../src/input/buildInput.js';
import type { DecodedAttributes } from '../../src/input/checkRequest.js';
import { toRequestView } from '../../src/input/requestView.js';
import { readPolicyDirectory } from '../../src/policy/source.js';

export { compileRego };

export const policiesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

/** Every .rego file under dir as the sidecar reads a policy directory, named relative to policies/. */
export async function regoSources(dir: string): Promise<RegoSource[]> {
  const { sources } = await readPolicyDirectory(dir);
  return sources.map((source) => ({ ...source, path: path.relative(policiesDir, source.path) }));
}

export interface EvaluablePolicy {
  /** The entrypoint's value, or undefined when the result set is empty (Portcullis: undefined decision). */
  decide(input: unknown): unknown;
}

export async function loadPolicy(dir: string, entrypoint: string, data?: unknown): Promise<EvaluablePolicy> {
  const compiled = compileRego(await regoSources(dir), { entrypoints: [entrypoint] });
  const policy = await opa.loadPolicy(compiled.wasm, undefined, customBuiltins);
  if (data !== undefined) policy.setData(data as object);
  return {
    decide(input: unknown): unknown {
      const resultSet = policy.evaluate(input, entrypoint) as Array<{ result: unknown }>;
      return resultSet.length === 0 ? undefined : resultSet[0]!.result;
    },
  };
}

export function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export interface RequestSpec {
  method?: string;
  /** Path with an optional query string, as Envoy sends it. */
  path: string;
  headers?: Record<string, string>;
  identity?: ReturnType<typeof identity> | null;
}

/**
 * An OPA-Envoy shaped input document, plus Portcullis's `identity`, built by the sidecar's own input stage
 * (buildPolicyInput) from CheckRequest attributes as the gRPC server decodes them.
 */
export function envoyInput(spec: RequestSpec): Record<string, unknown> {
  const method = spec.method ?? 'GET';
  const attributes: DecodedAttributes = {
    source: { address: { socketAddress: { address: '10.0.0.7', portValue: 53122 } } },
    destination: { address: { socketAddress: { address: '10.0.0.2', portValue: 8080 } } },
    request: {
      time: { seconds: '1795431600', nanos: 0 },
      http: {
        id: '9a1b6f1e-0000-4000-8000-000000000001',
        method,
        headers: { ':authority': 'app.example.com', ':method': method, ':path': spec.path, ...spec.headers },
        path: spec.path,
        host: 'app.example.com',
        scheme: 'http',
        protocol: 'HTTP/1.1',
      },
    },
  };
  const built = buildPolicyInput(attributes, toRequestView(attributes), spec.identity ?? null);
  if (built.kind !== 'input') throw new Error(`not a valid request: ${built.detail}`);
  // A plain JSON copy: the tests compare it and hand it to the policy as JSON.
  return JSON.parse(JSON.stringify(built.input)) as Record<string, unknown>;
}

/** input.identity of a verified token: `sub` becomes subject, `jti` token_id. */
export function identity(claims: Record<string, unknown>) {
  return {
    provider: 'corp',
    subject: typeof claims.sub === 'string' ? claims.sub : null,
    claims: { iss: 'https://id.example.com', aud: 'orders-api', exp: 1_900_000_000, iat: 1_800_000_000, ...claims },
    token_id: typeof claims.jti === 'string' ? claims.jti : null,
  };
}
