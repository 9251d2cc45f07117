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

  it('charges a scan of `x in array` one step per 64 elements, and a lookup in a set nothing', async () => {
    const source = `package m

import rego.v1

in_list if input.x in input.list

in_set if input.x in {v | some v in input.list}
`;
    const { wasm } = compileRego([{ path: 'm.rego', source }], { entrypoints: ['m/in_list', 'm/in_set'] });
    const policy = await loadPolicy(wasm, undefined, customBuiltins);
    const exports = (policy.wasmInstance as WebAssembly.Instance).exports;
    const budget = exports[FUEL_BUDGET_EXPORT] as WebAssembly.Global;
    const left = exports[FUEL_LEFT_EXPORT] as WebAssembly.Global;
    budget.value = 1_000_000;
    const input = { x: -1, list: Array.from({ length: 6400 }, (_, i) => i) };
    const used = (entrypoint: string): number => {
      policy.evaluate(input, entrypoint);
      return 1_000_000 - (left.value as number);
    };
    const list = used('m/in_list');
    expect(list).toBeGreaterThanOrEqual(6400 / 64);
    expect(list).toBeLessThan(6400 / 64 + 10);
    // the set costs its comprehension's 6400 iterations; the lookup itself adds nothing per element
    const set = used('m/in_set');
    expect(set).toBeGreaterThanOrEqual(6400);
    expect(set).toBeLessThan(6400 + 10);
  });

  it('emits no checks and no fuel exports with fuel: false', async () => {
    const m = await loaded(false);
    expect(m.budget).toBeUndefined();
    expect(m.left).toBeUndefined();
    expect(m.run(50)[0]?.result).toBe(50);
  });
});
