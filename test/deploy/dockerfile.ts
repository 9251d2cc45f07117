// A Dockerfile reader and a build that follows its COPY and RUN steps in plain directories, for machines
// without a Docker engine. Each stage gets its own directory standing for the image's `/`; absolute paths
// under a stage's WORKDIR in RUN commands and ENV values are mapped into that directory.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

// Async, so a long RUN (npm ci) does not block the event loop of the process that runs the build.
const execFileAsync = promisify(execFile);

export interface Instruction {
  keyword: string;
  /** Text after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line the instruction starts on. */
  line: number;
}

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let current = lines[i]!.trim();
    if (current === '' || current.startsWith('#')) continue;
    while (current.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.trim();
      if (next.startsWith('#')) continue; // comment lines inside a continued instruction are skipped
      current = `${current.slice(0, -1).trimEnd()} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(current)!;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile:${startLine}: cannot read FROM ${args}`);
      stages.push({ name: from[2] ?? String(stages.length), image: from[1]!, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile:${startLine}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, args, line: startLine });
  }
  return stages;
}

/** The RUN commands of a stage, without their flags (`--mount=...`). */
export function runCommands(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => splitFlags(i.args).rest);
}

/** `["a", "b"]` (exec form) -> argv; anything else (shell form) -> null. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed as string[];
}

/** Splits flags (`--from=build`) from the rest of a COPY/HEALTHCHECK argument list. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!flag) return { flags, rest };
    flags[flag[1]!] = flag[2]!;
    rest = rest.slice(flag[0].length);
  }
}

/** ENV in both forms: `ENV A=1 B="x y"` and the legacy `ENV A 1`. */
export function parseEnv(args: string): Record<string, string> {
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=].*)$/.exec(args);
  if (legacy && !args.includes('=')) return { [legacy[1]!]: legacy[2]! };
  const env: Record<string, string> = {};
  for (const pair of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = pair[2]!;
    env[pair[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return env;
}

/** .dockerignore patterns (Go filepath.Match plus `**`), relative to the context root. */
export function dockerignoreMatcher(text: string): (relative: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((pattern) => {
      const negate = pattern.startsWith('!');
      const body = path.posix.normalize(pattern.replace(/^!/, '').replace(/^\/+/, ''));
      const source = body
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      // A pattern naming a directory excludes everything below it too.
      return { negate, regex: new RegExp(`^${source}(/.*)?$`) };
    });
  return (relative) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(relative)) ignored = !rule.negate;
    return ignored;
  };
}

export interface BuiltStage {
  name: string;
  /** The directory standing for the image's `/`. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  exposed: number[];
  healthcheck: string[] | null;
  entrypoint: string[];
  cmd: string[];
  /** Debian packages the stage's `apt-get install` steps add (recorded, not installed: see aptPackages). */
  osPackages: string[];
}

export interface BuildOptions {
  context: string;
  dockerfile: string;
  outDir: string;
  /** Extra environment for RUN steps (e.g. npm cache settings); never overrides the Dockerfile's ENV. */
  runEnv?: Record<string, string>;
  log?: (line: string) => void;
}

/** Maps `/abs/path` of the image into the stage directory when it lies under one of the stage's dirs. */
export function mapImagePath(stage: Pick<BuiltStage, 'root'>, imagePath: string): string {
  return path.join(stage.root, imagePath);
}

function mapAbsolutePaths(stage: BuiltStage, text: string, prefixes: string[]): string {
  let mapped = text;
  for (const prefix of prefixes) {
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    mapped = mapped.replace(
      new RegExp(`(^|[\\s='"])${escaped}(?=/|\\s|$|['"])`, 'g'),
      (_m, lead: string) => `${lead}${path.join(stage.root, prefix)}`,
    );
  }
  return mapped;
}

function copyInto(source: string, destination: string, ignored: (absolute: string) => boolean): void {
  const stat = fs.statSync(source);
  if (stat.isDirectory()) {
    fs.mkdirSync(destination, { recursive: true });
    for (const entry of fs.readdirSync(source)) {
      const from = path.join(source, entry);
      if (!ignored(from)) copyInto(from, path.join(destination, entry), ignored);
    }
  } else {
    fs.mkdirSync(path.dirname(destination), { recursive: true });
    fs.copyFileSync(source, destination);
  }
}

/** Runs every stage's COPY and RUN steps in order; returns the stages (the last one is the image). */
export async function buildWithoutDocker(options: BuildOptions): Promise<BuiltStage[]> {
  const text = fs.readFileSync(options.dockerfile, 'utf8');
  const ignoreFile = path.join(options.context, '.dockerignore');
  const isIgnored = dockerignoreMatcher(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '');
  const ignoredInContext = (absolute: string): boolean =>
    isIgnored(path.relative(options.context, absolute).split(path.sep).join('/'));
  const log = options.log ?? (() => undefined);
  const built: BuiltStage[] = [];

  for (const stageSpec of parseDockerfile(text)) {
    const stage: BuiltStage = {
      name: stageSpec.name,
      root: path.join(options.outDir, `stage-${stageSpec.name}`),
      workdir: '/',
      env: {},
      user: null,
      exposed: [],
      healthcheck: null,
      entrypoint: [],
      cmd: [],
      osPackages: [],
    };
    fs.mkdirSync(stage.root, { recursive: true });
    const workdirs = new Set<string>();
    const inImage = (p: string): string => mapImagePath(stage, path.posix.resolve(stage.workdir, p));

    for (const instruction of stageSpec.instructions) {
      const where = `Dockerfile:${instruction.line} (${stage.name})`;
      switch (instruction.keyword) {
        case 'WORKDIR':
          stage.workdir = path.posix.resolve(stage.workdir, instruction.args);
          workdirs.add(stage.workdir);
          fs.mkdirSync(inImage('.'), { recursive: true });
          break;
        case 'ENV':
          Object.assign(stage.env, parseEnv(instruction.args));
          break;
        case 'COPY': {
          const { flags, rest } = splitFlags(instruction.args);
          const parts = execForm(rest) ?? rest.split(/\s+/);
          const destination = parts.pop()!;
          const fromStage = flags.from === undefined ? null : built.find((s) => s.name === flags.from);
          if (flags.from !== undefined && !fromStage)
            throw new Error(`${where}: COPY --from=${flags.from}: no such stage`);
          const intoDir = destination.endsWith('/') || parts.length > 1;
          for (const source of parts) {
            const from = fromStage ? mapImagePath(fromStage, source) : path.join(options.context, source);
            if (!fromStage && ignoredInContext(from))
              throw new Error(`${where}: COPY ${source} is excluded by .dockerignore`);
            if (!fs.existsSync(from)) throw new Error(`${where}: COPY source ${source} does not exist`);
            const target = intoDir ? path.join(inImage(destination), path.basename(source)) : inImage(destination);
            log(`${where}: COPY ${source} -> ${destination}`);
            copyInto(from, target, fromStage ? () => false : ignoredInContext);
          }
          break;
        }
        case 'RUN': {
          const { flags, rest: runArgs } = splitFlags(instruction.args);
          // A cache mount only keeps npm's download cache out of the image; here the host's cache serves.
          for (const [flag, value] of Object.entries(flags)) {
            if (flag !== 'mount' || !value.startsWith('type=cache,'))
              throw new Error(`${where}: RUN --${flag}=${value} is not followed by this test`);
          }
          const packages = aptPackages(runArgs);
          if (packages !== null) {
            stage.osPackages.push(...packages);
            log(`${where}: apt-get install ${packages.join(' ')} (recorded; not run on the host)`);
            break;
          }
          const argv = execForm(runArgs);
          const mappedPrefixes = [...workdirs];
          const command = argv
            ? argv.map((a) => mapAbsolutePaths(stage, a, mappedPrefixes))
            : mapAbsolutePaths(stage, runArgs, mappedPrefixes);
          const env: Record<string, string> = { ...(process.env as Record<string, string>), ...options.runEnv };
          for (const [key, value] of Object.entries(stage.env))
            env[key] = mapAbsolutePaths(stage, value, mappedPrefixes);
          log(`${where}: RUN ${runArgs}`);
          const [file, ...args] = Array.isArray(command) ? command : ['/bin/sh', '-c', command];
          try {
            await execFileAsync(file!, args, { cwd: inImage('.'), env, maxBuffer: 64 * 1024 * 1024 });
          } catch (error) {
            const failure = error as { stdout?: string; stderr?: string; code?: number | string };
            const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.split('\n').slice(-40).join('\n');
            throw new Error(`${where}: RUN ${runArgs} exited ${failure.code ?? '?'}:\n${output}`);
          }
          break;
        }
        case 'USER':
          stage.user = instruction.args;
          break;
        case 'EXPOSE':
          stage.exposed.push(...instruction.args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
          break;
        case 'HEALTHCHECK': {
          const { rest } = splitFlags(`${instruction.args} `);
          const cmd = /^CMD\s+(.*)$/s.exec(rest.trim());
          stage.healthcheck = cmd ? (execForm(cmd[1]!) ?? ['/bin/sh', '-c', cmd[1]!]) : null;
          break;
        }
        case 'ENTRYPOINT':
          stage.entrypoint = execForm(instruction.args) ?? ['/bin/sh', '-c', instruction.args];
          break;
        case 'CMD':
          stage.cmd = execForm(instruction.args) ?? ['/bin/sh', '-c', instruction.args];
          break;
        case 'ARG':
        case 'LABEL':
        case 'STOPSIGNAL':
          break;
        default:
          throw new Error(
            `${where}: ${instruction.keyword} is not followed by this test; keep the Dockerfile to COPY/RUN/ENV/...`,
          );
      }
    }
    built.push(stage);
  }
  return built;
}

/**
 * A RUN step that only installs Debian packages (`apt-get update && apt-get install ... && rm -rf
 * /var/lib/apt/lists/*`): the packages it installs, or null for any other step. Such a step changes the
 * host's system when run here, so it is recorded instead; the tests check the packages' files on the host
 * (where the machine has them) or skip the part that needs them, saying so.
 */
export function aptPackages(command: string): string[] | null {
  const parts = command.split(/\s*&&\s*/);
  const isUpdate = (p: string): boolean => /^apt-get update( -q+)?$/.test(p);
  const isCleanup = (p: string): boolean => p === 'rm -rf /var/lib/apt/lists/*';
  const install = parts.map((p) => /^apt-get install((?:\s+-\S+)*)\s+([a-z0-9][a-z0-9+.\-\s]*)$/.exec(p));
  if (install.filter((m) => m !== null).length !== 1) return null;
  if (!parts.every((p, i) => install[i] !== null || isUpdate(p) || isCleanup(p))) return null;
  return install
    .find((m) => m !== null)![2]!
    .trim()
    .split(/\s+/);
}

/** The image's command with paths under its WORKDIR mapped into the stage directory. */
export function imageCommand(stage: BuiltStage): string[] {
  return [...stage.entrypoint, ...stage.cmd].map((arg) => mapAbsolutePaths(stage, arg, [stage.workdir]));
}

export function imageEnv(stage: BuiltStage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stage.env).map(([k, v]) => [k, mapAbsolutePaths(stage, v, [stage.workdir])]),
  );
}
