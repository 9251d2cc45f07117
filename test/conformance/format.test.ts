// The formatter over every module of the Rego conformance suites (about 900 modules written by others, in
// every style): each one that parses formats to a module with the same AST (formatModule verifies that and
// throws otherwise), and formatting the result again changes nothing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatModule, parseModule } from '@portcullis/rego-wasm';
import { SUITE_DIR } from './run.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return name.endsWith('.yaml') ? [full] : [];
  });
}

function modules(): Array<{ label: string; source: string }> {
  return yamlFiles(SUITE_DIR).flatMap((file) => {
    let doc: { cases?: Array<{ note?: string; modules?: unknown[] }> } | undefined;
    try {
      doc = parse(readFileSync(file, 'utf8')) as typeof doc;
    } catch {
      return [];
    }
    return (doc?.cases ?? []).flatMap((c) =>
      (c.modules ?? []).flatMap((source, i) =>
        typeof source === 'string' ? [{ label: `${file}#${c.note ?? ''}#${i}`, source }] : [],
      ),
    );
  });
}

const present = existsSync(SUITE_DIR);

describe.skipIf(!present)(
  present
    ? 'policy fmt over the conformance modules'
    : `policy fmt over the conformance modules — SKIPPED: no suites at ${SUITE_DIR}`,
  () => {
    it('formats every module that parses without changing its meaning, idempotently', () => {
      const problems: string[] = [];
      let formatted = 0;
      for (const { label, source } of modules()) {
        try {
          parseModule(label, source);
        } catch {
          continue; // outside the parser's subset: nothing to format
        }
        try {
          const once = formatModule(label, source);
          if (formatModule(label, once) !== once) problems.push(`${label}: not idempotent`);
          formatted++;
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      expect(problems).toEqual([]);
      expect(formatted).toBeGreaterThan(500);
    }, 120_000);
  },
);
