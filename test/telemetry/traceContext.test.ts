// W3C Trace Context parsing and sampling, case by case from the specification's rules.
import { describe, expect, it } from 'vitest';
import {
  newSpanId,
  newTraceId,
  parseTraceParent,
  sampledByRatio,
  validTraceState,
} from '../../src/telemetry/traceContext.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('parseTraceParent', () => {
  it('reads version 00 with the sampled flag, and without it', () => {
    expect(parseTraceParent(`00-${TRACE_ID}-${SPAN_ID}-01`, undefined)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      sampled: true,
      traceState: undefined,
    });
    expect(parseTraceParent(`00-${TRACE_ID}-${SPAN_ID}-00`, undefined)?.sampled).toBe(false);
    // Only bit 0 is the sampled flag; other bits are for future use.
    expect(parseTraceParent(`00-${TRACE_ID}-${SPAN_ID}-03`, undefined)?.sampled).toBe(true);
    expect(parseTraceParent(`00-${TRACE_ID}-${SPAN_ID}-02`, undefined)?.sampled).toBe(false);
  });

  it('accepts a later version with more fields, but not version 00 with more fields', () => {
    expect(parseTraceParent(`01-${TRACE_ID}-${SPAN_ID}-01-what-the-future-holds`, undefined)?.traceId).toBe(TRACE_ID);
    expect(parseTraceParent(`00-${TRACE_ID}-${SPAN_ID}-01-extra`, undefined)).toBeNull();
    expect(parseTraceParent(`01-${TRACE_ID}-${SPAN_ID}-01extra`, undefined)).toBeNull();
  });

  it.each([
    ['absent', undefined],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['garbage', 'not a traceparent'],
  ])('ignores a traceparent that is %s', (_name, header) => {
    expect(parseTraceParent(header, 'vendor=value')).toBeNull();
  });

  it('carries a well-formed tracestate and drops a malformed one', () => {
    const parent = `00-${TRACE_ID}-${SPAN_ID}-01`;
    expect(parseTraceParent(parent, 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')?.traceState).toBe(
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    );
    expect(parseTraceParent(parent, 'tenant@system=v')?.traceState).toBe('tenant@system=v');
    expect(parseTraceParent(parent, 'Upper=1')?.traceState).toBeUndefined();
    expect(parseTraceParent(parent, 'novalue')?.traceState).toBeUndefined();
  });
});

describe('validTraceState', () => {
  it('drops empty members and refuses more than 32', () => {
    expect(validTraceState('a=1,,b=2, ')).toBe('a=1,b=2');
    expect(validTraceState('')).toBeUndefined();
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`);
    expect(validTraceState(members.slice(0, 32).join(','))).toBeDefined();
    expect(validTraceState(members.join(','))).toBeUndefined();
  });
});

describe('sampledByRatio', () => {
  it('keeps everything at 1 and nothing at 0', () => {
    expect(sampledByRatio('f'.repeat(32), 1)).toBe(true);
    expect(sampledByRatio('0'.repeat(31) + '1', 0)).toBe(false);
  });

  it("decides on the trace id's 56 rightmost bits, so every process decides alike", () => {
    // 0x80000000000000 / 2^56 = 0.5: kept below one half, dropped at or above it.
    expect(sampledByRatio('ffffffffffffffffff7fffffffffffff', 0.5)).toBe(true);
    expect(sampledByRatio('00000000000000000080000000000000', 0.5)).toBe(false);
  });

  it('keeps about the ratio of random trace ids', () => {
    const ids = Array.from({ length: 20_000 }, () => newTraceId());
    const kept = ids.filter((id) => sampledByRatio(id, 0.25)).length / ids.length;
    expect(kept).toBeGreaterThan(0.22);
    expect(kept).toBeLessThan(0.28);
  });
});

describe('ids', () => {
  it('are lower-case hex of the right length and differ', () => {
    const traces = new Set(Array.from({ length: 1000 }, () => newTraceId()));
    const spans = new Set(Array.from({ length: 1000 }, () => newSpanId()));
    expect(traces.size).toBe(1000);
    expect(spans.size).toBe(1000);
    expect([...traces].every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect([...spans].every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
  });
});
