// The contract stage's own promises, without a server: it never throws, and it counts what it sees.
import { resolve } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createContractStage } from '../../src/contract/index.js';
import type { HttpRequestView } from '../../src/input/types.js';

const PETSTORE = resolve('test/fixtures/openapi/petstore.yaml');

async function stageWithLog() {
  const lines: Array<Record<string, unknown>> = [];
  const counted: string[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const stage = await createContractStage(
    { specs: [PETSTORE], mode: 'enforce', unknownOperations: 'allow', enforceScopes: false },
    {
      logger,
      countRequest: (operation, result) => counted.push(`${operation} ${result}`),
      countUnknown: (method) => counted.push(`unknown ${method}`),
      countReload: () => undefined,
    },
  );
  return { stage, lines, counted };
}

describe('contract stage', () => {
  it('answers unavailable with a log line, instead of throwing, when validation breaks', async () => {
    const { stage, lines } = await stageWithLog();
    const broken = {
      method: 'GET',
      get path(): string {
        throw new TypeError('a bug in the request view');
      },
      headers: {},
      sourceAddress: '',
    } as HttpRequestView;
    expect(stage.evaluate(broken, null, null)).toEqual({
      kind: 'unavailable',
      description: 'openapi validation failed',
    });
    const line = lines.find((l) => l['msg'] === 'openapi validation failed unexpectedly');
    expect(JSON.stringify(line?.['err'])).toContain('a bug in the request view');
    stage.close();
  });

  it('counts valid and invalid requests per operation, and unknown ones per method', async () => {
    const { stage, counted } = await stageWithLog();
    const view = (method: string, path: string): HttpRequestView => ({ method, path, headers: {}, sourceAddress: '' });
    stage.evaluate(view('GET', '/api/v1/pets/7'), null, null);
    stage.evaluate(view('GET', '/api/v1/pets/x'), null, null);
    stage.evaluate(view('PROPFIND', '/api/v1/nowhere'), null, null);
    expect(counted).toEqual(['showPetById valid', 'showPetById invalid', 'unknown OTHER']);
    expect(stage.inventory().map((u) => `${u.method} ${u.shape}`)).toEqual(['OTHER /api/v1/nowhere']);
    stage.close();
  });
});
