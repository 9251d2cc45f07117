import { describe, expect, it } from 'vitest';
import { Consts, L, evalStmts, only } from './helpers.js';

describe('emitted module', () => {
  it('returns the input unchanged through the SDK', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 3, 2, [{ op: 'assign', source: L(0), target: 2 }], { a: [1, 'x', null, true] });
    expect(rs).toEqual([{ result: { a: [1, 'x', null, true] } }]);
  });
  it('adds numbers with the plus builtin', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 3, 2, [{ op: 'call', func: 'plus', args: [c.c(40), c.c(2)], target: 2 }]);
    expect(only(rs)).toBe(42);
  });
});
