// `portcullis serve` with at most its config option skips commander (src/cli/main.ts, plainServeOptions), so
// the serving process never loads it. For every command line below, the shortcut either declines (commander
// parses it, as before) or gives the options commander gives.
import * as commander from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, plainServeOptions } from '../../src/cli/main.js';

/** The options commander hands the serve command for `argv`, or null when it refuses the line or runs none. */
async function commanderServeOptions(argv: string[]): Promise<{ config?: string | undefined } | null> {
  let served: { config?: string | undefined } | null = null;
  const program = buildProgram(
    commander,
    () => undefined,
    (options) => {
      served = options;
      return Promise.resolve(0);
    },
  );
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof commander.CommanderError) return null;
    throw error;
  }
  return served;
}

const LINES = [
  ['serve'],
  ['serve', '--config', 'portcullis.yaml'],
  ['serve', '-c', '/etc/portcullis/config.yaml'],
  ['serve', '--config=portcullis.yaml'],
  ['serve', '--config', 'with space.yaml'],
  ['serve', '--config'],
  ['serve', '-c'],
  ['serve', '--config='],
  ['serve', '--config', '--help'],
  ['serve', '-c', '-x'],
  ['serve', '--help'],
  ['serve', '-h'],
  ['serve', 'extra'],
  ['serve', '--config', 'a.yaml', 'extra'],
  ['serve', '--config', 'a.yaml', '--config', 'b.yaml'],
  ['serve', '--confi', 'a.yaml'],
  ['serve', '-cportcullis.yaml'],
  ['serve', '--unknown'],
  ['serve', '--', '--config', 'a.yaml'],
  ['serv'],
  ['--version'],
];

describe('the serve shortcut', () => {
  it.each(LINES)('%s: declines, or agrees with commander', async (...argv: string[]) => {
    const shortcut = plainServeOptions(argv);
    if (shortcut !== null) expect(await commanderServeOptions(argv)).toEqual(shortcut);
  });

  it('takes the plain forms', () => {
    expect(plainServeOptions(['serve'])).toEqual({});
    expect(plainServeOptions(['serve', '--config', 'a.yaml'])).toEqual({ config: 'a.yaml' });
    expect(plainServeOptions(['serve', '-c', 'a.yaml'])).toEqual({ config: 'a.yaml' });
    expect(plainServeOptions(['serve', '--config=a.yaml'])).toEqual({ config: 'a.yaml' });
  });
});
