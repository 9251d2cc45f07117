// envoyproxy/ratelimit's rule files: what loads, what is refused (with the file named), how descriptors match.
import { describe, expect, it } from 'vitest';
import { buildRules, parseRuleFile, RuleFileError } from '../../src/limits/service-rules.js';
import { findLimit, planDescriptors } from '../../src/limits/service-match.js';

const entries = (...pairs: Array<[string, string]>) => pairs.map(([key, value]) => ({ key, value }));

describe('rule files', () => {
  it('loads nested descriptors with their limits, units and flags', () => {
    const { domain, root } = parseRuleFile(
      `domain: messaging
descriptors:
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        shadow_mode: true
        rate_limit: { unit: day, requests_per_unit: 5, name: marketing }
`,
      'm.yaml',
    );
    expect(domain).toBe('messaging');
    const limit = findLimit(root, entries(['message_type', 'marketing'], ['to_number', '206']))!.limit;
    expect(limit).toMatchObject({
      id: 'messaging.message_type_marketing.to_number',
      unit: 'DAY',
      periodSeconds: 86_400,
      requestsPerUnit: 5,
      shadow: true,
      name: 'marketing',
    });
  });

  it.each([
    ['an unknown key', 'domain: d\ndescriptors:\n  - key: a\n    rate_limt: {}\n', /rate_limt/],
    ['an empty domain', 'domain: ""\n', /empty domain/],
    ['an empty key', 'domain: d\ndescriptors:\n  - key: ""\n', /empty key/],
    [
      'a duplicate composite key',
      'domain: d\ndescriptors:\n  - key: a\n    value: b\n  - key: a\n    value: b\n',
      /duplicate descriptor composite key 'd.a_b'/,
    ],
    [
      'a unit with unlimited',
      'domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unlimited: true, unit: second }\n',
      /unlimited/,
    ],
    [
      'an unknown unit',
      'domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n',
      /invalid rate limit unit 'fortnight'/,
    ],
    [
      'an empty replaces entry',
      'domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: 1, replaces: [{}] }\n',
      /empty replaces/,
    ],
    [
      'a rule replacing itself',
      'domain: d\ndescriptors:\n  - key: a\n    rate_limit: { name: x, unit: second, requests_per_unit: 1, replaces: [{ name: x }] }\n',
      /same descriptor/,
    ],
    ['invalid YAML', 'domain: [\n', /invalid YAML/],
  ])('refuses %s, naming the file', (_what, text, message) => {
    expect(() => parseRuleFile(text, 'bad.yaml')).toThrow(RuleFileError);
    expect(() => parseRuleFile(text, 'bad.yaml')).toThrow(message);
    expect(() => parseRuleFile(text, 'bad.yaml')).toThrow(/^bad.yaml: /);
  });

  it('refuses two files with one domain', () => {
    expect(() =>
      buildRules([
        { file: 'a.yaml', text: 'domain: d\n' },
        { file: 'b.yaml', text: 'domain: d\n' },
      ]),
    ).toThrow(/duplicate domain 'd'/);
  });

  it('prefers key_value over a wildcard over key alone, at every level', () => {
    const { root } = parseRuleFile(
      `domain: d
descriptors:
  - key: ip
    rate_limit: { unit: second, requests_per_unit: 10 }
  - key: ip
    value: 50.0.0.5
    rate_limit: { unit: second, requests_per_unit: 0 }
  - key: ip
    value: 10.*
    rate_limit: { unit: second, requests_per_unit: 100 }
`,
      'd.yaml',
    );
    expect(findLimit(root, entries(['ip', '50.0.0.5']))!.limit.requestsPerUnit).toBe(0);
    expect(findLimit(root, entries(['ip', '10.1.2.3']))!.limit.requestsPerUnit).toBe(100);
    expect(findLimit(root, entries(['ip', '192.0.2.1']))!.limit.requestsPerUnit).toBe(10);
  });

  it('names a key-only match with its value when detailed_metric is set', () => {
    const { root } = parseRuleFile(
      'domain: d\ndescriptors:\n  - key: k\n    detailed_metric: true\n    rate_limit: { unit: minute, requests_per_unit: 1 }\n',
      'd.yaml',
    );
    expect(findLimit(root, entries(['k', 'v1']))!.name).toBe('d.k_v1');
  });

  it('takes a descriptor limit override from Envoy instead of the file', () => {
    const rules = buildRules([
      {
        file: 'd.yaml',
        text: 'domain: d\ndescriptors:\n  - key: k\n    rate_limit: { unit: minute, requests_per_unit: 1 }\n',
      },
    ]);
    const [plan] = planDescriptors(rules, 'd', [
      { entries: entries(['k', 'v']), limit: { requestsPerUnit: 42, unit: 'HOUR' } },
    ]);
    expect(plan).toMatchObject({ kind: 'limited', limit: { requestsPerUnit: 42, unit: 'HOUR', periodSeconds: 3600 } });
  });
});
