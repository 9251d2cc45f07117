import { describe, expect, it } from 'vitest';
import {
  buildAllowResponse,
  buildDenyResponse,
  type CheckResponseMessage,
} from '../../src/response/buildCheckResponse.js';
import {
  encodeCheckResponse,
  encodeCheckResponseFrame,
  NestingTooDeepError,
} from '../../src/response/encodeCheckResponse.js';
import { frameMessage } from '../../src/server/grpcFraming.js';
import type { HeaderEntry } from '../../src/response/headers.js';
import { REASONS, type DenialReason } from '../../src/response/reasons.js';
import { loadProtos } from '../../src/server/protos.js';
import { seededRandom } from '../fuzz/requests.js';

// protobufjs's encoding of the Check method's response (fromObject, then encode): what must come out byte for byte
const protobufjs = loadProtos().authorization['Check']!.responseSerialize;

/** Deterministic numbers in [0, 1), so a failure names a seed that reproduces it. */
const random = (seed: number): (() => number) => seededRandom(seed).next;

const STRINGS = [
  '',
  'x',
  'x-ratelimit-remaining',
  'application/json',
  'é',
  '日本語のヘッダー',
  '😀 emoji',
  '\ud800', // a lone high surrogate, short
  'a\udc00b',
  'quote " and backslash \\ and newline \n and nul \u0000',
  'x'.repeat(39),
  'y'.repeat(40),
  'é'.repeat(45),
  `${'z'.repeat(50)}\ud800${'z'.repeat(10)}`, // a lone surrogate in a long string
  `${'😀'.repeat(30)}`,
  'Bearer realm="portcullis", error="invalid_token"',
  'k'.repeat(200),
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

function someString(next: () => number): string {
  return next() < 0.2 ? `s${Math.floor(next() * 1e9)}` : pick(next, STRINGS);
}

function someJson(next: () => number, depth: number): unknown {
  const roll = next();
  if (depth > 3 || roll < 0.5) {
    return pick(next, [null, true, false, 0, -0, 1, -1, 42.5, 1e300, -123456789.125, 2 ** 53 + 2, someString(next)]);
  }
  if (roll < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => someJson(next, depth + 1));
  const object: Record<string, unknown> = {};
  const keys = Math.floor(next() * 4);
  for (let i = 0; i < keys; i++)
    object[pick(next, [someString(next), '1', '10', '2', 'a'])] = someJson(next, depth + 1);
  return object;
}

function someHeaders(next: () => number): HeaderEntry[] {
  return Array.from({ length: Math.floor(next() * 4) }, () => ({
    name: someString(next),
    value: someString(next),
    append: next() < 0.5,
  }));
}

function someStrings(next: () => number): string[] {
  return Array.from({ length: Math.floor(next() * 3) }, () => someString(next));
}

function someMessage(next: () => number): CheckResponseMessage {
  const dynamicMetadata = someJson(next, 0);
  const metadata =
    typeof dynamicMetadata === 'object' && dynamicMetadata !== null && !Array.isArray(dynamicMetadata)
      ? (dynamicMetadata as Record<string, unknown>)
      : {};
  if (next() < 0.5) {
    return buildAllowResponse({
      decisionId: someString(next),
      requestHeaders: someHeaders(next),
      requestHeadersToRemove: someStrings(next),
      responseHeaders: someHeaders(next),
      queryParametersToSet: someStrings(next).map((key) => ({ key, value: someString(next) })),
      queryParametersToRemove: someStrings(next),
      dynamicMetadata: metadata,
    });
  }
  const reasons = Object.keys(REASONS).filter((r) => r !== 'allowed') as DenialReason[];
  return buildDenyResponse({
    decisionId: someString(next),
    reason: pick(next, reasons),
    ...(next() < 0.5 ? { description: someString(next) } : {}),
    ...(next() < 0.3 ? { scope: someString(next) } : {}),
    headers: someHeaders(next),
    ...(next() < 0.5 ? { httpStatus: pick(next, [400, 401, 403, 404, 429, 503]) } : {}),
    ...(next() < 0.5 ? { body: someString(next) } : {}),
    dynamicMetadata: metadata,
  });
}

/** `depth` levels of objects, or of objects and arrays alternating, around `leaf` */
function nested(depth: number, leaf: unknown, arrays: boolean): Record<string, unknown> {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = arrays && i % 2 === 1 ? [value] : { a: value };
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { top: value };
}

describe('encodeCheckResponse', () => {
  it('writes the bytes protobufjs writes for the answers the pipeline builds', () => {
    const allow = buildAllowResponse({
      decisionId: '6c1b8f0e-3d2a-4b7c-9e51-000000000000',
      requestHeaders: [{ name: 'x-user', value: 'user-1', append: false }],
      requestHeadersToRemove: ['x-debug'],
      responseHeaders: [
        { name: 'x-ratelimit-limit', value: '1000000000', append: false },
        { name: 'x-ratelimit-remaining', value: '999999123', append: false },
      ],
      queryParametersToSet: [{ key: 'a', value: 'b' }],
      queryParametersToRemove: ['token'],
      dynamicMetadata: { tenant: 'acme', score: 0.5, tags: ['a', 'b'], nested: { ok: true, none: null } },
    });
    expect(encodeCheckResponse(allow)).toEqual(protobufjs(allow));
    for (const reason of Object.keys(REASONS).filter((r) => r !== 'allowed') as DenialReason[]) {
      const deny = buildDenyResponse({ decisionId: 'd1', reason, headers: [], dynamicMetadata: {} });
      expect(encodeCheckResponse(deny), reason).toEqual(protobufjs(deny));
    }
    const empty = buildAllowResponse({
      decisionId: '',
      requestHeaders: [],
      requestHeadersToRemove: [],
      responseHeaders: [],
      queryParametersToSet: [],
      queryParametersToRemove: [],
      dynamicMetadata: {},
    });
    expect(encodeCheckResponse(empty)).toEqual(protobufjs(empty));
  });

  it('writes the bytes protobufjs writes for generated answers (strings of every kind, nested metadata)', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const message = someMessage(random(seed));
      const expected = protobufjs(message);
      const actual = encodeCheckResponse(message);
      if (!actual.equals(expected))
        expect.fail(`seed ${seed}: ${actual.toString('hex')} != ${expected.toString('hex')}`);
    }
  });

  it('writes an answer as one gRPC frame: the prefix, then the same bytes', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const message = someMessage(random(seed));
      const actual = encodeCheckResponseFrame(message);
      const expected = frameMessage(protobufjs(message));
      if (!actual.equals(expected))
        expect.fail(`seed ${seed}: ${actual.toString('hex')} != ${expected.toString('hex')}`);
    }
  });

  it('writes negative status codes and append actions given as numbers as protobufjs does', () => {
    const message: CheckResponseMessage = {
      status: { code: -5, message: 'm' },
      deniedResponse: {
        status: { code: 403 },
        headers: [
          { header: { key: 'k', value: 'v' }, append: { value: true }, appendAction: 3 as never },
          { header: { key: 'k', value: 'v' }, append: { value: false }, appendAction: 'ADD_IF_ABSENT' as never },
        ],
        body: '',
      },
      dynamicMetadata: { fields: {} },
    };
    expect(encodeCheckResponse(message)).toEqual(protobufjs(message));
  });

  it('refuses metadata nested as deep as protobufjs refuses (two levels per JSON level), and no shallower', () => {
    const cases = [40, 46, 47, 48, 49, 50, 51, 60].flatMap((depth) =>
      [1, [], {}, { x: [] }].flatMap((leaf) => [true, false].map((arrays) => ({ depth, leaf, arrays }))),
    );
    for (const { depth, leaf, arrays } of cases) {
      const message = buildAllowResponse({
        decisionId: 'd',
        requestHeaders: [],
        requestHeadersToRemove: [],
        responseHeaders: [],
        queryParametersToSet: [],
        queryParametersToRemove: [],
        dynamicMetadata: nested(depth, leaf, arrays),
      });
      let expected: Buffer | 'throws';
      try {
        expected = protobufjs(message);
      } catch {
        expected = 'throws';
      }
      if (expected === 'throws') {
        expect(
          () => encodeCheckResponse(message),
          `depth ${depth}, leaf ${JSON.stringify(leaf)}, arrays ${arrays}`,
        ).toThrow(NestingTooDeepError);
      } else {
        expect(encodeCheckResponse(message), `depth ${depth}, leaf ${JSON.stringify(leaf)}, arrays ${arrays}`).toEqual(
          expected,
        );
      }
    }
  });
});
