// A server loads only the builtin namespaces its module calls (src/builtins/lazy.ts). Every builtin of the
// full table (index.ts) must be found that way: asked for by its plain or its wire name alone, the lazy table
// has it under both names, answering as the full table's entry does; and asked for nothing, it holds only the
// always-loaded namespaces (a new namespace file must be listed in lazy.ts to be found).
import { describe, expect, it } from 'vitest';
import { builtinWireName, customBuiltins, implementations } from '../src/builtins/index.js';
import { customBuiltinsFor } from '../src/builtins/lazy.js';

const NAMES = Object.keys(implementations);

describe('customBuiltinsFor', () => {
  it.each(NAMES)('finds %s by its plain and by its wire name', async (name) => {
    for (const asked of [name, builtinWireName(name)]) {
      const table = await customBuiltinsFor([asked]);
      expect(Object.hasOwn(table, name), `${asked}: plain name`).toBe(true);
      expect(Object.hasOwn(table, builtinWireName(name)), `${asked}: wire name`).toBe(true);
    }
  });

  it('gives every name the full table has, and no other, when asked for all', async () => {
    const table = await customBuiltinsFor(NAMES);
    expect(Object.keys(table).sort()).toEqual(Object.keys(customBuiltins).sort());
  });

  it('answers as the full table does (wrappers, integer checks, exact texts)', async () => {
    const table = await customBuiltinsFor(['portcullis.wire.numbers.range', 'split', 'time.add_date']);
    const calls: Array<[string, unknown[]]> = [
      ['split', ['a,b', ',']],
      [builtinWireName('split'), ['"a,b"', '","']],
      ['numbers.range', [1, 3]],
      [builtinWireName('numbers.range'), ['1', '3.0']],
      [builtinWireName('time.add_date'), ['0', '1', '2', '3']],
    ];
    for (const [name, args] of calls) expect(table[name]!(...args), name).toEqual(customBuiltins[name]!(...args));
  });

  it('loads no optional namespace for a module that calls none', async () => {
    const table = await customBuiltinsFor(['portcullis.wire.split', 'trim_prefix', 'count']);
    expect(Object.hasOwn(table, 'split')).toBe(true);
    expect(Object.hasOwn(table, 'time.now_ns')).toBe(false);
    expect(Object.hasOwn(table, 'crypto.x509.parse_certificates')).toBe(false);
  });
});
