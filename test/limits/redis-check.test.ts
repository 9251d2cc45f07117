import { describe, expect, it } from 'vitest';
import { clusterSlotOf } from '../../src/limits/keys.js';
import {
  buildCheckCalls,
  CheckDeadlineError,
  CheckReplyError,
  combineCheckReplies,
  refundCalls,
} from '../../src/limits/redis-check.js';
import { limitRequest, rule } from './fixtures.js';

const token = { jti: 'j1', subject: 'alice', issuedAt: 1700000000 };

describe('buildCheckCalls', () => {
  it('puts the denylist and every rate-limit key of a check in one call outside Cluster', () => {
    const limits = [
      limitRequest(rule({ limit: 5, periodSeconds: 60 }), 'alice'),
      limitRequest(rule({ limit: 9 }), '10.0.0.1'),
    ];
    const calls = buildCheckCalls('p:', token, limits, false, 1700000000123);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.keys.slice(0, 2)).toEqual(['p:deny:jti:j1', 'p:deny:sub:alice']);
    // per rule: its bucket, override and penalty keys, in one hash tag
    expect(calls[0]!.keys.slice(2, 5).map((k) => k.split(':')[1])).toEqual(['rl', 'ovr', 'pen']);
    expect(new Set(calls[0]!.keys.slice(2, 5).map(clusterSlotOf)).size).toBe(1);
    // per rule: limit, period, cost, shadow, penalty ms, penalty factor
    expect(calls[0]!.args).toEqual([
      '1',
      '1',
      '1700000000',
      '1700000000123',
      '5',
      '60',
      '1',
      '0',
      '0',
      '1',
      '9',
      '3600',
      '1',
      '0',
      '0',
      '1',
    ]);
    expect(calls[0]!.limitIndexes).toEqual([0, 1]);
  });

  it('in Cluster, sends one call per slot, each holding only keys of that slot', () => {
    const limits = [
      limitRequest(rule({ limit: 5 }), 'alice'),
      limitRequest(rule({ limit: 6 }), 'alice'),
      limitRequest(rule({ limit: 7 }), 'bob'),
    ];
    const calls = buildCheckCalls('p:', token, limits, true, 1);
    for (const call of calls) expect(new Set(call.keys.map(clusterSlotOf)).size).toBe(1);
    expect(calls.flatMap((c) => c.limitIndexes).sort()).toEqual([0, 1, 2]);
    // both of alice's rules share a hash tag, so they stay in one atomic call
    expect(calls.some((c) => c.limitIndexes.includes(0) && c.limitIndexes.includes(1))).toBe(true);
  });

  it('outside Cluster builds the call Cluster sends when every key of the check shares one slot', () => {
    const limits = [
      limitRequest(rule({ limit: 5, periodSeconds: 60 }), 'alice'),
      { ...limitRequest(rule({ limit: 9, penalty: { seconds: 30, limitFactor: 0.5 } }), 'alice'), cost: 3 },
      limitRequest(rule({ limit: 2, shadow: true }), 'alice'),
    ];
    const standalone = buildCheckCalls('p:', null, limits, false, 42);
    expect(standalone).toHaveLength(1);
    expect(standalone).toEqual(buildCheckCalls('p:', null, limits, true, 42));
  });

  it('sends an empty iat when the token has none, and no call at all for nothing to look up', () => {
    expect(buildCheckCalls('p:', { jti: null, subject: 's', issuedAt: null }, [], false, 7)[0]!.args).toEqual([
      '0',
      '1',
      '',
      '7',
    ]);
    expect(buildCheckCalls('p:', null, [], false, 7)).toEqual([]);
  });
});

describe('combineCheckReplies', () => {
  const limits = [
    limitRequest(rule({ name: 'a', limit: 5, periodSeconds: 60 })),
    limitRequest(rule({ name: 'b', limit: 2, periodSeconds: 10 })),
  ];

  it('maps per-key replies back to their rules in request order', () => {
    const calls = [
      { keys: [], args: [], limitIndexes: [1] },
      { keys: [], args: [], limitIndexes: [0] },
    ];
    const result = combineCheckReplies(
      calls,
      [
        [0, 0, 0, 10, 5, 2, 0],
        [0, 1, 4, 12, 0, 5, 2],
      ],
      limits,
    );
    expect(result.revoked).toBeNull();
    expect(result.limits.map((l) => [l.rule, l.allowed, l.remaining, l.penalty])).toEqual([
      ['a', true, 4, 'started'],
      ['b', false, 0, null],
    ]);
  });

  it('reports a revocation from any call, jti before subject', () => {
    const calls = [
      { keys: [], args: [], limitIndexes: [] },
      { keys: [], args: [], limitIndexes: [] },
    ];
    expect(combineCheckReplies(calls, [[2], [1]], [])).toEqual({ revoked: 'jti', limits: [] });
    expect(combineCheckReplies(calls, [[2], [0]], [])).toEqual({ revoked: 'subject', limits: [] });
  });

  it('fails the whole check when any call ran past its deadline (nothing to report from it)', () => {
    const calls = [
      { keys: [], args: [], limitIndexes: [0] },
      { keys: [], args: [], limitIndexes: [1] },
    ];
    expect(() => combineCheckReplies(calls, [[0, 1, 4, 12, 0, 5, 0], [3]], limits)).toThrow(CheckDeadlineError);
  });

  it('refuses a reply that does not follow the script protocol', () => {
    expect(() => combineCheckReplies([{ keys: [], args: [], limitIndexes: [0] }], [[0, 1]], limits)).toThrow(
      CheckReplyError,
    );
    expect(() => combineCheckReplies([{ keys: [], args: [], limitIndexes: [] }], ['OK'], [])).toThrow(CheckReplyError);
  });
});

describe('refundCalls', () => {
  const limits = [
    limitRequest(rule({ name: 'a', limit: 5, periodSeconds: 60 }), 'alice'),
    limitRequest(rule({ name: 'b', limit: 1, periodSeconds: 60 }), 'ip'),
  ];
  const calls = buildCheckCalls('p:', { jti: 'j', subject: null, issuedAt: null }, limits, true, 1);
  const indexOf = (limitIndex: number) => calls.findIndex((c) => c.limitIndexes.includes(limitIndex));

  function replies(jti: 0 | 1, aAllowed: 0 | 1, bAllowed: 0 | 1): unknown[] {
    return calls.map((call) => {
      if (call.limitIndexes.length === 0) return [jti];
      return [0, ...call.limitIndexes.flatMap((i) => [i === 0 ? aAllowed : bAllowed, 0, 1, 0, i === 0 ? 5 : 1, 0])];
    });
  }

  it('gives back what groups spent when another group refused the check', () => {
    const reply = replies(0, 1, 0);
    const refunds = refundCalls(calls, reply, combineCheckReplies(calls, reply, limits), limits);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]!.keys).toEqual([calls[indexOf(0)]!.keys.at(-3)]);
    // the limit in force and the tokens the check took
    expect(refunds[0]!.args).toEqual(['5', '1']);
  });

  it('gives back every spending group when the token was revoked', () => {
    const reply = replies(1, 1, 1);
    expect(refundCalls(calls, reply, combineCheckReplies(calls, reply, limits), limits)).toHaveLength(2);
  });

  it('gives back what groups spent when another group ran past its deadline', () => {
    const reply = replies(0, 1, 1);
    reply[indexOf(1)] = [3];
    expect(refundCalls(calls, reply, null, limits).map((r) => r.keys)).toEqual([[calls[indexOf(0)]!.keys.at(-3)]]);
  });

  it('gives back nothing for an allowed check, or outside Cluster', () => {
    const reply = replies(0, 1, 1);
    expect(refundCalls(calls, reply, combineCheckReplies(calls, reply, limits), limits)).toEqual([]);
    const single = buildCheckCalls('p:', null, limits, false, 1);
    expect(refundCalls(single, [[1]], { revoked: 'jti', limits: [] }, limits)).toEqual([]);
  });
});
