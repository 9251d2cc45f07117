// The `portcullis` command line. Every path returns an exit code (0 ok, 1 runtime failure, 2 bad usage or
// invalid config/policy) instead of calling process.exit, so tests can drive it in-process.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** The package's version: src/cli and dist/cli both sit two levels below package.json. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

type ServeCommand = (options: { config?: string | undefined }) => Promise<number>;

// Loaded on demand: the server's modules take seconds to load and `--help` or a usage error should not wait.
const serveCommand: ServeCommand = async (options) => (await import('./serve.js')).serve(options);

/** The command line as commander parses it; `serve` is what the `serve` command runs (tests pass their own). */
export function buildProgram(
  { Command }: typeof import('commander'),
  run: (work: Promise<number>) => void,
  serve: ServeCommand = serveCommand,
): Command {
  const program = new Command('portcullis')
    .description('Envoy ext_authz sidecar: JWT, rate limits and denylist, Rego policies compiled to WebAssembly')
    .exitOverride()
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description('run the sidecar (gRPC ext_authz + admin HTTP); without a config file, the embedded defaults')
    .option('-c, --config <FILE>', 'YAML config file (default: $PORTCULLIS_CONFIG, else embedded defaults)')
    .action((opts: { config?: string }) => run(serve({ config: opts.config })));

  program
    .command('revoke')
    .description(
      'put a token (--jti with --exp) or a subject (--sub, optionally --before) on the denylist; --list it; --undo an entry',
    )
    .option('--jti <ID>', 'token id to revoke')
    .option('--exp <UNIX>', "the token's expiry in unix seconds (the entry lives until then)")
    .option('--sub <SUBJECT>', 'subject whose tokens to revoke')
    .option('--before <UNIX>', 'revoke tokens of --sub issued at or before this time (default: now)')
    .option('--list', 'print the denylist as JSON ({"jti": [...], "sub": [...]})')
    .option('--undo', 'remove the entry of --jti or --sub from the denylist')
    .option('--admin <URL>', 'admin API base URL (default: $PORTCULLIS_ADMIN_URL or http://127.0.0.1:9192)')
    .option('--token <T>', 'admin token (default: $PORTCULLIS_ADMIN_TOKEN)')
    .action((opts: import('./revoke.js').RevokeOptions) => run(import('./revoke.js').then((m) => m.revoke(opts))));

  program
    .command('override')
    .description('set, list or delete a per-key rate-limit override (GET/POST/DELETE /v1/overrides)')
    .option('--rule <NAME>', 'the rateLimits rule to override')
    .option(
      '--key <VALUE>',
      "a value of the rule's key (repeat for each part, in order)",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--limit <N>', 'the limit for that key (0 refuses every request)')
    .option('--until <UNIX>', 'when the override lapses (default: until deleted)')
    .option('--list', 'list the overrides in force')
    .option('--delete', 'remove the override of --rule and --key')
    .option('--admin <URL>', 'admin API base URL (default: $PORTCULLIS_ADMIN_URL or http://127.0.0.1:9192)')
    .option('--token <T>', 'admin token (default: $PORTCULLIS_ADMIN_TOKEN)')
    .action((opts: import('./override.js').OverrideOptions) =>
      run(import('./override.js').then((m) => m.override(opts))),
    );

  const policy = program.command('policy').description('build or evaluate policies');
  policy
    .command('build')
    .description('compile a directory of Rego to a .wasm module or an OPA bundle .tar.gz')
    .usage('DIR -o OUT [-e ENTRYPOINT]...');
  policy
    .command('eval')
    .description('evaluate a policy (dir, bundle or .wasm) once and print the result set as JSON')
    .usage('PATH --input FILE [--data FILE] [-e ENTRYPOINT]');
  policy
    .command('check')
    .description('report every error in .rego files as file:line:col (--strict for OPA strict mode)')
    .usage('[PATH...] [--strict]');
  policy
    .command('fmt')
    .description('format .rego files canonically (--diff, --check, --write)')
    .usage('[PATH...] [--diff|--check|--write]');
  policy
    .command('test')
    .description('run the test_ rules of .rego files on the compiled Wasm, as opa test does')
    .usage('[PATH...] [-v] [--run REGEX] [--format json] [--coverage] [--bench]');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  // `policy build|eval` parse their own arguments (src/cli/policy.ts); only `policy --help` is ours.
  if (first === 'policy' && (second === 'build' || second === 'eval')) {
    const policyCli = await import('./policy.js');
    return second === 'build' ? policyCli.policyBuild(rest) : policyCli.policyEval(rest);
  }
  if (first === 'policy' && second === 'check') return (await import('./policyCheck.js')).policyCheck(rest);
  if (first === 'policy' && second === 'test') return (await import('./policyTest.js')).policyTest(rest);
  if (first === 'policy' && second === 'fmt') return (await import('./policyFmt.js')).policyFmt(rest);
  const plainServe = plainServeOptions(argv);
  if (plainServe !== null) return serveCommand(plainServe);
  const commander = await import('commander');
  let work: Promise<number> | undefined;
  const program = buildProgram(commander, (w) => {
    work = w;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof commander.CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  if (work === undefined) {
    program.outputHelp();
    return first === undefined ? 2 : 0;
  }
  return work;
}

/**
 * `serve`, `serve --config FILE`, `serve -c FILE` and `serve --config=FILE`: what commander would make of them,
 * without loading it. The serving process then never carries commander and the other commands' definitions
 * for its whole life (~1 MB of its idle memory, bench:footprint). Any other form (help, a typo, more options)
 * returns null and goes through commander as before.
 */
export function plainServeOptions(argv: readonly string[]): { config?: string } | null {
  const [command, option, value, ...extra] = argv;
  if (command !== 'serve' || extra.length > 0) return null;
  if (option === undefined) return {};
  const inline = option.startsWith('--config=') ? option.slice('--config='.length) : undefined;
  const config = inline ?? ((option === '--config' || option === '-c') && value !== undefined ? value : undefined);
  if (config === undefined || (inline !== undefined && value !== undefined)) return null;
  return config === '' || config.startsWith('-') ? null : { config };
}
