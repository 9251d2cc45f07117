// Tracing never reaches a check: a tracer that throws everywhere, behind the guard every configured tracer
// sits behind, leaves the pipeline's answer as it is and is reported once per kind of failure.
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DecodedCheckRequest } from '../../src/input/checkRequest.js';
import { createCheckPipeline } from '../../src/server/pipeline.js';
import { createDecisionLogger } from '../../src/telemetry/decisionLog.js';
import { guarded, type CheckTracer } from '../../src/telemetry/tracing.js';
import { checkRequest } from '../helpers/checkClient.js';

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

function pipelineWith(tracer: CheckTracer, logger: Logger) {
  return createCheckPipeline({
    identity: { verify: () => Promise.resolve({ kind: 'anonymous' as const }), close: () => Promise.resolve() },
    limits: {
      evaluate: () => Promise.resolve({ kind: 'pass' as const, headers: {} }),
      authGate: () => Promise.resolve({ kind: 'pass' as const }),
      authFailed: () => undefined,
    },
    policy: () => ({ revision: 'r1', evaluate: () => ({ defined: true, value: true }) }),
    logger,
    decisionLog: createDecisionLogger(logger, {
      enabled: false,
      includeInput: false,
      secrets: { headers: new Set(), queryParameters: new Set() },
    }),
    observeCheck: () => undefined,
    observePolicyEval: () => undefined,
    tracer,
  });
}

const request = checkRequest({
  path: '/x',
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
}) as DecodedCheckRequest;

describe('a failing tracer', () => {
  it('throwing when a check starts: the check is answered, one warning', async () => {
    const { logger, lines } = capture();
    const broken: CheckTracer = {
      startCheck: () => {
        throw new Error('exporter broke');
      },
      shutdown: () => Promise.reject(new Error('no')),
    };
    const check = pipelineWith(guarded(broken, logger), logger);
    for (let i = 0; i < 3; i++) expect((await check(request)).status?.code).toBe(0);
    await guarded(broken, logger).shutdown();
    const warnings = lines.filter((l) => l['msg'] === 'tracing failed; checks go on untraced');
    expect(warnings.map((l) => l['where'])).toEqual(['startCheck', 'shutdown']);
  });

  it('throwing in every stage span and at the end: same answer, each failure reported once', async () => {
    const { logger, lines } = capture();
    const stages: string[] = [];
    const broken: CheckTracer = {
      startCheck: () => ({
        startStage: (stage) => {
          stages.push(stage);
          if (stage === 'limits') throw new Error('start');
          return () => {
            throw new Error('end');
          };
        },
        end: () => {
          throw new Error('end of check');
        },
      }),
      shutdown: () => Promise.resolve(),
    };
    const check = pipelineWith(guarded(broken, logger), logger);
    for (let i = 0; i < 2; i++) expect((await check(request)).status?.code).toBe(0);
    expect(stages).toEqual(['identity', 'limits', 'policy', 'identity', 'limits', 'policy']);
    const where = lines.filter((l) => l['msg'] === 'tracing failed; checks go on untraced').map((l) => l['where']);
    expect(where.sort()).toEqual(['end', 'endStage', 'startStage']);
  });
});
