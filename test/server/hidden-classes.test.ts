// A check makes no hidden class. V8 allocates hidden classes (Maps, with their descriptors) in the old
// generation, so code that makes one per check grows the old generation with every check and brings the next
// full collection closer: an object spread's copy with a property added afterwards did (`{ ...a, b }` with a
// non-empty `a`, or node:http2's respond() copying options without `endStream`; README, "Garbage collection
// under load"). The sidecar runs in its own process under V8's --log-maps, which logs every hidden class V8
// creates; what the log holds between two marks is what the checks in between made.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, createTestClient, type TestClient } from '../helpers/checkClient.js';
import { makeTempDir } from '../helpers/sidecar.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = fileURLToPath(new URL('../helpers/mapLoggedServer.ts', import.meta.url));
/** checks of each kind (allowed, denied) between the marks */
const CHECKS = 200;

/** The log's hidden classes between `portcullis_mark_<from>` and `portcullis_mark_<to>`, by site and name. */
function mapsBetween(log: string, from: string, to: string): Map<string, number> {
  const lines = log.split('\n');
  const start = lines.findIndex((line) => line.startsWith('map,') && line.endsWith(`,portcullis_mark_${from}`));
  const end = lines.findIndex((line) => line.startsWith('map,') && line.endsWith(`,portcullis_mark_${to}`));
  if (start < 0 || end < start) throw new Error(`marks ${from} and ${to} not found in order in the V8 log`);
  const sites = new Map<string, number>();
  for (const line of lines.slice(start + 1, end)) {
    if (!line.startsWith('map,')) continue;
    // map,<event>,<time>,<from>,<to>,<pc>,<line>,<column>,<reason>,<name>
    const [, event, , , , , row, column, reason, name] = line.split(',');
    const site = `${event} ${name ?? ''} (${reason ?? ''}) at ${row}:${column}`;
    sites.set(site, (sites.get(site) ?? 0) + 1);
  }
  return sites;
}

describe('hidden classes per check', () => {
  let dir: string;
  let child: ChildProcess;
  let client: TestClient;
  let ask: (line: string, answer: string) => Promise<void>;
  const logFile = (): string => join(dir, 'v8.log');

  beforeAll(async () => {
    dir = makeTempDir();
    child = spawn(
      process.execPath,
      ['--log-maps', `--logfile=${logFile()}`, '--no-logfile-per-isolate', '--import', 'tsx', SERVER],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const waiting: Array<{ answer: string; resolve: () => void }> = [];
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const served = /^PORT (\d+)$/.exec(line);
        if (served !== null) resolve(Number(served[1]));
        const index = waiting.findIndex((w) => w.answer === line);
        if (index >= 0) waiting.splice(index, 1)[0]!.resolve();
      });
    });
    ask = (line, answer) =>
      new Promise((resolve) => {
        waiting.push({ answer, resolve });
        child.stdin!.write(`${line}\n`);
      });
    client = createTestClient(port);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    if (child?.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function checks(path: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await client.check(checkRequest({ path, method: 'POST' }));
  }

  it('allowed and denied checks with dynamic metadata make none', async () => {
    // warm-up: the first checks make the hidden classes every later check shares
    await checks('/allow', 50);
    await checks('/deny', 50);
    await ask('mark start', 'MARKED start');
    await checks('/allow', CHECKS);
    await checks('/deny', CHECKS);
    await ask('mark end', 'MARKED end');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM'); // the log is complete once the process has exited
    await exited;

    const sites = mapsBetween(readFileSync(logFile(), 'utf8'), 'start', 'end');
    // A site that makes one per check shows up CHECKS times or more; a few one-off classes (a timer's, a
    // connection's) are not what this is about.
    const perCheck = [...sites].filter(([, count]) => count >= CHECKS / 2);
    expect(perCheck).toEqual([]);
    const total = [...sites.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBeLessThan(CHECKS / 4);
  }, 60_000);
});
