// The pipeline's stage timers (bench:check's per-stage breakdown): a stage that burns time shows up under its own
// name, the wait for an asynchronous stage is not counted, and every finished check is counted once.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DecodedCheckRequest } from '../../src/input/checkRequest.js';
import { createCheckPipeline } from '../../src/server/pipeline.js';
import { createStageTimes } from '../../src/server/stageTimes.js';
import { createDecisionLogger } from '../../src/telemetry/decisionLog.js';
import { checkRequest } from '../helpers/checkClient.js';

// A clock that moves only when a stage "works": the figures are exact whatever the machine's load.
let clock = 0;
function busy(ms: number): void {
  clock += ms;
}

describe('stage timers', () => {
  it('time each stage by its synchronous work and count the checks', async () => {
    const logger = pino({ level: 'silent' });
    const stageTimes = createStageTimes(() => clock);
    const check = createCheckPipeline({
      identity: {
        verify: () => {
          busy(4);
          return Promise.resolve({ kind: 'anonymous' as const });
        },
        close: () => Promise.resolve(),
      },
      limits: {
        // 30 ms of waiting that is not CPU: not counted
        evaluate: () =>
          new Promise((resolve) =>
            setTimeout(() => {
              clock += 30;
              resolve({ kind: 'pass' as const, headers: {} });
            }, 1),
          ),
        authGate: () => Promise.resolve({ kind: 'pass' as const }),
        authFailed: () => undefined,
      },
      policy: () => ({
        revision: 'r1',
        evaluate: () => {
          busy(8);
          return { defined: true, value: true };
        },
      }),
      logger,
      decisionLog: createDecisionLogger(logger, {
        enabled: false,
        includeInput: false,
        secrets: { headers: new Set(), queryParameters: new Set() },
      }),
      observeCheck: () => busy(2),
      observePolicyEval: () => undefined,
      stageTimes,
    });
    const request = checkRequest({ path: '/x' }) as DecodedCheckRequest;
    expect((await check(request)).status?.code).toBe(0);
    expect((await check(request)).status?.code).toBe(0);
    const { checks, nanoseconds } = stageTimes.snapshot();
    const ms = (stage: keyof typeof nanoseconds) => nanoseconds[stage] / 2 / 1e6;
    expect(checks).toBe(2);
    expect(ms('identity')).toBe(4);
    expect(ms('policy')).toBe(8);
    expect(ms('telemetry')).toBe(2);
    expect(ms('limits')).toBe(0);
  });
});
