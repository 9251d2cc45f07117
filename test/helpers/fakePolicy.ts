// A policy loader for server tests that are about the shell (health, admin, drain), not about Rego: the
// decision is a plain function of the input. Policy behaviour itself is tested through opa-wasm in e2e/.
import type { LoadedPolicy, PolicySettings } from '../../src/policy/engine.js';
import type { PolicyInput } from '../../src/input/buildInput.js';

export function functionPolicy(
  decide: (input: PolicyInput) => unknown,
  revision = 'test-1',
): (settings: PolicySettings) => Promise<LoadedPolicy> {
  return async (settings) => ({
    revision,
    kind: 'test',
    path: settings.path,
    entrypoint: settings.entrypoint,
    entrypoints: [settings.entrypoint],
    loadedAt: new Date(),
    evaluate: (input) => {
      const value = decide(input as PolicyInput);
      return value === undefined ? { defined: false } : { defined: true, value };
    },
  });
}
