// JSON parse/dump of the runtime, driven through the exports of a real emitted module.
import { beforeAll, describe, expect, it } from 'vitest';
import { Consts, L, block, load, plan, policy } from '../wasm/helpers.js';

interface Exports {
  opa_malloc(n: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_json_dump(v: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(p: number): void;
}

let exportsOf: Exports;
let memory: WebAssembly.Memory;
let loaded: Awaited<ReturnType<typeof load>>;

beforeAll(async () => {
  const c = new Consts();
  loaded = await load(
    policy(c, [plan('t/data', 3, block({ op: 'assign', source: L(1), target: 2 }, { op: 'resultSetAdd', value: 2 }))]),
  );
  const inner = loaded as unknown as { wasmInstance: WebAssembly.Instance; mem: WebAssembly.Memory };
  exportsOf = inner.wasmInstance.exports as unknown as Exports;
  memory = inner.mem;
});

/** JSON text in, JSON text out, through opa_json_parse and opa_json_dump. */
function roundTrip(text: string): string | undefined {
  const bytes = new TextEncoder().encode(text);
  const addr = exportsOf.opa_malloc(bytes.length);
  new Uint8Array(memory.buffer).set(bytes, addr);
  const value = exportsOf.opa_json_parse(addr, bytes.length);
  if (value === 0) return undefined;
  const out = exportsOf.opa_json_dump(value);
  const buf = new Uint8Array(memory.buffer);
  let end = out;
  while (buf[end] !== 0) end++;
  return new TextDecoder().decode(buf.subarray(out, end));
}

describe('runtime JSON', () => {
  it('keeps integers beyond 2^53 and beyond i64 exactly', () => {
    expect(roundTrip('9007199254740993')).toBe('9007199254740993');
    expect(roundTrip('-9223372036854775808')).toBe('-9223372036854775808');
    expect(roundTrip('123456789012345678901234567890')).toBe('123456789012345678901234567890');
  });
  it('keeps float literals as written', () => {
    expect(roundTrip('[1.5,1e300,-0.1,2.50,1E-7]')).toBe('[1.5,1e300,-0.1,2.50,1E-7]');
  });
  it('decodes escapes and surrogate pairs and re-escapes what JSON requires', () => {
    const text = '"a\\"b\\\\c\\n\\t\\u00e9\\ud83d\\ude00\\u0001/"';
    const out = roundTrip(text)!;
    expect(JSON.parse(out)).toBe(JSON.parse(text));
    expect(out).toContain('é😀');
    expect(out).toContain('\\u0001');
  });
  it('passes raw UTF-8 text through unchanged', () => {
    expect(JSON.parse(roundTrip('"日本語 ✓"')!)).toBe('日本語 ✓');
  });
  it('sorts object keys and drops duplicate keys (last wins)', () => {
    expect(roundTrip('{"b":1,"a":2,"c":{"z":1,"y":2},"b":3}')).toBe('{"a":2,"b":3,"c":{"y":2,"z":1}}');
  });
  it('finds every quote, backslash and control character whatever its place in an 8-byte word', () => {
    // The string scan reads eight bytes at a time: put each kind of stop at every offset of a few words.
    const filler = 'abcdefghijklmnopqrstuvwxyz0123456789';
    for (let at = 0; at < 26; at++) {
      for (const [piece, decoded] of [
        ['\\"', '"'],
        ['\\\\', '\\'],
        ['\\u00e9', 'é'],
        ['é', 'é'],
        ['😀', '😀'],
        ['\\n', '\n'],
      ] as const) {
        for (const tail of [0, 1, 7, 8, 9]) {
          const text = `"${filler.slice(0, at)}${piece}${filler.slice(0, tail)}"`;
          const expected = `${filler.slice(0, at)}${decoded}${filler.slice(0, tail)}`;
          expect(JSON.parse(roundTrip(text) ?? 'null'), text).toBe(expected);
          expect(roundTrip(`[${text},${text}]`), text).toBe(JSON.stringify([expected, expected]));
        }
      }
      // A raw control character is refused wherever it sits; so is a string the text ends in.
      expect(roundTrip(`"${filler.slice(0, at)}\u0001${filler.slice(0, 9)}"`), `control at ${at}`).toBeUndefined();
      expect(roundTrip(`"${filler.slice(0, at)}\t"`), `tab at ${at}`).toBeUndefined();
      expect(roundTrip(`"${filler.slice(0, at)}`), `unterminated at ${at}`).toBeUndefined();
      expect(roundTrip(`"${filler.slice(0, at)}\\"`), `escaped last quote at ${at}`).toBeUndefined();
    }
  });
  it('orders object keys bytewise (UTF-8) with the last duplicate winning, small and large objects alike', () => {
    // Keys sharing long prefixes (compared eight bytes at a time), non-ASCII bytes (above every ASCII one),
    // duplicates; sizes on both sides of the in-place sort's limit.
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const stems = ['x-envoy-', 'x-envoy-expected-', 'accept', 'accept-encoding', 'é', 'zz', '', 'x-envoy-é'];
    for (let round = 0; round < 200; round++) {
      const size = 1 + next(40);
      const pairs: [string, number][] = [];
      for (let i = 0; i < size; i++) pairs.push([`${stems[next(stems.length)]}${next(12)}`, i]);
      const text = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
      const last = new Map<string, number>();
      for (const [k, v] of pairs) last.set(k, v);
      const expectedKeys = [...last.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const out = roundTrip(text)!;
      const expected = `{${expectedKeys.map((k) => `${JSON.stringify(k)}:${last.get(k)}`).join(',')}}`;
      expect(out, text).toBe(expected);
    }
  });
  it('rejects malformed JSON with 0', () => {
    for (const bad of ['', '{', '[1,]', '{"a" 1}', 'tru', '01x', '"unterminated', '1 2', '-', '1.', '.5']) {
      expect(roundTrip(bad), bad).toBeUndefined();
    }
    // Literals cut short or misspelt, also where the text ends inside them; brackets that do not match.
    for (const bad of ['t', 'nul', 'fals', 'truE', 'nulll', 'falsy', '[tru]', '[true', '{"a":nul}', '[1}', '{"a":1]']) {
      expect(roundTrip(bad), bad).toBeUndefined();
    }
    for (const bad of ['{"a":1,}', '{,}', '{"a"}', '{"a":}', '{1:2}', '[,1]', '[1 2]', '{"a":1 "b":2}']) {
      expect(roundTrip(bad), bad).toBeUndefined();
    }
  });
  it('reads literals and integers of every length exactly', () => {
    expect(roundTrip('[true,false,null]')).toBe('[true,false,null]');
    expect(roundTrip('true')).toBe('true');
    expect(roundTrip('false')).toBe('false');
    expect(roundTrip('null')).toBe('null');
    for (let digits = 1; digits <= 21; digits++) {
      const n = '987654321098765432109'.slice(0, digits);
      expect(roundTrip(n), n).toBe(n);
      expect(roundTrip(`-${n}`), `-${n}`).toBe(`-${n}`);
    }
    for (const n of [
      '0',
      '-0',
      '9223372036854775807',
      '9223372036854775808',
      '-9223372036854775809',
      '999999999999999999',
    ]) {
      expect(roundTrip(`[${n}]`), n).toBe(`[${n === '-0' ? '0' : n}]`);
    }
  });
  it('nests values 512 levels deep and no deeper', () => {
    const nested = (levels: number, inner: string) => '['.repeat(levels) + inner + ']'.repeat(levels);
    const keyed = (levels: number, inner: string) => '{"k":'.repeat(levels) + inner + '}'.repeat(levels);
    expect(roundTrip(nested(512, '1'))).toBe(nested(512, '1'));
    expect(roundTrip(nested(513, '1'))).toBeUndefined();
    expect(roundTrip(nested(513, ''))).toBe(nested(513, ''));
    expect(roundTrip(keyed(512, '1'))).toBe(keyed(512, '1'));
    expect(roundTrip(keyed(513, '1'))).toBeUndefined();
    expect(roundTrip(nested(700, ''))).toBeUndefined();
  });
  it('reads random documents as JSON.parse does, keys in byte order', () => {
    // Nested objects and arrays of every size with whitespace between tokens; strings with escapes, UTF-8
    // and lengths around the eight-byte words; duplicate keys. Compared with JSON.parse's reading written back
    // with the keys sorted by their UTF-8 bytes (the runtime's order).
    let seed = 11;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [
      '',
      'a',
      'abcdefgh',
      'abcdefghi',
      'x-envoy-',
      'é',
      '😀',
      '\\"',
      '\\\\',
      '\\n',
      '\\u00e9',
      '\\ud83d\\ude00',
    ];
    const ws = (): string => [' ', '', '', '\n', '\t'][next(5)]!;
    const text = (): string => `"${Array.from({ length: next(4) }, () => pieces[next(pieces.length)]).join('')}"`;
    const value = (depth: number): string => {
      const kind = next(depth > 4 ? 5 : 8);
      if (kind === 0) return ['true', 'false', 'null'][next(3)]!;
      if (kind === 1) return String(next(2000000) - 1000000);
      if (kind <= 4) return text();
      const n = next(depth < 2 ? 30 : 5);
      if (kind === 5)
        return `[${ws()}${Array.from({ length: n }, () => value(depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
      return `{${ws()}${Array.from({ length: n }, () => `${text()}${ws()}:${ws()}${value(depth + 1)}`).join(`${ws()},`)}${ws()}}`;
    };
    const canonical = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
      if (typeof v !== 'object' || v === null) return JSON.stringify(v);
      const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
    };
    for (let round = 0; round < 300; round++) {
      const doc = `${ws()}${value(0)}${ws()}`;
      expect(roundTrip(doc), doc).toBe(canonical(JSON.parse(doc)));
    }
  });
  it('builds collections of any size, nested inside each other', () => {
    const big = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      tags: Array.from({ length: i % 7 }, (_, j) => `t${j}`),
    }));
    const text = JSON.stringify({ after: [[], {}, [[]], { x: {} }], big, z: 1 });
    expect(roundTrip(text)).toBe(text);
  });
  it('finds the closing quote, an escape or a control character at any offset of a string (eight bytes at a time)', () => {
    for (let length = 0; length <= 24; length++) {
      const plain = 'abcdefghijklmnopqrstuvwxyz'.slice(0, length);
      expect(roundTrip(`"${plain}"`)).toBe(`"${plain}"`);
      expect(roundTrip(`"${plain}`), `unterminated ${length}`).toBeUndefined();
      for (let at = 0; at <= length; at++) {
        const [head, tail] = [plain.slice(0, at), plain.slice(at)];
        for (const escape of ['\\"', '\\\\', '\\n', '\\u00e9']) {
          const text = `"${head}${escape}${tail}"`;
          expect(JSON.parse(roundTrip(text)!), text).toBe(JSON.parse(text));
        }
        for (const raw of ['\u0000', '\u0001', '\n', '\u001f']) {
          expect(roundTrip(`"${head}${raw}${tail}"`), `raw ${raw.charCodeAt(0)} at ${at}`).toBeUndefined();
        }
        for (const utf8 of ['é', '✓', '😀', '\u007f']) {
          expect(JSON.parse(roundTrip(`"${head}${utf8}${tail}"`)!)).toBe(`${head}${utf8}${tail}`);
        }
      }
    }
  });
  it('accepts whitespace around values', () => {
    expect(roundTrip(' \n{ "a" : [ 1 , true , null ] }\t')).toBe('{"a":[1,true,null]}');
  });
  it('round-trips nested data through setData and the SDK', () => {
    const data = { users: [{ name: 'ä', roles: ['x', 'y'], n: -1.25, ok: false, none: null }], e: {} as object, a: [] };
    loaded.setData(data);
    expect(loaded.evaluate({})).toEqual([{ result: data }]);
  });
  it("grows memory for values larger than the SDK's initial 5 pages", () => {
    const big = Array.from({ length: 20000 }, (_, i) => ({ id: i, name: `user-${i}` }));
    loaded.setData({ big });
    const rs = loaded.evaluate({}) as { result: { big: unknown[] } }[];
    expect(rs[0]!.result.big).toHaveLength(20000);
    expect(rs[0]!.result.big[19999]).toEqual({ id: 19999, name: 'user-19999' });
  });
});

describe('an input the runtime cannot load', () => {
  // A plan whose result is the input itself (local 0).
  let echo: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => {
    echo = await load(
      policy(new Consts(), [
        plan('t/input', 3, block({ op: 'assign', source: L(0), target: 2 }, { op: 'resultSetAdd', value: 2 })),
      ]),
    );
  });
  const text = (s: string) => new TextEncoder().encode(s).buffer;

  it('fails the evaluation instead of evaluating with an undefined input', () => {
    const deep = '['.repeat(600) + ']'.repeat(600);
    expect(() => echo.evaluate(text(deep))).toThrow(/input is not JSON or is nested deeper than 512 levels/);
    expect(() => echo.evaluate(text('{"a":'))).toThrow(/input is not JSON/);
  });
  it('loads an input nested 500 levels, and a failed evaluation leaves the next one unaffected', () => {
    const nested = '['.repeat(500) + ']'.repeat(500);
    expect(JSON.stringify(echo.evaluate(text(nested)))).toBe(`[{"result":${nested}}]`);
    expect(() => echo.evaluate(text('['.repeat(600)))).toThrow();
    expect(echo.evaluate(text('{"a":1}'))).toEqual([{ result: { a: 1 } }]);
  });
});
