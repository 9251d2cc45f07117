// Reads a V8 .cpuprofile (node --cpu-prof, or the inspector's Profiler.stop) into self time per function and per
// module (an npm package, a src/ file, a node: internal, or V8's own buckets: GC, program), as µs per check.
//   npx tsx bench/check/cpuProfile.ts FILE.cpuprofile CHECKS [TOP]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  micros: number;
}

/** The module a frame belongs to: npm package, repository file, node internal, or V8's bucket. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const repo = /\/(src|packages|bench|test)\/.*$/.exec(path);
  return repo === null ? path : repo[0].slice(1);
}

/** Self time (µs) by function and by module; `(idle)` is left out. */
export function selfTimes(profile: CpuProfile): { functions: SelfTime[]; modules: SelfTime[]; totalMicros: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let total = 0;
  // timeDeltas[i] is the time before sample i; it belongs to the sample before it (what was running meanwhile).
  for (let i = 0; i < profile.samples.length - 1; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const micros = profile.timeDeltas[i + 1]!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    const module = moduleOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${module}${url === '' ? '' : `:${lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    modules.set(module, (modules.get(module) ?? 0) + micros);
    total += micros;
  }
  const sorted = (map: Map<string, number>) =>
    [...map].map(([name, micros]) => ({ name, micros })).sort((a, b) => b.micros - a.micros);
  return { functions: sorted(functions), modules: sorted(modules), totalMicros: total };
}

/** Markdown tables of the top `top` functions and modules, in µs per check and share of busy time. */
export function profileTables(profile: CpuProfile, checks: number, top: number): string {
  const { functions, modules, totalMicros } = selfTimes(profile);
  const row = (t: SelfTime) =>
    `| ${t.name} | ${(t.micros / checks).toFixed(2)} | ${((t.micros / totalMicros) * 100).toFixed(1)}% |`;
  return [
    `busy (non-idle) CPU in the profile: ${(totalMicros / checks).toFixed(1)} µs/check over ${checks} checks`,
    '',
    '| module (self time) | µs/check | share |',
    '|---|---:|---:|',
    ...modules.slice(0, top).map(row),
    '',
    '| function (self time) | µs/check | share |',
    '|---|---:|---:|',
    ...functions.slice(0, top).map(row),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const [file, checks, top] = process.argv.slice(2);
  if (file === undefined || checks === undefined) {
    process.stderr.write('usage: cpuProfile.ts FILE.cpuprofile CHECKS [TOP]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(profileTables(profile, Number(checks), Number(top ?? 25)));
}
