import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SERVER_V8_FLAGS, applyServerV8Flags } from '../../src/server/v8Flags.js';

describe('applyServerV8Flags', () => {
  it('sets the server flags the process was not started with', () => {
    expect(SERVER_V8_FLAGS).toContain('--no-allocation-site-pretenuring');
    expect(applyServerV8Flags(['--max-semi-space-size=8', '--import', 'tsx'])).toEqual([...SERVER_V8_FLAGS]);
  });

  it('leaves a flag that node was given either way, in either spelling', () => {
    for (const given of [
      '--allocation-site-pretenuring',
      '--no-allocation-site-pretenuring',
      '--allocation_site_pretenuring',
      '--noallocation-site-pretenuring',
    ])
      expect(applyServerV8Flags([given]), given).not.toContain('--no-allocation-site-pretenuring');
  });

  it('is a flag this node accepts (an unknown one would print a warning and change nothing)', () => {
    const script = `require('node:v8').setFlagsFromString(${JSON.stringify(SERVER_V8_FLAGS.join(' '))});`;
    const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: 'pipe' });
    expect(output).toBe('');
    const help = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    for (const flag of SERVER_V8_FLAGS) expect(help).toContain(`--${flag.replace(/^--no-/, '')} `);
  });
});
