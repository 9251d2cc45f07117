// Shared fixtures of the limits tests: configs through the real schema, a silent logger, unique names.
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { configSchema, type Config, type RateLimitRule } from '../../src/config/schema.js';
import type { LimitRequest, LimitsDeps } from '../../src/limits/types.js';

export function parseConfig(input: Record<string, unknown>): Config {
  return configSchema.parse(input);
}

export function rule(overrides: Partial<RateLimitRule> & Pick<RateLimitRule, 'limit'>): RateLimitRule {
  return { name: `r-${randomUUID().slice(0, 8)}`, key: ['jwt.sub'], periodSeconds: 3600, shadow: false, ...overrides };
}

export function limitRequest(r: RateLimitRule, keyValue: string = randomUUID()): LimitRequest {
  return { rule: r, keyValue };
}

export function unique(label: string): string {
  return `${label}-${randomUUID()}`;
}

export const silentLogger: Logger = pino({ level: 'silent' });

export interface RecordingDeps extends LimitsDeps {
  decisions: Array<{ rule: string; result: 'allowed' | 'limited' | 'shadow_limited' }>;
  storeErrors: number;
  lines: string[];
}

/** Deps whose metrics and log lines the test reads back. */
export function recordingDeps(): RecordingDeps {
  const lines: string[] = [];
  const deps: RecordingDeps = {
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    decisions: [],
    storeErrors: 0,
    lines,
    countRateLimit(rule, result) {
      deps.decisions.push({ rule, result });
    },
    countStoreError() {
      deps.storeErrors++;
    },
  };
  return deps;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Resolves 'still waiting' if `pending` has not settled after `ms`: tells a fail-fast answer from a hang. */
export async function settlesWithin<T>(pending: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  try {
    return await Promise.race([pending, guard]);
  } finally {
    clearTimeout(timer);
  }
}
