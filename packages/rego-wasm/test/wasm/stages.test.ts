// The emitter as a list of named stages: each runs in order over one context, reports its time, the fuel
// stages are skipped with `fuel: false`, and a prefix of the list can run alone to inspect what it decided.
import { describe, expect, it } from 'vitest';
import { planRego } from '../../src/compile.js';
import { createEmitContext, type EmitContext } from '../../src/wasm/context.js';
import { EMIT_STAGES, emitWasm, runEmitStages } from '../../src/wasm/emit.js';
import { FUEL_BUDGET_EXPORT, FUEL_EXHAUSTED_MESSAGE, FUEL_LEFT_EXPORT } from '../../src/wasm/fuel.js';

const SOURCE = `package t

import rego.v1

default allow := false

allow if {
	startswith(input.path, "/api")
	time.now_ns() > 0
	regex.match("^a", input.user)
}
`;
const POLICY = planRego([{ path: 't.rego', source: SOURCE }], ['t/allow']);
const FUEL_STAGES = ['meterFuel', 'exportFuel'];

function timedNames(fuel: boolean): string[] {
  const names: string[] = [];
  emitWasm(POLICY, { fuel, onStage: (name, ms) => (expect(ms).toBeGreaterThanOrEqual(0), names.push(name)) });
  return names;
}

/** Runs the stages up to and including `last` on a fresh context, hands it to `inspect`, disposes it. */
function upTo(last: string, inspect: (m: EmitContext) => void): void {
  const m = createEmitContext(POLICY, {});
  try {
    const end = EMIT_STAGES.findIndex((stage) => stage.name === last);
    expect(end).toBeGreaterThanOrEqual(0);
    runEmitStages(m, EMIT_STAGES.slice(0, end + 1));
    inspect(m);
  } finally {
    m.mod.dispose();
  }
}

function exportNames(wasm: Uint8Array): string[] {
  return WebAssembly.Module.exports(new WebAssembly.Module(wasm)).map((e) => e.name);
}

describe('EMIT_STAGES', () => {
  it('names each stage once, ending with validate, optimize, serialize', () => {
    const names = EMIT_STAGES.map((stage) => stage.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(-3)).toEqual(['validate', 'optimize', 'serialize']);
  });

  it('runs and times every stage, in the order of the list', () => {
    expect(timedNames(true)).toEqual(EMIT_STAGES.map((stage) => stage.name));
  });

  it('skips the fuel stages with fuel off, and the module then has no fuel globals', () => {
    expect(timedNames(false)).toEqual(EMIT_STAGES.map((stage) => stage.name).filter((n) => !FUEL_STAGES.includes(n)));
    expect(exportNames(emitWasm(POLICY, { fuel: false }))).not.toContain(FUEL_LEFT_EXPORT);
    expect(exportNames(emitWasm(POLICY))).toEqual(expect.arrayContaining([FUEL_LEFT_EXPORT, FUEL_BUDGET_EXPORT]));
  });

  it('numbers the JS builtins in name order and caches the argument-less ones', () => {
    upTo('numberBuiltins', (m) => {
      // startswith is native; regex.match and time.now_ns go through the SDK.
      expect([...m.jsBuiltins.keys()]).toEqual(['regex.match', 'time.now_ns']);
      expect(m.nullaryIds).toEqual([m.jsBuiltins.get('time.now_ns')]);
    });
  });

  it('lays out the policy constants, then the builtins and entrypoints tables and the fuel message', () => {
    upTo('layoutConstants', (m) => {
      expect(m.texts.slice(0, POLICY.constants.length)).toEqual(POLICY.constants);
      expect(JSON.parse(m.texts[m.builtinsConst]!)).toEqual(m.builtinTable);
      expect(JSON.parse(m.texts[m.entrypointsConst]!)).toEqual({ 't/allow': 0 });
      expect(JSON.parse(m.texts[m.fuelMessage]!)).toBe(FUEL_EXHAUSTED_MESSAGE);
    });
  });

  it('a stage run before the one it depends on is refused', () => {
    const m = createEmitContext(POLICY, {});
    try {
      const start = EMIT_STAGES.find((stage) => stage.name === 'emitStart')!;
      expect(() => runEmitStages(m, [start])).toThrow(/before layoutMemory/);
    } finally {
      m.mod.dispose();
    }
  });

  it('the whole list, run by hand, yields the same bytes as emitWasm', () => {
    upTo('serialize', (m) => expect(Buffer.from(m.binary!).equals(Buffer.from(emitWasm(POLICY)))).toBe(true));
  });
});
