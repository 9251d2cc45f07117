// One policy evaluation of bench:check's request, in-process: the default policy (./policies with its data.json)
// on the input the pipeline builds for that request (a dozen headers, a ~2 KB RS256 JWT's verified identity).
// First through the sidecar's own evaluator (what the pipeline's `policy` stage runs), then split into its parts by
// calling the module's exports one at a time on a second instance: write the input text into Wasm memory, parse it
// (opa_json_parse), evaluate the plan (eval), dump the result set (opa_json_dump), read it back (JSON.parse).
// BASELINE=FILE adds another build of the same policy, a .wasm module (with policies/data.json) or a bundle
// .tar.gz (e.g. `portcullis policy build policies -o FILE.tar.gz` run in a checkout from before a runtime change),
// measured the same way in alternating rounds, so both sides see the same machine load. Median and best round.
// Prints figures; asserts nothing.
//   npm run bench:policy-eval        (ROUNDS=15 N=4000 BASELINE=path/to/policy.wasm)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { loadPolicySync as LoadPolicySync } from '@open-policy-agent/opa-wasm';
import { customBuiltins } from '@portcullis/rego-wasm/builtins';
import { decodeJwt } from 'jose';
import { buildPolicyInput } from '../src/input/buildInput.js';
import type { DecodedAttributes } from '../src/input/checkRequest.js';
import { policyInputJson } from '../src/input/inputJson.js';
import { toRequestView } from '../src/input/requestView.js';
import { loadPolicyFromSettings } from '../src/policy/engine.js';
import { loadPolicySource } from '../src/policy/source.js';
import { loadProtos } from '../src/server/protos.js';
import { prepareBench } from './check/setup.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const N = Number(process.env.N ?? 4000);
const ENTRYPOINT = 'envoy/authz/allow';

const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as {
  loadPolicySync: typeof LoadPolicySync;
};

/** The input the pipeline builds for bench:check's first request, as the pieces the evaluator writes. */
async function benchInput(): Promise<{ input: unknown; pieces: string[] }> {
  const setup = await prepareBench(1);
  try {
    const message = loadProtos().authorization['Check']!.requestDeserialize(setup.bodies[0]!.subarray(5)) as {
      attributes?: DecodedAttributes;
    };
    const attributes = message.attributes;
    const view = toRequestView(attributes);
    const token = (view.headers['authorization'] ?? '').replace(/^Bearer /, '');
    const claims = deepFreeze(decodeJwt(token) as Record<string, unknown>);
    // The shape and freezing of src/identity's verified identity (its JSON text is cached per token).
    const identity = Object.freeze({
      provider: 'bench',
      subject: claims['sub'] as string,
      claims,
      token_id: claims['jti'] as string,
    });
    const built = buildPolicyInput(attributes, view, identity);
    if (built.kind !== 'input') throw new Error(`bench request refused: ${built.detail}`);
    return { input: built.input, pieces: policyInputJson(built.input) };
  } finally {
    await setup.dispose();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** "median (best)" of the rounds: on a shared machine the best round is the one least disturbed. */
function figure(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} (${sorted[0]!.toFixed(2)})`;
}

const bench = await benchInput();
const { input, pieces } = bench;
const inputText = pieces.join('');
const dataFile = 'policies/data.json';

const PARTS = ['write', 'parse', 'eval', 'dump', 'read'] as const;
type Part = (typeof PARTS)[number];

interface Subject {
  name: string;
  /** µs per evaluation through the sidecar's evaluator (the pipeline's call), over N */
  whole(): number;
  /** µs per evaluation of each part, over N */
  split(): Record<Part, number>;
}

async function subject(name: string, path: string): Promise<Subject> {
  const policy = await loadPolicyFromSettings({
    path,
    entrypoint: ENTRYPOINT,
    ...(path.endsWith('.wasm') ? { data: dataFile } : {}),
  });
  const decision = policy.evaluate(input);
  const expected = JSON.stringify([{ result: (decision as { value: unknown }).value }]);

  // A second instance of the same module for the split timings, set up as src/policy/evaluator.ts does.
  const source = await loadPolicySource(path, [ENTRYPOINT]);
  const sdk = loadPolicySync(await WebAssembly.compile(source.wasm), { initial: 16 }, customBuiltins);
  sdk.setData(source.data ?? JSON.parse(readFileSync(dataFile, 'utf8')));
  type Fn = (...args: number[]) => number;
  const ex = (sdk.wasmInstance as WebAssembly.Instance).exports as Record<string, Fn>;
  const call = (fn: string, ...args: number[]): number => ex[fn]!(...args);
  const entrypointId = (sdk.entrypoints as Record<string, number>)[ENTRYPOINT]!;
  const dataAddr = sdk.dataAddr as number;
  // The context lies where the SDK would write the input: the input goes just above it.
  const ctx = call('opa_eval_ctx_new');
  const inputAddr = call('opa_heap_ptr_get');
  const writeInput = (): number => {
    let at = 0;
    const target = new Uint8Array(sdk.mem.buffer, inputAddr);
    for (const piece of pieces) at += encoder.encodeInto(piece, target.subarray(at)).written;
    return at;
  };
  const splitOnce = (sum: Record<Part, number>, check: boolean): void => {
    const t0 = performance.now();
    const length = writeInput();
    const t1 = performance.now();
    call('opa_heap_ptr_set', inputAddr + length);
    const value = call('opa_json_parse', inputAddr, length);
    const t2 = performance.now();
    call('opa_eval_ctx_set_input', ctx, value);
    call('opa_eval_ctx_set_data', ctx, dataAddr);
    call('opa_eval_ctx_set_entrypoint', ctx, entrypointId);
    call('eval', ctx);
    const t3 = performance.now();
    const resultAddr = call('opa_json_dump', call('opa_eval_ctx_get_result', ctx));
    const t4 = performance.now();
    const memory = new Uint8Array(sdk.mem.buffer);
    const resultSet = JSON.parse(decoder.decode(memory.subarray(resultAddr, memory.indexOf(0, resultAddr)))) as unknown;
    const t5 = performance.now();
    if (check && JSON.stringify(resultSet) !== expected)
      throw new Error(`${name}: split evaluation gave ${JSON.stringify(resultSet)}, the evaluator ${expected}`);
    sum.write += t1 - t0;
    sum.parse += t2 - t1;
    sum.eval += t3 - t2;
    sum.dump += t4 - t3;
    sum.read += t5 - t4;
  };
  splitOnce({ write: 0, parse: 0, eval: 0, dump: 0, read: 0 }, true);
  console.log(`${name} (${path}): decision ${JSON.stringify(decision)}`);
  return {
    name,
    whole() {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) policy.evaluate(input);
      return ((performance.now() - t0) / N) * 1000;
    },
    split() {
      const sum = { write: 0, parse: 0, eval: 0, dump: 0, read: 0 };
      for (let i = 0; i < N; i++) splitOnce(sum, false);
      for (const part of PARTS) sum[part] = (sum[part] / N) * 1000;
      return sum;
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
console.log(`input: ${Buffer.byteLength(inputText)} bytes of JSON (the pipeline's text for bench:check's request)`);
const subjects = [await subject('current', './policies')];
if (process.env.BASELINE !== undefined) subjects.push(await subject('baseline', process.env.BASELINE));

function textRound(): number {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) policyInputJson(input);
  return ((performance.now() - t0) / N) * 1000;
}

const texts: number[] = [];
const wholes = subjects.map(() => [] as number[]);
const splits = subjects.map(
  () => Object.fromEntries(PARTS.map((part) => [part, [] as number[]])) as Record<Part, number[]>,
);
for (let r = -1; r < ROUNDS; r++) {
  // Round -1 warms up (JIT, Wasm tier-up) and is not counted.
  const text = textRound();
  if (r >= 0) texts.push(text);
  subjects.forEach((s, i) => {
    const whole = s.whole();
    const split = s.split();
    if (r < 0) return;
    wholes[i]!.push(whole);
    for (const part of PARTS) splits[i]![part].push(split[part]);
  });
}
const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
console.log(
  `load average ${load1}; node ${process.version}; µs per evaluation, median (best) of ${ROUNDS} rounds x ${N}`,
);
console.log(`input JSON text (policyInputJson, identity text cached): ${figure(texts)} µs`);
subjects.forEach((s, i) => {
  const parts = PARTS.map((part) => `${part} ${figure(splits[i]![part])}`).join(', ');
  console.log(
    `${s.name}: evaluator.evaluateJson ${figure(wholes[i]!)} µs per evaluation (input text included); ` +
      `split by export (µs): ${parts}`,
  );
});
