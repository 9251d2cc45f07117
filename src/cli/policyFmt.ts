// `portcullis policy fmt [PATH...]`: canonical Rego formatting, as `opa fmt`. Without a flag the formatted
// text is printed; --write rewrites the files, --diff prints what would change, --check lists the files
// that are not formatted. Exit 0, or 1 with --check/--diff when a file is not formatted, 2 when a file
// does not parse.
import { writeFile } from 'node:fs/promises';
import { createTwoFilesPatch } from 'diff';
import type { CliOutput } from './policy.js';
import { command, parseArgs, processOutput, run, UsageError } from './policy.js';
import { readRegoFiles } from './regoFiles.js';

interface FmtFlags {
  write?: boolean;
  diff?: boolean;
  check?: boolean;
}

export async function policyFmt(argv: string[], out: CliOutput = processOutput): Promise<number> {
  const program = command('fmt', out)
    .description('format .rego files canonically (Rego v1 layout as opa fmt), keeping comments')
    .argument('[PATH...]', '.rego files or directories searched recursively (default: .)')
    .option('-w, --write', 'rewrite the files that are not formatted')
    .option('-d, --diff', 'print a unified diff of the changes; exit 1 when there is one')
    .option('--check', 'list the files that are not formatted; exit 1 when there is one (for CI)');
  const parsed = parseArgs(program, argv);
  if (typeof parsed === 'number') return parsed;

  return run(out, async () => {
    const [paths] = program.processedArgs as [string[]];
    const flags = program.opts<FmtFlags>();
    if ([flags.write, flags.diff, flags.check].filter(Boolean).length > 1)
      throw new UsageError('choose one of --write, --diff and --check');
    const files = await readRegoFiles(paths);
    const { formatModule, RegoCompileError } = await import('@portcullis/rego-wasm');
    let unformatted = 0;
    let failed = 0;
    for (const file of files.rego) {
      let formatted: string;
      try {
        formatted = formatModule(file.path, file.source);
      } catch (error) {
        if (!(error instanceof RegoCompileError)) throw error;
        out.stderr(`${error.message}\n`);
        failed++;
        continue;
      }
      const changed = formatted !== file.source;
      if (changed) unformatted++;
      if (flags.write === true) {
        if (changed) {
          await writeFile(file.path, formatted);
          out.stdout(`${file.path}\n`);
        }
      } else if (flags.check === true) {
        if (changed) out.stdout(`${file.path}\n`);
      } else if (flags.diff === true) {
        if (changed)
          out.stdout(createTwoFilesPatch(file.path, file.path, file.source, formatted, 'original', 'formatted'));
      } else {
        out.stdout(formatted);
      }
    }
    if (failed > 0) return 2;
    return (flags.check === true || flags.diff === true) && unformatted > 0 ? 1 : 0;
  });
}
