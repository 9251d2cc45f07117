// Runs the CLI from source in a child process (node --import tsx test/helpers/runCli.ts ...), so process
// tests (signals, exit codes) do not depend on a prior `npm run build`.
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
