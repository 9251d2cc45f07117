// envoy/observability/: the Grafana dashboard and the Prometheus alert rules. Every PromQL expression in them
// must parse (Prometheus's own Lezer grammar, the one its UI uses), and every portcullis_* metric they read must
// be exported by a real sidecar's /metrics: a renamed metric would otherwise leave an empty panel or an alert
// that can never fire, silently.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkRequest } from '../helpers/checkClient.js';
import { makeTempDir, startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { createTestIssuer } from '../helpers/tokens.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = path.join(repoRoot, 'envoy', 'observability');
const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (
  parseYaml(fs.readFileSync(path.join(dir, 'prometheus-rules.yaml'), 'utf8')) as {
    groups: Array<{ name: string; rules: Rule[] }>;
  }
).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(fs.readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8')) as {
  panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ definition?: string }> };
  annotations: { list: Array<{ expr?: string }> };
};

/** Every PromQL expression of both files, with where it comes from. */
function expressions(): Array<{ where: string; expr: string }> {
  return [
    ...rules.map((r) => ({ where: `alert ${r.alert ?? r.expr}`, expr: r.expr })),
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...dashboard.annotations.list.flatMap((a) => (a.expr === undefined ? [] : [{ where: 'annotation', expr: a.expr }])),
  ];
}

/** Grafana's variables are not PromQL: replace them with what Grafana substitutes. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, '$1');
}

/** Parses one expression; the metric names its selectors read, or the offset of a syntax error. */
export function selectedMetrics(expr: string): { names: string[]; errorAt: number | null } {
  const text = withoutGrafanaVariables(expr);
  const names: string[] = [];
  let errorAt: number | null = null;
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError && errorAt === null) errorAt = node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(text.slice(node.from, node.to));
    },
  });
  return { names, errorAt };
}

/** `# TYPE name type` lines of a Prometheus text exposition. */
function exportedTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** A referenced name is exported when it is a metric, or a histogram's _bucket/_sum/_count series. */
function isExported(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && types.get(base) === 'histogram';
}

describe('the PromQL in envoy/observability', () => {
  it('finds metric names and refuses broken expressions (the checks below can fail)', () => {
    expect(selectedMetrics('sum by (le) (rate(portcullis_x_bucket{a=~"$instance"}[$__rate_interval]))')).toEqual({
      names: ['portcullis_x_bucket'],
      errorAt: null,
    });
    expect(selectedMetrics('sum(rate(portcullis_x[5m]) / ').errorAt).not.toBeNull();
    const types = new Map([
      ['portcullis_h', 'histogram'],
      ['portcullis_c', 'counter'],
    ]);
    expect(isExported('portcullis_h_bucket', types)).toBe(true);
    expect(isExported('portcullis_c_bucket', types)).toBe(false);
  });

  it.each(expressions().map((e) => [e.where, e.expr]))('%s parses: %s', (_where, expr) => {
    const { names, errorAt } = selectedMetrics(expr);
    expect(errorAt, `syntax error at offset ${String(errorAt)}`).toBeNull();
    expect(names.length).toBeGreaterThan(0);
  });

  it('the rules are alerting rules with a severity and a summary, and cover what operators page on', () => {
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Portcullis[A-Z]\w+$/);
      expect(['critical', 'warning']).toContain(rule.labels?.['severity']);
      expect(rule.annotations?.['summary']).toBeTruthy();
    }
    const read = (alert: string) => selectedMetrics(rules.find((r) => r.alert === alert)!.expr).names;
    expect(read('PortcullisHigh503Rate')).toContain('portcullis_checks_total');
    expect(read('PortcullisStoreDown')).toEqual(['portcullis_store_up']);
    expect(read('PortcullisJwksStale')).toContain('portcullis_jwks_last_refresh_timestamp_seconds');
    expect(read('PortcullisPolicyReloadFailures')).toEqual(['portcullis_policy_reloads_total']);
  });

  it('the dashboard has the panels its README promises', () => {
    const reads = (title: string) =>
      dashboard.panels
        .filter((p) => p.title === title)
        .flatMap((p) => (p.targets ?? []).flatMap((t) => selectedMetrics(t.expr).names));
    expect(reads('Decisions by reason')).toContain('portcullis_checks_total');
    expect(reads('Check latency percentiles')).toContain('portcullis_check_duration_seconds_bucket');
    expect(reads('Store errors')).toContain('portcullis_store_errors_total');
    expect(reads('Policy reloads')).toContain('portcullis_policy_reloads_total');
    expect(reads('Policy revision in force')).toContain('portcullis_policy_info');
    expect(reads('JWKS age by provider')).toContain('portcullis_jwks_last_refresh_timestamp_seconds');
    expect(reads('Rate-limit refusals by rule')).toContain('portcullis_ratelimit_decisions_total');
  });
});

describe('a real sidecar exports every metric the dashboard and the rules read', () => {
  let t: TestSidecar;
  beforeAll(async () => {
    const issuer = await createTestIssuer();
    const jwksFile = issuer.writeJwksFile(makeTempDir());
    t = await startTestSidecar({
      files: { 'policies/authz.rego': ALLOW_ALL },
      config: {
        jwt: { providers: [issuer.provider(jwksFile)] },
        rateLimits: [{ name: 'per-user', key: ['jwt.sub'], limit: 1, periodSeconds: 60 }],
      },
    });
    // Checks that fill the labelled series: allowed, rate limited, missing token.
    const headers = { authorization: `Bearer ${await issuer.sign({ sub: 'obs' })}` };
    await t.client.check(checkRequest({ headers }));
    await t.client.check(checkRequest({ headers }));
    await t.client.check(checkRequest({}));
  });
  afterAll(async () => t?.close());

  it('every portcullis_* name in both files is on /metrics', async () => {
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    const types = exportedTypes(text);
    const referenced = new Set(expressions().flatMap((e) => selectedMetrics(e.expr).names));
    // Names in Grafana's variable queries and in descriptions are read by people and by Grafana too.
    const files =
      fs.readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8') +
      fs.readFileSync(path.join(dir, 'prometheus-rules.yaml'), 'utf8');
    for (const m of files.matchAll(/\bportcullis_[a-z0-9_]+/g)) referenced.add(m[0]);
    expect(referenced.size).toBeGreaterThan(10);
    const missing = [...referenced].filter((name) => name.startsWith('portcullis_') && !isExported(name, types));
    expect(missing).toEqual([]);
    // Samples, not only declarations, for the series the checks above produced.
    expect(text).toMatch(/portcullis_checks_total\{result="denied",reason="rate_limited"\} 1/);
    expect(text).toMatch(/portcullis_ratelimit_decisions_total\{rule="per-user",result="limited"\} 1/);
    expect(text).toMatch(/portcullis_check_duration_seconds_bucket\{le="\+Inf"\} 3/);
    expect(text).toMatch(/portcullis_jwks_last_refresh_timestamp_seconds\{provider="[^"]+"\} [1-9]/);
  });
});
