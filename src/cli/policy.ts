// `portcullis policy build` and `portcullis policy eval`. Exit codes: 0 ok, 1 runtime failure (I/O, a policy
// that fails while evaluating), 2 bad usage or an invalid policy (the message names file:line:col).
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { RegoCompileError } from '@portcullis/rego-wasm/isolated';
import { PolicyLoadError } from '../policy/errors.js';
import { EntrypointFormatError, normalizeEntrypoint } from '../policy/entrypoint.js';
import { isRecord, mergeOver } from '../json/records.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/bundle-schema.js';
import type { KeyObject } from 'node:crypto';

// The policy loader and the Wasm SDK are loaded only once the arguments are valid, so `--help` and usage
// errors answer at once; the compiler itself runs in a child process (policy/source.ts).
const loadCompiler = async () => ({
  ...(await import('../policy/source.js')),
  ...(await import('@portcullis/rego-wasm/bundle')),
});
const loadSdk = async () => ({
  ...(await import('@open-policy-agent/opa-wasm')),
  ...(await import('@portcullis/rego-wasm/builtins')),
  hostBuiltins: (await import('@portcullis/rego-wasm')).hostBuiltins,
});

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: CliOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

const DEFAULT_ENTRYPOINT = 'envoy/authz/allow';

/** Bad usage or an invalid policy or input: exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** -e in any of OPA-Envoy's forms (/envoy/authz/allow, envoy.authz.allow, data.envoy.authz.allow). */
function entrypointsOf(given: string[] | undefined): string[] {
  try {
    return [...new Set((given ?? [DEFAULT_ENTRYPOINT]).map(normalizeEntrypoint))];
  } catch (error) {
    if (error instanceof EntrypointFormatError) throw new UsageError(`-e: ${error.message}`);
    throw error;
  }
}

export function command(name: string, out: CliOutput): Command {
  return new Command(`portcullis policy ${name}`)
    .exitOverride()
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr })
    .showHelpAfterError('(run with --help for usage)');
}

export async function policyBuild(argv: string[], out: CliOutput = processOutput): Promise<number> {
  const program = command('build', out)
    .description(
      'compile a directory of Rego into an OPA bundle (OUT ending .tar.gz) or a bare Wasm module (OUT ending .wasm)',
    )
    .argument('<DIR>', 'directory of .rego files (searched recursively; data.json files are base data at their path)')
    .requiredOption('-o, --output <OUT>', 'output file: bundle .tar.gz or module .wasm')
    .option(
      '-e, --entrypoint <ENTRYPOINT>',
      `rule to export, as package/path/rule (repeatable; default ${DEFAULT_ENTRYPOINT})`,
      collect,
    )
    .option('--revision <REV>', 'bundle revision for the manifest (default: sha256 of the sources)')
    .option(
      '--signing-key <KEY>',
      'sign the bundle (.signatures.json, as opa build --signing-key): a PEM private key file, or the HMAC secret (or a file holding it) for HS*',
    )
    .option('--signing-alg <ALG>', `signature algorithm (${SIGNING_ALGORITHMS.join(', ')})`, 'RS256')
    .option('--signing-key-id <ID>', 'key id written in the signature (kid), naming the verification key')
    .option('--scope <SCOPE>', 'scope claim written in the signature');
  const parsed = parseArgs(program, argv);
  if (typeof parsed === 'number') return parsed;

  return run(out, async () => {
    const [dir] = program.processedArgs as [string];
    const options = program.opts<{
      output: string;
      entrypoint?: string[];
      revision?: string;
      signingKey?: string;
      signingAlg: string;
      signingKeyId?: string;
      scope?: string;
    }>();
    const isBundle = /\.(tar\.gz|tgz)$/.test(options.output);
    if (!isBundle && !options.output.endsWith('.wasm')) {
      throw new UsageError(`-o ${options.output}: the output must end with .tar.gz (bundle) or .wasm (bare module)`);
    }
    const algorithm = SIGNING_ALGORITHMS.find((alg) => alg === options.signingAlg);
    if (algorithm === undefined)
      throw new UsageError(`--signing-alg ${options.signingAlg}: expected one of ${SIGNING_ALGORITHMS.join(', ')}`);
    if (options.signingKey === undefined && (options.signingKeyId !== undefined || options.scope !== undefined))
      throw new UsageError('--signing-key-id and --scope need --signing-key');
    if (options.signingKey !== undefined && !isBundle)
      throw new UsageError('--signing-key signs bundles: the output must end with .tar.gz');
    const signing =
      options.signingKey === undefined
        ? undefined
        : {
            key: await loadSigningKeyOrUsage(options.signingKey, algorithm),
            algorithm,
            keyId: options.signingKeyId,
            scope: options.scope,
          };
    if (!(await isDirectory(dir)))
      throw new UsageError(`${dir}: not a directory; policy build compiles a directory of .rego files`);
    const entrypoints = entrypointsOf(options.entrypoint);

    const { loadPolicySource, bundleFiles, packBundleFiles } = await loadCompiler();
    const source = await loadPolicySource(dir, entrypoints);
    const revision = options.revision ?? source.revision;
    let bytes = source.wasm;
    if (isBundle) {
      const files = bundleFiles({ wasm: source.wasm, data: source.data, revision, entrypoints: source.entrypoints });
      if (signing !== undefined) {
        const { signBundleFiles } = await import('../bundle/sign.js');
        files.push(['/.signatures.json', await signBundleFiles(files, signing)]);
      }
      bytes = await packBundleFiles(files);
    }
    await writeFile(options.output, bytes);
    if (!isBundle && source.data !== undefined) {
      out.stderr(
        `note: ${options.output} holds no data; pass the data.json files with --data, or build a .tar.gz bundle\n`,
      );
    }
    out.stdout(
      `built ${options.output} (${bytes.length} bytes, revision ${revision}, entrypoints ${source.entrypoints.join(', ')})\n`,
    );
    return 0;
  });
}

async function loadSigningKeyOrUsage(value: string, algorithm: SigningAlgorithm): Promise<KeyObject | Uint8Array> {
  const { loadSigningKey, BundleKeyError } = await import('../bundle/keys.js');
  try {
    return await loadSigningKey(value, algorithm);
  } catch (error) {
    if (error instanceof BundleKeyError) throw new UsageError(error.message);
    throw error;
  }
}

/** `policy eval|test --strict-builtin-errors`, OPA's flag of the same name. */
export const STRICT_BUILTIN_ERRORS_HELP =
  "a builtin's error (format_int with base 3, a date that does not parse) stops the evaluation with that error, as " +
  "OPA's --strict-builtin-errors does; without it the expression is undefined, as in the sidecar";

export async function policyEval(argv: string[], out: CliOutput = processOutput): Promise<number> {
  const program = command('eval', out)
    .description(
      'evaluate a policy once and print the result set as JSON ([] when undefined); with several -e, ' +
        'an object of entrypoint -> result set',
    )
    .argument('<PATH>', 'directory of .rego files, bundle .tar.gz, or .wasm module')
    .requiredOption('-i, --input <FILE>', 'JSON input document (- for stdin)')
    .option('-d, --data <FILE>', "JSON data merged over the policy's own data")
    .option(
      '-e, --entrypoint <ENTRYPOINT>',
      `rule to evaluate, as package/path/rule (repeatable; default ${DEFAULT_ENTRYPOINT})`,
      collect,
    )
    .option('-f, --format <FORMAT>', "json (the result set) or pretty (each entrypoint's value, or undefined)", 'json')
    .option('--strict-builtin-errors', STRICT_BUILTIN_ERRORS_HELP);
  const parsed = parseArgs(program, argv);
  if (typeof parsed === 'number') return parsed;

  return run(out, async () => {
    const [path] = program.processedArgs as [string];
    const options = program.opts<{
      input: string;
      data?: string;
      entrypoint?: string[];
      format: string;
      strictBuiltinErrors?: boolean;
    }>();
    if (options.format !== 'json' && options.format !== 'pretty')
      throw new UsageError(`--format ${options.format}: expected json or pretty`);
    const entrypoints = entrypointsOf(options.entrypoint);
    const input = await readJson(options.input, '--input');
    const extraData = options.data === undefined ? undefined : await readJson(options.data, '--data');

    const { loadPolicySource } = await loadCompiler();
    const { loadPolicy, customBuiltins, strictCustomBuiltins, BuiltinEvalError, hostBuiltins } = await loadSdk();
    const builtins = options.strictBuiltinErrors === true ? strictCustomBuiltins() : customBuiltins;
    const source = await loadPolicySource(path, entrypoints, { print: true });
    // print() output goes to stderr, so stdout stays the result alone.
    const host = hostBuiltins({ print: (line) => out.stderr(`${line}\n`) });
    let policy;
    try {
      policy = await loadPolicy(source.wasm, undefined, { ...builtins, ...host });
    } catch (error) {
      throw new PolicyLoadError(path, `is not a loadable OPA Wasm module: ${errorText(error)}`, { cause: error });
    }
    const available = Object.keys(policy.entrypoints as Record<string, number>);
    const missing = entrypoints.filter((e) => !available.includes(e));
    if (missing.length > 0) {
      throw new UsageError(
        `${path}: entrypoint ${missing.join(', ')} is not in the module (it has: ${available.join(', ') || 'none'}); choose one with -e`,
      );
    }
    policy.setData(mergeData(source.data, extraData) as object);
    let results;
    try {
      results = entrypoints.map((entrypoint) => [entrypoint, policy.evaluate(input, entrypoint) as unknown] as const);
    } catch (error) {
      // Only with --strict-builtin-errors: OPA's eval reports the error and fails.
      if (!(error instanceof BuiltinEvalError)) throw error;
      out.stderr(`error: ${error.code}: ${error.message}\n`);
      return 1;
    }
    if (options.format === 'pretty') {
      out.stdout(prettyResults(results));
      return 0;
    }
    // One -e prints its result set as before; several print each under its entrypoint.
    const printed = results.length === 1 ? results[0]![1] : Object.fromEntries(results);
    out.stdout(`${JSON.stringify(printed, null, 2)}\n`);
    return 0;
  });
}

/** --format pretty: the value itself (`undefined` for an empty result set), under its entrypoint when several. */
function prettyResults(results: ReadonlyArray<readonly [string, unknown]>): string {
  const valueText = (resultSet: unknown): string => {
    const first = Array.isArray(resultSet) ? (resultSet[0] as { result?: unknown } | undefined) : undefined;
    return first === undefined || first.result === undefined ? 'undefined' : JSON.stringify(first.result, null, 2);
  };
  if (results.length === 1) return `${valueText(results[0]![1])}\n`;
  return results.map(([entrypoint, resultSet]) => `${entrypoint}: ${valueText(resultSet)}\n`).join('');
}

/** Parses argv; a number means "stop with this exit code" (help shown: 0, bad usage: 2). */
export function parseArgs(program: Command, argv: string[]): number | undefined {
  try {
    program.parse(argv, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
}

export async function run(out: CliOutput, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UsageError || error instanceof RegoCompileError || error instanceof PolicyLoadError) {
      out.stderr(`error: ${error.message}\n`);
      return 2;
    }
    out.stderr(`error: ${errorText(error)}\n`);
    return 1;
  }
}

async function readJson(file: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${file}: cannot be read (${errorText(error)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${flag} ${file}: not valid JSON (${errorText(error)})`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** --data merges over the policy's own data key by key; anything else in it replaces what was there. */
function mergeData(base: unknown, over: unknown): unknown {
  return over === undefined ? (base ?? {}) : mergeOver(base, over);
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  return String(error);
}
