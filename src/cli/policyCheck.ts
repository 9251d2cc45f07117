// `portcullis policy check [PATH...]`: every error in every .rego file (test files included), each as
// file:line:col, like `opa check`. Exit 0 when there is none, 2 when there is one.
import type { CliOutput } from './policy.js';
import { command, parseArgs, processOutput, run } from './policy.js';
import { readRegoFiles } from './regoFiles.js';

export async function policyCheck(argv: string[], out: CliOutput = processOutput): Promise<number> {
  const program = command('check', out)
    .description(
      'report every error in the policy: syntax, unsafe variables, refused builtins (even in rules no entrypoint reaches), conflicts',
    )
    .argument('[PATH...]', '.rego files or directories searched recursively (default: .)')
    .option(
      '--strict',
      "also OPA's strict-mode checks: unused variables and imports, deprecated builtins, shadowed names",
    );
  const parsed = parseArgs(program, argv);
  if (typeof parsed === 'number') return parsed;

  return run(out, async () => {
    const [paths] = program.processedArgs as [string[]];
    const { strict } = program.opts<{ strict?: boolean }>();
    const files = await readRegoFiles(paths);
    const { checkRego } = await import('@portcullis/rego-wasm');
    const errors = checkRego(files.rego, { strict: strict === true });
    for (const error of errors) out.stderr(`${error.message}\n`);
    if (errors.length > 0) {
      out.stderr(
        `${errors.length} error${errors.length === 1 ? '' : 's'} in ${new Set(errors.map((e) => e.loc.file)).size} of ${files.rego.length} file(s)\n`,
      );
      return 2;
    }
    out.stdout(`ok: ${files.rego.length} file(s) checked${strict === true ? ' (strict)' : ''}\n`);
    return 0;
  });
}
