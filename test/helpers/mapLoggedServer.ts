// A sidecar in a process of its own, run by test/server/hidden-classes.test.ts under V8's --log-maps (every
// hidden class V8 creates is a line of the log). The policy allows /allow and denies everything else, both with
// dynamic metadata, so checks go through the allow and the deny answers. Prints `PORT <n>` once it serves;
// on stdin, `mark NAME` adds a property named `portcullis_mark_NAME` to a fresh object, a transition the log
// names, and answers `MARKED NAME`: what the log holds between two marks is what the checks in between made.
import { createInterface } from 'node:readline';
import { functionPolicy } from './fakePolicy.js';
import { startTestSidecar } from './sidecar.js';

const metadata = { team: 'payments', tier: 'gold' };
const test = await startTestSidecar({
  config: { logLevel: 'silent', decisionLog: { enabled: false } },
  options: {
    loadPolicy: functionPolicy((input) =>
      input.parsed_path[0] === 'allow'
        ? { allowed: true, dynamic_metadata: metadata }
        : { allowed: false, http_status: 403, dynamic_metadata: metadata },
    ),
  },
});
process.stdout.write(`PORT ${test.sidecar.grpcPort}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, name] = line.trim().split(' ');
  if (command !== 'mark' || name === undefined) return;
  const marked: Record<string, number> = {};
  marked[`portcullis_mark_${name}`] = 1;
  process.stdout.write(`MARKED ${name}\n`);
});
process.once('SIGTERM', () => void test.close().finally(() => process.exit(0)));
