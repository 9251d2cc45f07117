// Decision ids: random version-4 UUIDs in crypto.randomUUID's text form, one flat string each.
import { describe, expect, it } from 'vitest';
import { newDecisionId } from '../../src/server/decisionId.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newDecisionId', () => {
  it('makes distinct version-4 UUIDs across refills of its random pool', () => {
    const ids = Array.from({ length: 1000 }, () => newDecisionId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses every hex digit in every free position (the bytes are random, not a counter)', () => {
    const ids = Array.from({ length: 2000 }, () => newDecisionId());
    for (const position of [0, 7, 9, 12, 15, 17, 20, 24, 35]) {
      expect(new Set(ids.map((id) => id[position])).size).toBe(16);
    }
    // the variant nibble takes its four values
    expect(new Set(ids.map((id) => id[19])).size).toBe(4);
  });
});
