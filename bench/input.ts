// Hostile request shapes of issue 17 (a 200,000-pair form, a path of a million segments, a 20,000-part
// multipart body, JSON nested thousands deep, a 2 MiB body): how long one check's input work takes, which is
// how long it holds the event loop (every other check waits that long). Request view + policy input +
// evaluation of the default policy (./policies), median of 5 runs each. Prints figures; asserts nothing.
//   npm run bench:input
import { performance } from 'node:perf_hooks';
import { buildPolicyInput } from '../src/input/buildInput.js';
import type { DecodedAttributes } from '../src/input/checkRequest.js';
import { toRequestView } from '../src/input/requestView.js';
import { loadPolicyFromSettings } from '../src/policy/engine.js';

const policy = await loadPolicyFromSettings({ path: './policies', entrypoint: 'envoy/authz/allow' });

function attributes(path: string, contentType?: string, body?: string): DecodedAttributes {
  const headers: Record<string, string> = {
    ':path': path,
    ':method': 'POST',
    ...(contentType ? { 'content-type': contentType } : {}),
  };
  return {
    request: {
      http: {
        method: 'POST',
        path,
        headers,
        ...(body === undefined ? {} : { body, size: String(Buffer.byteLength(body)) }),
      },
    },
  };
}

const multipart = (parts: number) =>
  Array.from({ length: parts }, (_, i) => `--b\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`).join('') +
  '--b--\r\n';

const cases: Array<[string, DecodedAttributes]> = [
  [
    'plain POST /api/orders with a small JSON body',
    attributes('/api/orders', 'application/json', '{"item":"x","qty":1}'),
  ],
  [
    'form body of 200,000 pairs',
    attributes('/api/orders', 'application/x-www-form-urlencoded', 'a=1&'.repeat(200_000)),
  ],
  ['path of 1,000,000 empty segments', attributes('/'.repeat(1_000_000))],
  ['path of 500,000 segments ("a/" repeated)', attributes('/' + 'a/'.repeat(500_000))],
  ['query of 200,000 pairs', attributes('/x?' + 'a=1&'.repeat(200_000))],
  ['multipart body of 20,000 parts', attributes('/api/orders', 'multipart/form-data; boundary=b', multipart(20_000))],
  ['JSON body nested 600 levels', attributes('/admin/x', 'application/json', '['.repeat(600) + ']'.repeat(600))],
  [
    'JSON body nested 100,000 levels',
    attributes('/admin/x', 'application/json', '['.repeat(100_000) + ']'.repeat(100_000)),
  ],
  [
    'JSON body of 2 MiB (over the parsing limit)',
    attributes('/api/orders', 'application/json', JSON.stringify({ s: 'x'.repeat(2 * 2 ** 20) })),
  ],
  [
    'JSON body of 1.9 MiB, 100,000 small objects',
    attributes('/api/orders', 'application/json', JSON.stringify(Array.from({ length: 100_000 }, (_, i) => ({ i })))),
  ],
];

console.log("one check's input work (request view + input + evaluation), median of 5:");
for (const [name, attrs] of cases) {
  const times: number[] = [];
  let outcome = '';
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    const built = buildPolicyInput(attrs, toRequestView(attrs), null);
    if (built.kind === 'input') {
      policy.evaluate(built.input);
      outcome = `input, body_error ${String(built.input.body_error)}`;
    } else outcome = `400 (${built.detail})`;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`  ${times[2]!.toFixed(1).padStart(8)} ms  ${name} -> ${outcome}`);
}
