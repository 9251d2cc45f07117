// README.md's `GET /metrics` row is the list users read to build dashboards and alerts: every metric the code
// registers must be on it (a new one would otherwise exist unseen), and every name on it must be registered
// (a renamed one would leave the list promising a series that never comes).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/telemetry/metrics.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The portcullis_* names in README's `GET /metrics` table row. */
function readmeMetrics(): Set<string> {
  const row = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .find((line) => line.startsWith('| `GET /metrics` |'));
  if (row === undefined) throw new Error('README.md has no `GET /metrics` row');
  return new Set(row.match(/portcullis_[a-z0-9_]+/g) ?? []);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/**
 * What the sidecar's registry holds (process metrics left out: README names them as a group), plus every metric
 * registered outside it under a literal name (the node:cluster primary's own, e.g. worker restarts).
 */
function registeredMetrics(): Set<string> {
  const names = new Set(
    createMetrics({ processMetrics: false })
      .registry.getMetricsAsArray()
      .map((m) => m.name),
  );
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\bname:\s*['"`](portcullis_[a-z0-9_]+)['"`]/g)) {
      names.add(match[1]!);
    }
  }
  return names;
}

describe("README's /metrics list", () => {
  const registered = registeredMetrics();
  const listed = readmeMetrics();

  it('finds the metrics of the registry and those registered elsewhere', () => {
    expect(registered).toContain('portcullis_checks_total');
    expect(registered).toContain('portcullis_worker_restarts_total');
  });

  it('names every registered metric', () => {
    expect([...registered].filter((name) => !listed.has(name))).toEqual([]);
  });

  it('names no metric that is not registered', () => {
    expect([...listed].filter((name) => !registered.has(name))).toEqual([]);
  });
});
