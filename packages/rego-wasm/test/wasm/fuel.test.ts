// Fuel checks in emitted modules: a budget the host sets per instance bounds every evaluation, the counter
// refills at each evaluation, hosts that set nothing run unmetered, and `fuel: false` emits no checks.
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { compileRego } from '../../src/index.js';
import { customBuiltins } from '../../src/builtins/index.js';
import { FUEL_BUDGET_EXPORT, FUEL_EXHAUSTED_MESSAGE, FUEL_LEFT_EXPORT } from '../../src/wasm/fuel.js';

// /pairs with n: n*n iterations of the inner loop (plus n of the outer), one function call per pair.
const SOURCE = `package t

import rego.v1

same(a, b) if a == b

count_pairs := count([1 |
	some x in numbers.range(1, input.n)
	some y in numbers.range(1, input.n)
	same(x, y)
])
`;

async function loaded(fuel?: boolean) {
  const { wasm } = compileRego([{ path: 't.rego', source: SOURCE }], {
    entrypoints: ['t/count_pairs'],
    ...(fuel === undefined ? {} : { fuel }),
  });
  const policy = await loadPolicy(wasm, undefined, customBuiltins);
  const exports = (policy.wasmInstance as WebAssembly.Instance).exports;
  return {
    policy,
    budget: exports[FUEL_BUDGET_EXPORT] as WebAssembly.Global | undefined,
    left: exports[FUEL_LEFT_EXPORT] as WebAssembly.Global | undefined,
    run: (n: number) => policy.evaluate({ n }, 't/count_pairs') as Array<{ result: unknown }>,
  };
}

describe('fuel', () => {
  it('stops an evaluation that takes more steps than its budget, with the fuel message', async () => {
    const m = await loaded();
    m.budget!.value = 1_000;
    expect(() => m.run(100)).toThrow(FUEL_EXHAUSTED_MESSAGE);
    expect(m.left!.value as number).toBeLessThan(0);
  });

  it('counts loop iterations and function calls: n*n pairs need about 2*n*n steps', async () => {
    const m = await loaded();
    m.budget!.value = 2 * 30 * 30 + 100;
    expect(m.run(30)[0]?.result).toBe(30);
    const used = (m.budget!.value as number) - (m.left!.value as number);
    expect(used).toBeGreaterThanOrEqual(2 * 30 * 30);
    expect(used).toBeLessThan(2 * 30 * 30 + 100);
    m.budget!.value = 2 * 30 * 30 - 1;
    expect(() => m.run(30)).toThrow(FUEL_EXHAUSTED_MESSAGE);
  });

  it('refills the budget at every evaluation, so a failed one does not starve the next', async () => {
    const m = await loaded();
    m.budget!.value = 5_000;
    expect(() => m.run(100)).toThrow(FUEL_EXHAUSTED_MESSAGE);
    expect(m.run(20)[0]?.result).toBe(20);
    expect(m.run(20)[0]?.result).toBe(20);
  });

  it('runs unmetered when the host sets no budget', async () => {
    const m = await loaded();
    expect(m.run(200)[0]?.result).toBe(200);
  });

  it('emits no checks and no fuel exports with fuel: false', async () => {
    const m = await loaded(false);
    expect(m.budget).toBeUndefined();
    expect(m.left).toBeUndefined();
    expect(m.run(50)[0]?.result).toBe(50);
  });
});
