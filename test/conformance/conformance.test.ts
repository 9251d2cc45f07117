// The Rego conformance suites in npm test: every case passing.txt lists (the cases that passed when it was
// recorded) must still pass. The suites are data outside the repository (see run.ts for where they are
// looked for); without them this suite is skipped, and its name says so.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUITE_DIR, readPassingList, runConformance } from './run.js';

const present = existsSync(SUITE_DIR);
const name = present
  ? 'Rego conformance: the recorded passing cases still pass'
  : `Rego conformance — SKIPPED: no suites at ${SUITE_DIR} (set REGO_CONFORMANCE_DIR)`;

describe.skipIf(!present)(name, () => {
  it('fails no case of passing.txt, and finds each of them in the suites', async () => {
    const recorded = readPassingList();
    expect(recorded.length).toBeGreaterThan(0);
    const { results } = await runConformance();
    const byLabel = new Map(results.map((result) => [result.label, result.outcome]));
    const regressed = recorded
      .filter((label) => byLabel.get(label)?.kind !== 'passed')
      .map((label) => {
        const outcome = byLabel.get(label);
        if (outcome === undefined) return `${label}: not found in the suites`;
        return outcome.kind === 'failed'
          ? `${label}: want ${outcome.want}, got ${outcome.got}`
          : `${label}: skipped (${outcome.reason})`;
      });
    expect(regressed).toEqual([]);
  }, 600_000);
});
