// `policy check --strict`: the deprecated-builtin check reads the catalog's `deprecated` flag, so a builtin
// marked there is reported and nothing else is.
import { describe, expect, it } from 'vitest';
import { CATALOG, checkRego } from '../../src/index.js';

function deprecatedFindings(call: string): string[] {
  const source = `package test\n\np := ${call}\n`;
  return checkRego([{ path: 'p.rego', source }], { strict: true })
    .filter((problem) => problem.construct === 'deprecated builtin')
    .map((problem) => problem.detail);
}

function callOf(name: string, arity: number): string {
  return `${name}(${Array.from({ length: arity }, () => '[1]').join(', ')})`;
}

describe('deprecated builtins under --strict', () => {
  const deprecated = Object.entries(CATALOG).filter(([, spec]) => spec.deprecated === true);

  it('the catalog marks the builtins OPA deprecates', () => {
    expect(deprecated.map(([name]) => name).sort()).toEqual(
      expect.arrayContaining(['all', 'any', 'cast_array', 'net.cidr_overlap', 're_match', 'set_diff']),
    );
  });

  it.each(deprecated)('%s is reported where it is called', (name, spec) => {
    const findings = deprecatedFindings(callOf(name, spec.arity));
    expect(findings).toEqual([`${name} is deprecated in OPA; use its replacement`]);
  });

  it('a builtin the catalog does not mark is not reported', () => {
    const current = Object.entries(CATALOG).filter(
      ([, spec]) => spec.deprecated !== true && spec.lowering !== 'host' && spec.arity > 0,
    );
    expect(current.length).toBeGreaterThan(50);
    for (const [name, spec] of current) expect(deprecatedFindings(callOf(name, spec.arity)), name).toEqual([]);
  });
});
