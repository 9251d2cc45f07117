// Bounded, seeded fuzzing through the real sidecar over gRPC: whatever the request, the policy sees a
// defined input with every documented key, or the request is refused with 400 for a malformed path or
// query, as OPA-Envoy refuses it. `npm run fuzz` runs the same generator far longer and prints figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { checkRequest, type CheckResponse } from '../helpers/checkClient.js';
import {
  BODY_ERRORS,
  DOCUMENTED_INPUT_KEYS,
  FUZZ_POLICY,
  fuzzRequest,
  mustBeRefused,
  seededRandom,
} from '../fuzz/requests.js';

const SEED = 0x5eed_17;
const REQUESTS = 2_000;

function status(res: CheckResponse): number | undefined {
  return res.deniedResponse?.status?.code ?? (res.okResponse !== undefined ? 200 : undefined);
}

describe(`${REQUESTS} fuzzed CheckRequests (seed ${SEED})`, () => {
  let t: TestSidecar;
  beforeAll(async () => {
    t = await startTestSidecar({
      files: { 'policies/fuzz.rego': FUZZ_POLICY },
      config: { policy: { entrypoint: 'fuzz/decision' }, decisionLog: { enabled: false } },
    });
  });
  afterAll(async () => t?.close());

  it('always give the policy a defined input with the documented keys, or a 400 for a malformed path', async () => {
    const r = seededRandom(SEED);
    const failures: string[] = [];
    const counts = new Map<string, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const { request, method, path } = fuzzRequest(r);
      const res = await t.client.check(request);
      const code = status(res);
      const refused = mustBeRefused(path);
      let outcome: string;
      if (code === 400 && refused) outcome = 'refused';
      else if (code === 422 && !refused) {
        const seen = JSON.parse(res.deniedResponse?.body ?? 'null') as Record<string, unknown>;
        const keys = (seen['keys'] as string[]).filter((k) => k !== 'source_principal');
        const ok =
          JSON.stringify(keys) === JSON.stringify(DOCUMENTED_INPUT_KEYS) &&
          seen['path_is_array'] === true &&
          seen['query_is_object'] === true &&
          seen['truncated_is_boolean'] === true &&
          BODY_ERRORS.includes(seen['body_error'] as string | null) &&
          (seen['body_error'] === null || seen['body_is_null'] === true) &&
          seen['method'] === method;
        outcome = ok ? `seen:${String(seen['body_error'])}` : 'wrong input';
      } else outcome = `status ${code}`;
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      if (outcome === 'wrong input' || outcome.startsWith('status')) {
        failures.push(
          `#${i} ${method} ${JSON.stringify(path).slice(0, 120)}: ${outcome} ${res.deniedResponse?.body?.slice(0, 200) ?? ''}`,
        );
      }
    }
    if (process.env['FUZZ_VERBOSE'] !== undefined) console.log(Object.fromEntries(counts));
    expect(failures.slice(0, 10)).toEqual([]);
    // The generator reaches the interesting cases, or this test proves little.
    for (const expected of [
      'refused',
      'seen:null',
      'seen:too_deep',
      'seen:invalid_json',
      'seen:truncated',
      'seen:invalid_multipart',
      'seen:invalid_form',
      'seen:too_many_parts',
    ]) {
      expect(counts.get(expected) ?? 0, expected).toBeGreaterThan(0);
    }
    // The engine is unharmed afterwards.
    expect(status(await t.client.check(checkRequest({ path: '/after' })))).toBe(422);
  });
});
