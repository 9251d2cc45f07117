// Every IR statement, emitted and run through the real SDK.
import { describe, expect, it } from 'vitest';
import type { Stmt } from '../../src/ir.js';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { customBuiltins } from '../../src/builtins/index.js';
import { emitWasm } from '../../src/wasm/emit.js';
import { Consts, L, block, builtinsTableText, evalStmts, func, load, only, plan, policy } from './helpers.js';

const add = (value: number): Stmt => ({ op: 'resultSetAdd', value });

describe('straight-line statements', () => {
  it('assign copies locals and constants; reset makes a local undefined', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 5, 4, [
      { op: 'assign', source: c.c({ k: [1, 2] }), target: 2 },
      { op: 'assign', source: L(2), target: 3 },
      { op: 'reset', target: 2 },
      { op: 'isUndefined', source: 2 },
      { op: 'assign', source: L(3), target: 4 },
    ]);
    expect(only(rs)).toEqual({ k: [1, 2] });
  });

  it('an undefined entrypoint gives an empty result set', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 3, 2, [{ op: 'isDefined', source: 2 }]);
    expect(rs).toEqual([]);
  });

  it('dot reads object keys, array indexes (1.0 too) and set members, and fails otherwise', async () => {
    const c = new Consts();
    const input = { o: { a: 'x' }, arr: [10, 20] };
    const get = async (stmts: Stmt[]) => only(await evalStmts(c, 6, 5, stmts, input));
    expect(
      await get([
        { op: 'dot', source: L(0), key: c.c('o'), target: 2 },
        { op: 'dot', source: L(2), key: c.c('a'), target: 5 },
      ]),
    ).toBe('x');
    expect(
      await get([
        { op: 'dot', source: L(0), key: c.c('arr'), target: 2 },
        { op: 'dot', source: L(2), key: c.c('1.0', true), target: 5 },
      ]),
    ).toBe(20);
    expect(
      await get([
        { op: 'makeSet', target: 2 },
        { op: 'setAdd', set: 2, value: c.c('m') },
        { op: 'dot', source: L(2), key: c.c('m'), target: 5 },
      ]),
    ).toBe('m');
    for (const key of ['missing', 2, -1, 0.5]) {
      expect(
        await get([
          { op: 'dot', source: L(0), key: c.c('arr'), target: 2 },
          { op: 'assign', source: c.c('kept'), target: 5 },
          { op: 'dot', source: L(2), key: c.c(key), target: 5 },
        ]),
      ).toBeUndefined();
    }
    expect(await get([{ op: 'dot', source: c.c('str'), key: c.c(0), target: 5 }])).toBeUndefined();
  });

  it('a failed dot leaves its target as it was for later blocks', async () => {
    const c = new Consts();
    const p = policy(c, [
      plan(
        't/p',
        4,
        block({ op: 'assign', source: c.c('before'), target: 2 }),
        block({ op: 'dot', source: L(0), key: c.c('nope'), target: 2 }),
        block(add(2)),
      ),
    ]);
    expect(only((await load(p)).evaluate({}))).toBe('before');
  });

  it('equal and notEqual use Rego equality (1 == 1.0, sets and objects by content)', async () => {
    const c = new Consts();
    const t = async (stmt: Stmt) =>
      only(await evalStmts(c, 3, 2, [stmt, { op: 'assign', source: c.c(true), target: 2 }]));
    expect(await t({ op: 'equal', a: c.c(1), b: c.c('1.0', true) })).toBe(true);
    expect(await t({ op: 'equal', a: c.c({ a: 1, b: [1] }), b: c.c('{"b":[1.0],"a":1}', true) })).toBe(true);
    expect(await t({ op: 'equal', a: c.c('a'), b: c.c('b') })).toBeUndefined();
    expect(await t({ op: 'equal', a: c.c(1), b: c.c('1') })).toBeUndefined();
    expect(await t({ op: 'notEqual', a: c.c(1), b: c.c(2) })).toBe(true);
    expect(await t({ op: 'notEqual', a: c.c([1]), b: c.c([1]) })).toBeUndefined();
    expect(await t({ op: 'equal', a: c.c('123456789012345678901', true), b: c.c('123456789012345678901', true) })).toBe(
      true,
    );
    expect(
      await t({ op: 'equal', a: c.c('123456789012345678901', true), b: c.c('123456789012345678902', true) }),
    ).toBeUndefined();
  });

  it('notFalse fails only on false; 0, "", null and [] pass', async () => {
    const c = new Consts();
    for (const [v, passes] of [
      [false, false],
      [true, true],
      [0, true],
      ['', true],
      [null, true],
      [[], true],
    ] as const) {
      const rs = await evalStmts(c, 3, 2, [
        { op: 'notFalse', source: c.c(v) },
        { op: 'assign', source: c.c('ok'), target: 2 },
      ]);
      expect(only(rs), JSON.stringify(v)).toBe(passes ? 'ok' : undefined);
    }
  });

  it('isDefined / isUndefined test locals, input included', async () => {
    const c = new Consts();
    const withInput = await evalStmts(
      c,
      3,
      2,
      [
        { op: 'isDefined', source: 0 },
        { op: 'assign', source: c.c(1), target: 2 },
      ],
      { x: 1 },
    );
    expect(only(withInput)).toBe(1);
    const noInput = await evalStmts(c, 3, 2, [
      { op: 'isUndefined', source: 0 },
      { op: 'assign', source: c.c(2), target: 2 },
    ]);
    expect(only(noInput)).toBe(2);
  });

  it('isType checks each of the seven types', async () => {
    const c = new Consts();
    const samples: [string, unknown][] = [
      ['null', null],
      ['boolean', true],
      ['number', 1.5],
      ['string', 's'],
      ['array', []],
      ['object', {}],
    ];
    for (const [type, v] of samples) {
      for (const [other] of samples) {
        const rs = await evalStmts(c, 3, 2, [
          { op: 'isType', source: c.c(v), type: other as 'null' },
          { op: 'assign', source: c.c(true), target: 2 },
        ]);
        expect(only(rs), `${type} is ${other}`).toBe(type === other ? true : undefined);
      }
    }
    const set = await evalStmts(c, 4, 2, [
      { op: 'makeSet', target: 3 },
      { op: 'isType', source: L(3), type: 'set' },
      { op: 'assign', source: c.c(true), target: 2 },
    ]);
    expect(only(set)).toBe(true);
  });

  it('lenEqual compares collection sizes', async () => {
    const c = new Consts();
    const t = async (v: unknown, n: number) =>
      only(
        await evalStmts(c, 3, 2, [
          { op: 'lenEqual', source: c.c(v), length: n },
          { op: 'assign', source: c.c(true), target: 2 },
        ]),
      );
    expect(await t([1, 2], 2)).toBe(true);
    expect(await t({ a: 1 }, 1)).toBe(true);
    expect(await t([1, 2], 3)).toBeUndefined();
    expect(await t('ab', 2)).toBeUndefined();
  });

  it('builds arrays, sets (deduplicated, sorted) and objects', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 6, 5, [
      { op: 'makeArray', target: 2, capacity: 0 },
      ...[3, 1, 2, 1, 4, 5, 6].map((n): Stmt => ({ op: 'arrayAppend', array: 2, value: c.c(n) })),
      { op: 'makeSet', target: 3 },
      ...['b', 'a', 'b', 'c'].map((s): Stmt => ({ op: 'setAdd', set: 3, value: c.c(s) })),
      { op: 'setAdd', set: 3, value: c.c(1) },
      { op: 'makeObject', target: 4 },
      { op: 'objectInsert', object: 4, key: c.c('z'), value: L(2) },
      { op: 'objectInsert', object: 4, key: c.c('a'), value: L(3) },
      { op: 'objectInsert', object: 4, key: c.c('a'), value: c.c('replaced') },
      { op: 'objectInsert', object: 4, key: c.c('s'), value: L(3) },
      { op: 'assign', source: L(4), target: 5 },
    ]);
    expect(only(rs)).toEqual({ a: 'replaced', s: [1, 'a', 'b', 'c'], z: [3, 1, 2, 1, 4, 5, 6] });
  });

  it('objectInsertOnce accepts an equal value and aborts on a different one', async () => {
    const c = new Consts();
    const msg = c.msg('object keys must be unique');
    const ok = await evalStmts(c, 3, 2, [
      { op: 'makeObject', target: 2 },
      { op: 'objectInsertOnce', object: 2, key: c.c('k'), value: c.c(1), message: msg },
      { op: 'objectInsertOnce', object: 2, key: c.c('k'), value: c.c('1.0', true), message: msg },
    ]);
    expect(only(ok)).toEqual({ k: 1 });
    await expect(
      evalStmts(c, 3, 2, [
        { op: 'makeObject', target: 2 },
        { op: 'objectInsertOnce', object: 2, key: c.c('k'), value: c.c(1), message: msg },
        { op: 'objectInsertOnce', object: 2, key: c.c('k'), value: c.c(2), message: msg },
      ]),
    ).rejects.toBe('object keys must be unique');
  });

  it('assignOnce keeps equal values and aborts on a conflict', async () => {
    const c = new Consts();
    const msg = c.msg('complete rules must not produce multiple outputs');
    const ok = await evalStmts(c, 3, 2, [
      { op: 'assignOnce', source: c.c('v'), target: 2, message: msg },
      { op: 'assignOnce', source: c.c('v'), target: 2, message: msg },
    ]);
    expect(only(ok)).toBe('v');
    await expect(
      evalStmts(c, 3, 2, [
        { op: 'assignOnce', source: c.c('v'), target: 2, message: msg },
        { op: 'assignOnce', source: c.c('w'), target: 2, message: msg },
      ]),
    ).rejects.toBe('complete rules must not produce multiple outputs');
  });

  it('abort throws its message from evaluate', async () => {
    const c = new Consts();
    await expect(evalStmts(c, 3, 2, [{ op: 'abort', message: c.msg('boom: ünïcode-free text') }])).rejects.toMatch(
      /^boom/,
    );
  });

  it('objectMerge merges deeply with a winning on leaves, and takes either side alone', async () => {
    const c = new Consts();
    const merged = await evalStmts(c, 3, 2, [
      {
        op: 'objectMerge',
        a: c.c({ x: { p: 1, q: 1 }, leaf: 'a' }),
        b: c.c({ x: { q: 2, r: 2 }, leaf: 'b', only: 'b' }),
        target: 2,
      },
    ]);
    expect(only(merged)).toEqual({ leaf: 'a', only: 'b', x: { p: 1, q: 1, r: 2 } });
    const oneSide = await evalStmts(c, 4, 2, [{ op: 'objectMerge', a: L(3), b: c.c({ d: 1 }), target: 2 }]);
    expect(only(oneSide)).toEqual({ d: 1 });
    const neither = await evalStmts(c, 5, 2, [
      { op: 'assign', source: c.c('kept'), target: 2 },
      { op: 'objectMerge', a: L(3), b: L(4), target: 2 },
    ]);
    expect(neither).toEqual([]);
  });

  it('resultSetAdd collects distinct results in order', async () => {
    const c = new Consts();
    const p = policy(c, [
      plan(
        't/p',
        3,
        block(
          { op: 'assign', source: c.c('b'), target: 2 },
          add(2),
          { op: 'assign', source: c.c('a'), target: 2 },
          add(2),
          add(2),
        ),
      ),
    ]);
    expect((await load(p)).evaluate({})).toEqual([{ result: 'a' }, { result: 'b' }]);
  });
});

describe('control flow', () => {
  it('scan visits arrays by index, objects by sorted key and sets in Rego order', async () => {
    const c = new Consts();
    const collect = (source: unknown): Stmt[] => [
      { op: 'assign', source: c.c(source), target: 3 },
      { op: 'makeArray', target: 2, capacity: 4 },
      {
        op: 'scan',
        source: 3,
        key: 4,
        value: 5,
        block: block(
          { op: 'makeArray', target: 6, capacity: 2 },
          { op: 'arrayAppend', array: 6, value: L(4) },
          { op: 'arrayAppend', array: 6, value: L(5) },
          { op: 'arrayAppend', array: 2, value: L(6) },
        ),
      },
    ];
    expect(only(await evalStmts(c, 7, 2, collect(['x', 'y'])))).toEqual([
      [0, 'x'],
      [1, 'y'],
    ]);
    expect(only(await evalStmts(c, 7, 2, collect({ b: 2, a: 1, '1': 0 })))).toEqual([
      ['1', 0],
      ['a', 1],
      ['b', 2],
    ]);
    expect(only(await evalStmts(c, 7, 2, collect('not a collection')))).toEqual([]);
    const setRs = await evalStmts(c, 7, 2, [
      { op: 'makeSet', target: 3 },
      ...[[1], 'b', { k: 1 }, 2.5, null, true, 'a', false, -3].map((v): Stmt => ({
        op: 'setAdd',
        set: 3,
        value: c.c(v),
      })),
      { op: 'makeArray', target: 2, capacity: 0 },
      { op: 'scan', source: 3, key: 4, value: 5, block: block({ op: 'arrayAppend', array: 2, value: L(4) }) },
    ]);
    expect(only(setRs)).toEqual([null, false, true, -3, 2.5, 'a', 'b', [1], { k: 1 }]);
  });

  it('a failure inside a scan body moves on to the next element', async () => {
    const c = new Consts();
    const rs = await evalStmts(
      c,
      6,
      2,
      [
        { op: 'makeArray', target: 2, capacity: 0 },
        {
          op: 'scan',
          source: 0,
          key: 4,
          value: 5,
          block: block(
            { op: 'call', func: 'gt', args: [L(5), c.c(2)], target: 3 },
            { op: 'notFalse', source: L(3) },
            { op: 'arrayAppend', array: 2, value: L(5) },
          ),
        },
      ],
      [5, 1, 3, 2, 4],
    );
    expect(only(rs)).toEqual([5, 3, 4]);
  });

  it('rebinding the scanned local inside the body does not change what is scanned', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 6, 2, [
      { op: 'makeArray', target: 2, capacity: 0 },
      { op: 'assign', source: c.c(['a', 'b', 'c']), target: 3 },
      {
        op: 'scan',
        source: 3,
        key: 4,
        value: 5,
        block: block({ op: 'arrayAppend', array: 2, value: L(5) }, { op: 'assign', source: c.c([]), target: 3 }),
      },
    ]);
    expect(only(rs)).toEqual(['a', 'b', 'c']);
  });

  it('nested scans backtrack over every combination', async () => {
    const c = new Consts();
    const rs = await evalStmts(
      c,
      9,
      2,
      [
        { op: 'makeSet', target: 2 },
        {
          op: 'scan',
          source: 0,
          key: 3,
          value: 4,
          block: block({
            op: 'scan',
            source: 0,
            key: 5,
            value: 6,
            block: block(
              { op: 'notEqual', a: L(4), b: L(6) },
              { op: 'call', func: 'plus', args: [L(4), L(6)], target: 7 },
              { op: 'setAdd', set: 2, value: L(7) },
            ),
          }),
        },
      ],
      [1, 2, 4],
    );
    expect(only(rs)).toEqual([3, 5, 6]);
  });

  it('not succeeds when its block fails and fails when its block completes', async () => {
    const c = new Consts();
    const t = async (inner: Stmt) =>
      only(
        await evalStmts(c, 3, 2, [
          { op: 'not', block: block(inner) },
          { op: 'assign', source: c.c('passed'), target: 2 },
        ]),
      );
    expect(await t({ op: 'equal', a: c.c(1), b: c.c(2) })).toBe('passed');
    expect(await t({ op: 'equal', a: c.c(1), b: c.c(1) })).toBeUndefined();
  });

  it('blocks run each block and continue after a failing one', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 3, 2, [
      { op: 'makeArray', target: 2, capacity: 0 },
      {
        op: 'blocks',
        blocks: [
          block({ op: 'arrayAppend', array: 2, value: c.c('first') }),
          block({ op: 'equal', a: c.c(1), b: c.c(2) }, { op: 'arrayAppend', array: 2, value: c.c('never') }),
          block({ op: 'arrayAppend', array: 2, value: c.c('third') }),
        ],
      },
    ]);
    expect(only(rs)).toEqual(['first', 'third']);
  });

  it('break 1 inside a scan body stops the scan (first match wins)', async () => {
    const c = new Consts();
    const rs = await evalStmts(
      c,
      6,
      2,
      [
        {
          op: 'blocks',
          blocks: [
            block(
              {
                op: 'scan',
                source: 0,
                key: 4,
                value: 5,
                block: block(
                  { op: 'call', func: 'gt', args: [L(5), c.c(1)], target: 3 },
                  { op: 'notFalse', source: L(3) },
                  { op: 'assign', source: L(5), target: 2 },
                  { op: 'break', index: 1 },
                ),
              },
              { op: 'assign', source: c.c('not reached'), target: 2 },
            ),
          ],
        },
      ],
      [1, 7, 9],
    );
    expect(only(rs)).toBe(7);
  });

  it('break 0 leaves only the innermost block', async () => {
    const c = new Consts();
    const rs = await evalStmts(c, 3, 2, [
      { op: 'makeArray', target: 2, capacity: 0 },
      {
        op: 'blocks',
        blocks: [
          block(
            { op: 'arrayAppend', array: 2, value: c.c(1) },
            { op: 'break', index: 0 },
            { op: 'arrayAppend', array: 2, value: c.c(2) },
          ),
          block({ op: 'arrayAppend', array: 2, value: c.c(3) }),
        ],
      },
    ]);
    expect(only(rs)).toEqual([1, 3]);
  });
});

describe('functions and entrypoints', () => {
  it('calls user functions with arguments and fails when they return undefined', async () => {
    const c = new Consts();
    // double(x) = x * 2 when x is a number
    const double = func('g0.data.lib.double', [0], 1, 2, [
      block(
        { op: 'isType', source: L(0), type: 'number' },
        { op: 'call', func: 'mul', args: [L(0), c.c(2)], target: 1 },
      ),
    ]);
    const ok = await evalStmts(
      c,
      3,
      2,
      [{ op: 'call', func: 'g0.data.lib.double', args: [c.c(21)], target: 2 }],
      undefined,
      undefined,
      [double],
    );
    expect(only(ok)).toBe(42);
    const undef = await evalStmts(
      c,
      3,
      2,
      [
        { op: 'assign', source: c.c('kept'), target: 2 },
        { op: 'call', func: 'g0.data.lib.double', args: [c.c('x')], target: 2 },
      ],
      undefined,
      undefined,
      [double],
    );
    expect(undef).toEqual([]);
  });

  it('memoized functions run once per evaluation, and again in the next one', async () => {
    const c = new Consts();
    // The memoized function calls a JS builtin (lower on non-ASCII text takes the JS path); counting those
    // calls counts the function's runs.
    const mark = func(
      'g0.data.lib.mark',
      [0, 1],
      2,
      3,
      [block({ op: 'call', func: 'lower', args: [c.c('É')], target: 2 })],
      true,
    );
    const p = policy(
      c,
      [
        plan(
          't/p',
          3,
          block(
            { op: 'call', func: 'g0.data.lib.mark', args: [L(0), L(1)], target: 2 },
            { op: 'call', func: 'g0.data.lib.mark', args: [L(0), L(1)], target: 2 },
            { op: 'call', func: 'g0.data.lib.mark', args: [L(0), L(1)], target: 2 },
            add(2),
          ),
        ),
      ],
      [mark],
    );
    let runs = 0;
    const counting = {
      ...customBuiltins,
      'portcullis.wire.lower': (s: unknown) => {
        runs++;
        return JSON.stringify((JSON.parse(String(s)) as string).toLowerCase());
      },
    };
    const loaded = await loadPolicy(emitWasm(p), undefined, counting);
    expect(loaded.evaluate({})).toEqual([{ result: 'é' }]);
    expect(runs).toBe(1);
    loaded.evaluate({});
    expect(runs).toBe(2);
  });

  it('modifying a constant or data aborts instead of corrupting later evaluations', async () => {
    const c = new Consts();
    const p = policy(c, [
      plan(
        't/const',
        4,
        block({ op: 'assign', source: c.c([1]), target: 2 }, { op: 'arrayAppend', array: 2, value: c.c(2) }, add(2)),
      ),
      plan(
        't/data',
        4,
        block(
          { op: 'dot', source: L(1), key: c.c('roles'), target: 2 },
          { op: 'arrayAppend', array: 2, value: c.c('x') },
        ),
      ),
      plan(
        't/read',
        4,
        block(
          { op: 'makeArray', target: 2, capacity: 2 },
          { op: 'arrayAppend', array: 2, value: c.c([1]) },
          { op: 'dot', source: L(1), key: c.c('roles'), target: 3 },
          { op: 'arrayAppend', array: 2, value: L(3) },
          add(2),
        ),
      ),
      plan(
        't/fresh',
        4,
        block({ op: 'makeArray', target: 2, capacity: 0 }, { op: 'arrayAppend', array: 2, value: c.c(2) }, add(2)),
      ),
    ]);
    const loaded = await load(p);
    expect(() => loaded.evaluate({}, 't/const')).toThrow(/modify a constant or data/);
    loaded.setData({ roles: ['admin'] });
    expect(() => loaded.evaluate({}, 't/data')).toThrow(/modify a constant or data/);
    expect(loaded.evaluate({}, 't/read')).toEqual([{ result: [[1], ['admin']] }]);
    expect(loaded.evaluate({}, 't/fresh')).toEqual([{ result: [2] }]);
  });

  it('dispatches entrypoints by name and lists them', async () => {
    const c = new Consts();
    const p = policy(c, [
      plan('a/allow', 3, block({ op: 'assign', source: c.c('A'), target: 2 }, add(2))),
      plan('b/deny', 3, block({ op: 'dot', source: L(0), key: c.c('who'), target: 2 }, add(2))),
    ]);
    const loaded = await load(p);
    expect(loaded.entrypoints).toEqual({ 'a/allow': 0, 'b/deny': 1 });
    expect(loaded.evaluate({}, 'a/allow')).toEqual([{ result: 'A' }]);
    expect(loaded.evaluate({ who: 'me' }, 'b/deny')).toEqual([{ result: 'me' }]);
    expect(loaded.evaluate({ who: 'me' }, 1)).toEqual([{ result: 'me' }]);
  });

  it('lists JS builtins in builtins() under their SDK names', async () => {
    const c = new Consts();
    const p = policy(c, [
      plan(
        't/p',
        3,
        block(
          { op: 'call', func: 'lower', args: [c.c('ABC')], target: 2 },
          { op: 'call', func: 'sprintf', args: [c.c('%d'), c.c([1])], target: 2 },
          add(2),
        ),
      ),
    ]);
    const loaded = await load(p);
    const table = JSON.parse(builtinsTableText(loaded)) as Record<string, number>;
    expect(Object.keys(table).sort()).toEqual(['portcullis.wire.lower', 'portcullis.wire.sprintf']);
    expect(loaded.evaluate({})).toEqual([{ result: '1' }]);
  });

  // Arithmetic is not among them: OPA's big-number rules send what machine integers cannot answer to
  // JavaScript (test/features/opa-arithmetic.test.ts).
  it('comparisons, aggregates, types and collections run natively (no JS builtin in the table)', async () => {
    const c = new Consts();
    const native = [
      'equal',
      'neq',
      'lt',
      'lte',
      'gt',
      'gte',
      'and',
      'or',
      'internal.member_2',
      'internal.member_3',
      'count',
      'max',
      'min',
      'sort',
      'is_string',
      'is_number',
      'is_boolean',
      'is_array',
      'is_object',
      'is_set',
      'is_null',
      'type_name',
      'object.get',
      'object.keys',
      'object.union',
      'object.remove',
      'array.concat',
      'array.slice',
      'array.reverse',
      'intersection',
      'union',
      'startswith',
      'endswith',
      'contains',
      'concat',
      'json.is_valid',
    ];
    const arity: Record<string, number> = { 'internal.member_3': 3, 'object.get': 3, 'array.slice': 3 };
    const one = [
      'count',
      'max',
      'min',
      'sort',
      'object.keys',
      'array.reverse',
      'intersection',
      'union',
      'json.is_valid',
      'type_name',
    ];
    const stmts: Stmt[] = native.map((func): Stmt => {
      const n = arity[func] ?? (one.includes(func) || func.startsWith('is_') ? 1 : 2);
      return { op: 'call', func, args: Array.from({ length: n }, () => c.c(1)), target: 2 };
    });
    const p = policy(c, [plan('t/p', 3, block(...stmts.map((s) => ({ op: 'blocks', blocks: [block(s)] }) as Stmt)))]);
    const loaded = await load(p);
    expect(builtinsTableText(loaded)).toBe('{}');
  });

  it('many evaluations reuse the heap instead of growing memory', async () => {
    const c = new Consts();
    const p = policy(c, [plan('t/p', 3, block({ op: 'assign', source: L(0), target: 2 }, add(2)))]);
    const loaded = await load(p);
    const mem = (loaded as unknown as { mem: WebAssembly.Memory }).mem;
    const input = { items: Array.from({ length: 500 }, (_, i) => `item-${i}`) };
    loaded.evaluate(input);
    const after1 = mem.buffer.byteLength;
    for (let i = 0; i < 300; i++) loaded.evaluate(input);
    expect(mem.buffer.byteLength).toBe(after1);
  });
});

describe('the pre-1.2 context API', () => {
  it('evaluates through opa_eval_ctx_* and eval', async () => {
    const c = new Consts();
    const p = policy(c, [plan('t/p', 3, block({ op: 'dot', source: L(0), key: c.c('x'), target: 2 }, add(2)))]);
    const loaded = await load(p);
    (loaded as unknown as { minorVersion: number }).minorVersion = 1; // take the SDK's ctx path
    expect(loaded.evaluate({ x: [1, 'two'] })).toEqual([{ result: [1, 'two'] }]);
    expect(loaded.evaluate({})).toEqual([]);
  });
});
