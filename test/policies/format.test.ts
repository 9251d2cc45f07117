// CI's format check: every shipped policy (and its tests) is as `portcullis policy fmt` prints it.
import { describe, expect, it } from 'vitest';
import { policyFmt } from '../../src/cli/policyFmt.js';
import { capture } from '../cli/capture.js';
import { policiesDir } from './harness.js';

describe('policies/ formatting', () => {
  it('policy fmt --check policies/ finds nothing to change', async () => {
    const io = capture();
    const code = await policyFmt(['--check', policiesDir], io);
    expect(io.out, 'run `portcullis policy fmt --write policies/`').toBe('');
    expect(code).toBe(0);
  });
});
