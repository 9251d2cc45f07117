// A reload of the shipped policies/ (compiled in a child process) while checks keep arriving: every check
// is answered, with the same decision before, during and after each reload. How long checks take meanwhile
// is measured by `npm run bench:footprint`, not asserted here.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../helpers/checkClient.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const POLICIES = path.resolve(import.meta.dirname, '../../policies');
const CONCURRENCY = 8;
const RELOADS = 3;

function policyFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of fs.readdirSync(POLICIES, { recursive: true, encoding: 'utf8' })) {
    if (name.endsWith('.rego') || name.endsWith('data.json'))
      files[path.join('policies', name)] = fs.readFileSync(path.join(POLICIES, name), 'utf8');
  }
  return files;
}

// Each reload may take a while on a loaded machine (the compiler child runs at the lowest CPU priority), so the
// test's own timeout covers every reload's deadline: the deadline, not the runner, ends a reload that never comes.
const RELOAD_DEADLINE_MS = 30_000;

describe('checks during a reload of policies/', () => {
  let t: TestSidecar;
  // Read by the checkers' loops; afterAll clears it too, so that a test ended by the runner (a timeout leaves its
  // finally unrun) cannot leave checkers spinning on a closed sidecar.
  let running = false;
  const revision = async (): Promise<string> =>
    ((await (await fetch(`${t.adminUrl}/v1/policy`)).json()) as { revision: string }).revision;

  beforeAll(async () => {
    t = await startTestSidecar({
      files: policyFiles(),
      config: { jwt: { required: false, providers: [] }, policy: { watch: true } },
    });
  });
  afterAll(async () => {
    running = false;
    await t?.close();
  });

  it('are all answered, with an unchanged decision', { timeout: RELOADS * RELOAD_DEADLINE_MS + 10_000 }, async () => {
    const request = checkRequest({ path: '/api/items' });
    const decision = async (): Promise<string> => {
      const response = await t.client.check(request);
      return `${response.status?.code ?? 0}/${response.deniedResponse?.status?.code ?? 200}`;
    };
    const expected = await decision();
    const outcomes: string[] = [];
    running = true;
    const worker = async (): Promise<void> => {
      while (running) outcomes.push(await decision().catch((error: unknown) => `error: ${(error as Error).message}`));
    };
    const workers = Array.from({ length: CONCURRENCY }, worker);

    const authz = fs.readFileSync(path.join(POLICIES, 'authz.rego'), 'utf8');
    let answeredDuringReloads = 0;
    try {
      for (let reload = 1; reload <= RELOADS; reload++) {
        const before = await revision();
        const answeredBefore = outcomes.length;
        t.write('policies/authz.rego', `${authz}\n# reload ${reload}\n`);
        const deadline = Date.now() + RELOAD_DEADLINE_MS;
        while ((await revision()) === before) {
          if (Date.now() > deadline) throw new Error(`reload ${reload} did not happen`);
          await new Promise((r) => setTimeout(r, 20));
        }
        answeredDuringReloads += outcomes.length - answeredBefore;
      }
    } finally {
      // Stop the checkers even when a reload fails: once the sidecar is closed their checks reject at once, and
      // a loop of those would starve the event loop (and the test runner) for good.
      running = false;
      await Promise.all(workers);
    }

    expect(answeredDuringReloads).toBeGreaterThan(0);
    const unexpected = outcomes.filter((outcome) => outcome !== expected);
    expect(unexpected.slice(0, 5)).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(RELOADS * CONCURRENCY);
  });
});
