// V8 flags for a process that serves checks, set by the process itself at start-up, so that `portcullis serve`
// runs with them however it is started (the image, `node bin/portcullis.js`, a worker of the pool).
//
// --no-allocation-site-pretenuring: V8 watches which allocation sites' objects outlive young-generation
// collections and, past a threshold, allocates that site's objects straight in the old generation. Under load a
// check's objects that wait for Redis outlive collections often enough for their sites to be picked; from then
// on each check puts objects in the old generation that die there a few milliseconds later, and what they point
// to (the decoded request, its 2 KB token, the promises and closures of the check) is kept through every young
// collection until the next full one, then promoted in turn. Whether a process tips into that state depends on
// its history, so the same server promoted ~1 KB per check in one run and ~5 KB in the next: at 2,000 checks/s
// a full collection every 2-5 s of 8-18 ms, at times one of 40-50 ms (the p99 stalls of bench:check), and
// 10-30% more CPU per check. Without pretenuring a check's garbage dies young, as the no-op server's does.
import { setFlagsFromString } from 'node:v8';

export const SERVER_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** `--no-allocation_site-pretenuring=x` -> `allocation-site-pretenuring` (V8 takes `_` and `-` alike). */
function flagName(option: string): string {
  return option
    .replace(/^--(no-?)?/, '')
    .split('=')[0]!
    .replace(/_/g, '-');
}

/**
 * Sets each of SERVER_V8_FLAGS that the process's own options (node's command line, NODE_OPTIONS) do not
 * already set one way or the other, so `node --allocation-site-pretenuring` still turns it back on. Returns
 * the flags it set.
 */
export function applyServerV8Flags(
  nodeOptions: readonly string[] = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)],
): string[] {
  const given = new Set(nodeOptions.filter((option) => option.startsWith('--')).map(flagName));
  const applied = SERVER_V8_FLAGS.filter((flag) => !given.has(flagName(flag)));
  for (const flag of applied) setFlagsFromString(flag);
  return applied;
}
