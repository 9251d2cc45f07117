// Fingerprints of what the compiler makes of a corpus of policies: per unit, the sha256 of the planned IR and
// of the emitted module (or of the compile error's kind and message). Run it before and after a refactoring
// that must not change the output (the emitter's stages, the annotated program) and diff the two listings.
// Usage: npx tsx packages/rego-wasm/scripts/fingerprint.ts [DIR...] [--conformance SUITE_DIR] > listing.txt
//   DIR: directories of .rego files; each is one unit whose entrypoints are all its non-function rules,
//        compiled with and without fuel checks.
//   --conformance: also every case of the YAML suites there (its modules with its own entrypoints).
// The last line is the digest of the whole listing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compileRego, parseModule, type RegoSource } from '../src/index.js';
import { readRegoDir } from '../src/regoDir.js';
import { planRego } from '../src/compile.js';

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

function filesUnder(dir: string, suffixes: string[]): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) return filesUnder(full, suffixes);
      return suffixes.some((s) => name.endsWith(s)) ? [full] : [];
    });
}

function failure(err: unknown): string {
  const e = err as Error & { kind?: string; reason?: string };
  return `error ${e.name} ${e.kind ?? e.reason ?? ''} ${sha(e.message)}`;
}

/** `ir <hash> wasm <hash>` (and `nofuel <hash>`: the module without fuel checks), or the error either step raised. */
function fingerprint(sources: RegoSource[], entrypoints: string[], withoutFuel = false): string {
  let ir: string;
  try {
    ir = sha(JSON.stringify(planRego(sources, entrypoints)));
  } catch (err) {
    return failure(err);
  }
  try {
    const fuelled = sha(compileRego(sources, { entrypoints }).wasm);
    if (!withoutFuel) return `ir ${ir} wasm ${fuelled}`;
    return `ir ${ir} wasm ${fuelled} nofuel ${sha(compileRego(sources, { entrypoints, fuel: false }).wasm)}`;
  } catch (err) {
    return `ir ${ir} ${failure(err)}`;
  }
}

async function directoryUnit(dir: string): Promise<string> {
  const { sources } = await readRegoDir(dir, { tests: true });
  const entrypoints = new Set<string>();
  for (const source of sources) {
    try {
      const module = parseModule(source.path, source.source);
      for (const rule of module.rules) {
        if (rule.kind !== 'function') entrypoints.add([...module.package.path, ...rule.name.slice(0, 1)].join('/'));
      }
    } catch {
      // the compile below reports it
    }
  }
  return fingerprint(sources, [...entrypoints].sort(), true);
}

interface Case {
  note?: string;
  modules?: string[];
  query?: string;
  entry_points?: string[];
}

function conformanceUnits(suiteDir: string): string[] {
  const lines: string[] = [];
  for (const file of filesUnder(suiteDir, ['.yaml', '.yml'])) {
    let cases: Case[];
    try {
      cases = (parseYaml(readFileSync(file, 'utf8')) as { cases?: Case[] } | null)?.cases ?? [];
    } catch {
      continue;
    }
    cases.forEach((c, i) => {
      const queries = (c.entry_points ?? (c.query === undefined ? [] : [c.query])).filter((q) =>
        /^data(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(q),
      );
      if (queries.length === 0) return;
      const entrypoints = queries.map((q) => (q === 'data' ? '' : q.slice('data.'.length).replaceAll('.', '/')));
      const rel = relative(suiteDir, file);
      const sources = (c.modules ?? []).map((source, j) => ({ path: `${rel}[${c.note ?? '?'}]#${j}`, source }));
      lines.push(`${rel}#${i} ${fingerprint(sources, entrypoints)}`);
    });
  }
  return lines;
}

const args = process.argv.slice(2);
const suiteAt = args.indexOf('--conformance');
const suiteDir = suiteAt >= 0 ? args[suiteAt + 1] : undefined;
const dirs = args.filter((arg, i) => arg !== '--conformance' && (suiteAt < 0 || i !== suiteAt + 1));
const lines: string[] = [];
for (const dir of dirs) lines.push(`${dir} ${await directoryUnit(dir)}`);
if (suiteDir !== undefined) lines.push(...conformanceUnits(suiteDir));
for (const line of lines) console.log(line);
console.log(`digest ${sha(lines.join('\n'))}`);
