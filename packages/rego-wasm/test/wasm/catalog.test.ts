// The builtin catalog against what implements it: the runtime's exports, the JavaScript tables, the refusals.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG, LANGUAGE_BUILTINS, REFUSED } from '../../src/builtins/catalog.js';
import { implementations } from '../../src/builtins/index.js';

const runtimeExports = new Set(
  WebAssembly.Module.exports(
    new WebAssembly.Module(readFileSync(new URL('../../dist/runtime/runtime.wasm', import.meta.url))),
  ).map((e) => e.name),
);
const exportName = (prefix: string, name: string): string => `${prefix}${name.replace(/\./g, '_')}`;

describe('the builtin catalog', () => {
  it('has a runtime export for every native builtin and every fast path', () => {
    const missing = Object.entries(CATALOG).flatMap(([name, spec]) => [
      ...(spec.lowering === 'native' && !runtimeExports.has(exportName('b_', name)) ? [exportName('b_', name)] : []),
      ...(spec.fastPath === true && !runtimeExports.has(exportName('f_', name)) ? [exportName('f_', name)] : []),
    ]);
    expect(missing).toEqual([]);
  });

  it('has a JavaScript implementation for every js builtin', () => {
    const missing = Object.entries(CATALOG).filter(
      ([name, spec]) => spec.lowering === 'js' && implementations[name] === undefined,
    );
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('never both accepts and refuses a name, and gives every refusal a reason', () => {
    expect(
      Object.keys(REFUSED).filter((name) => Object.hasOwn(CATALOG, name) || LANGUAGE_BUILTINS.includes(name)),
    ).toEqual([]);
    expect(Object.entries(REFUSED).filter(([, why]) => why.length < 10)).toEqual([]);
  });

  it('covers at least the builtins OPA-Envoy policies commonly call', () => {
    for (const name of [
      'io.jwt.decode_verify',
      'io.jwt.verify_rs256',
      'object.filter',
      'object.remove',
      'object.subset',
      'object.union_n',
      'regex.split',
      'regex.find_all_string_submatch_n',
      'regex.template_match',
      'time.diff',
      'time.format',
      'yaml.marshal',
      'yaml.unmarshal',
      'yaml.is_valid',
      'base64.is_valid',
      'strings.any_prefix_match',
      'strings.any_suffix_match',
      'graph.reachable',
      'net.cidr_merge',
      'net.cidr_expand',
      'opa.runtime',
    ]) {
      expect(CATALOG[name], name).toBeDefined();
    }
  });
});
