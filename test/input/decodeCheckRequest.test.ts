import { describe, expect, it } from 'vitest';
import { decodeCheckRequest } from '../../src/input/decodeCheckRequest.js';
import { loadProtos } from '../../src/server/protos.js';
import { checkRequest } from '../helpers/checkClient.js';
import { seededRandom } from '../fuzz/requests.js';

// protobufjs's decoding (decode, then toObject with the loader options): what must come out, key order included
const check = loadProtos().authorization['Check']!;
const protobufjs = check.requestDeserialize;

type Outcome = { value: unknown } | { error: true };
function reference(bytes: Buffer): Outcome {
  try {
    return { value: protobufjs(bytes) };
  } catch {
    return { error: true };
  }
}

/** The fast decoder agrees with protobufjs wherever it answers; undefined means it handed the bytes over. */
function expectSame(bytes: Buffer, label: string): 'decoded' | 'handed over' {
  const ours = decodeCheckRequest(bytes);
  if (ours === undefined) return 'handed over';
  const expected = reference(bytes);
  if ('error' in expected) expect.fail(`${label}: protobufjs throws, the decoder answered ${JSON.stringify(ours)}`);
  // JSON text compares key order too
  expect(JSON.stringify(ours), label).toBe(JSON.stringify(expected.value));
  expect(ours, label).toEqual(expected.value);
  return 'decoded';
}

/** Deterministic numbers in [0, 1), so a failure names a seed that reproduces it. */
const random = (seed: number): (() => number) => seededRandom(seed).next;

// --- a small protobuf writer, so messages can have any field order, repeats, explicit defaults, odd fields ---

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const bytesField = (field: number, body: number[]): number[] => [...tag(field, 2), ...varint(body.length), ...body];
const stringField = (field: number, text: string): number[] => bytesField(field, [...Buffer.from(text)]);
const varintField = (field: number, value: number | bigint): number[] => [...tag(field, 0), ...varint(value)];

const TEXTS = [
  '',
  'a',
  'GET',
  '/api/orders/1?x=1',
  'é',
  '日本',
  '😀',
  'x'.repeat(300),
  'Bearer abc.def.ghi',
  '123',
  '__proto__x',
];
const KEYS = [
  '',
  'a',
  ':authority',
  'user-agent',
  'x-request-id',
  '10',
  '2',
  'constructor',
  'toString',
  'b',
  'é',
  'clé',
  'k'.repeat(60),
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

/** Fields of one message in a random order, each possibly repeated. */
function message(next: () => number, fields: Array<() => number[]>): number[] {
  const chosen: number[][] = [];
  for (const field of fields) {
    const roll = next();
    if (roll < 0.45) continue;
    chosen.push(field());
    if (roll > 0.93) chosen.push(field());
  }
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  return chosen.flat();
}

function mapEntries(next: () => number, field: number): number[] {
  const out: number[] = [];
  const n = Math.floor(next() * 5);
  for (let i = 0; i < n; i++) {
    const entry: number[] = [];
    if (next() < 0.9) entry.push(...stringField(1, pick(next, KEYS)));
    if (next() < 0.9) entry.push(...stringField(2, pick(next, TEXTS)));
    out.push(...bytesField(field, entry));
  }
  return out;
}

function someUint(next: () => number): number | bigint {
  return pick(next, [0, 1, 127, 128, 8080, 65535, 2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1, 2 ** 53 + 1, -1]);
}

function socketAddress(next: () => number): number[] {
  return message(next, [
    () => varintField(1, pick(next, [0, 1, 7])),
    () => stringField(2, pick(next, ['10.0.0.1', '::1', ''])),
    () => varintField(3, someUint(next)),
    () => stringField(4, 'http'),
    () => stringField(5, 'resolver'),
    () => varintField(6, pick(next, [0, 1, 2])),
  ]);
}

function peer(next: () => number): number[] {
  return message(next, [
    () => bytesField(1, next() < 0.9 ? bytesField(1, socketAddress(next)) : bytesField(2, stringField(1, '/sock'))),
    () => stringField(2, 'svc'),
    () => mapEntries(next, 3),
    () => stringField(4, pick(next, TEXTS)),
    () => stringField(5, 'cert'),
  ]);
}

function httpRequest(next: () => number): number[] {
  return message(next, [
    () => stringField(1, '1234'),
    () => stringField(2, pick(next, TEXTS)),
    () => mapEntries(next, 3),
    () => stringField(4, pick(next, TEXTS)),
    () => stringField(5, 'host'),
    () => stringField(6, 'https'),
    () => stringField(7, 'q=1'),
    () => stringField(8, 'frag'),
    () => varintField(9, someUint(next)),
    () => stringField(10, 'HTTP/2'),
    () => stringField(11, pick(next, TEXTS)),
    () => bytesField(12, [1, 2, 3, 250]),
    () => bytesField(13, bytesField(1, [...stringField(1, 'k'), ...stringField(2, 'v')])),
  ]);
}

function attributes(next: () => number): number[] {
  const metadata = (): number[] => (next() < 0.8 ? [] : bytesField(1, [...stringField(1, 'ns'), ...bytesField(2, [])]));
  return message(next, [
    () => bytesField(1, peer(next)),
    () => bytesField(2, peer(next)),
    () =>
      bytesField(
        4,
        message(next, [
          () =>
            bytesField(
              1,
              message(next, [
                () => varintField(1, someUint(next)),
                () => varintField(2, pick(next, [0, 5, 999_999_999, 2 ** 31, 2 ** 32 - 1, -1])),
              ]),
            ),
          () => bytesField(2, httpRequest(next)),
        ]),
      ),
    () => mapEntries(next, 10),
    () => bytesField(11, metadata()),
    () => bytesField(12, next() < 0.8 ? stringField(1, 'sni.example') : []),
    () => bytesField(13, metadata()),
    () => (next() < 0.3 ? stringField(30, 'unknown field') : []),
  ]);
}

function someCheckRequest(next: () => number): Buffer {
  return Buffer.from(next() < 0.05 ? [] : bytesField(1, attributes(next)));
}

describe('decodeCheckRequest', () => {
  it('decodes what the test client and bench send exactly as protobufjs does', () => {
    for (const request of [
      checkRequest({ method: 'GET', path: '/x', headers: { authorization: 'Bearer t', accept: '*/*' } }),
      checkRequest({ method: 'POST', path: '/api/orders?x=1', host: 'h', sourceAddress: '10.1.2.3', headers: {} }),
    ]) {
      const bytes = check.requestSerialize(request as object);
      expect(expectSame(bytes, JSON.stringify(request))).toBe('decoded');
    }
  });

  it('agrees with protobufjs on generated messages: any field order, repeats, explicit defaults, odd fields', () => {
    let decoded = 0;
    for (let seed = 1; seed <= 4000; seed++) {
      if (expectSame(someCheckRequest(random(seed)), `seed ${seed}`) === 'decoded') decoded++;
    }
    // most are within what the decoder reads; the rest went to protobufjs
    expect(decoded).toBeGreaterThan(1000);
    expect(decoded).toBeLessThan(4000);
  });

  it('hands damaged messages to protobufjs, or decodes them as it does', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const next = random(seed);
      const bytes = someCheckRequest(next);
      if (bytes.length === 0) continue;
      const damaged = Buffer.from(bytes);
      const at = Math.floor(next() * damaged.length);
      if (next() < 0.5) damaged[at] = Math.floor(next() * 256);
      expectSame(next() < 0.5 ? damaged : damaged.subarray(0, at), `seed ${seed}`);
    }
  });

  it('hands over what it does not read: a __proto__ map key, int64 beyond 2^53, other fields', () => {
    const headers = bytesField(3, [...stringField(1, '__proto__'), ...stringField(2, 'v')]);
    const proto = Buffer.from(bytesField(1, bytesField(4, bytesField(2, headers))));
    expect(decodeCheckRequest(proto)).toBeUndefined();
    const big = Buffer.from(bytesField(1, bytesField(4, bytesField(2, varintField(9, 2n ** 60n)))));
    expect(decodeCheckRequest(big)).toBeUndefined();
    const body = Buffer.from(bytesField(1, bytesField(4, bytesField(2, bytesField(12, [1, 2])))));
    expect(decodeCheckRequest(body)).toBeUndefined();
    expect(decodeCheckRequest(Buffer.from(stringField(2, 'x')))).toBeUndefined();
  });
});
