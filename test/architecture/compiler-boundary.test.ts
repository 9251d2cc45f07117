// The Rego compiler is a package (packages/rego-wasm) with a public surface: its package.json `exports`.
// Every file outside the package reaches it only through those entry points, never through a path into its
// src/ or dist/, so the package can change inside without breaking the sidecar.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE_DIR = join(ROOT, 'packages', 'rego-wasm');
const PACKAGE = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
};
const ENTRY_POINTS = new Set(
  Object.keys(PACKAGE.exports).map((key) => (key === '.' ? PACKAGE.name : `${PACKAGE.name}/${key.slice(2)}`)),
);
const SCANNED = ['src', 'test', 'bench', 'scripts', 'bin'];
const SOURCE_FILE = /\.(ts|mts|js|mjs|cjs)$/;

function files(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : files(full);
    return SOURCE_FILE.test(entry.name) ? [full] : [];
  });
}

/** Module specifiers of static imports, re-exports and dynamic import() calls with a string literal. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm))
    found.push(match[1]!);
  return found;
}

function violation(file: string, specifier: string): string | null {
  if (specifier === PACKAGE.name || specifier.startsWith(`${PACKAGE.name}/`)) {
    return ENTRY_POINTS.has(specifier)
      ? null
      : `${specifier} is not one of the package's exports (${[...ENTRY_POINTS].join(', ')})`;
  }
  if (!specifier.startsWith('.')) return null;
  const target = resolve(file, '..', specifier);
  return target === PACKAGE_DIR || target.startsWith(PACKAGE_DIR + sep)
    ? `${specifier} reaches into the compiler package by path`
    : null;
}

describe('the compiler package boundary', () => {
  it('reads import specifiers the way the files write them', () => {
    expect(
      specifiers(
        "import { a } from '../x.js';\nexport * from \"./y.js\";\nconst m = await import('@p/q');\nimport 'side';",
      ),
    ).toEqual(['../x.js', './y.js', '@p/q', 'side']);
  });

  it('is crossed only through the exports map', () => {
    const scanned = SCANNED.flatMap((dir) => files(join(ROOT, dir)));
    expect(scanned.length).toBeGreaterThan(50);
    const violations = scanned.flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .map((specifier) => violation(file, specifier))
        .filter((problem): problem is string => problem !== null)
        .map((problem) => `${relative(ROOT, file)}: ${problem}`),
    );
    expect(violations).toEqual([]);
  });

  it('would catch a path into the package or an unexported subpath', () => {
    expect(violation(join(ROOT, 'src/policy/source.ts'), '../../packages/rego-wasm/src/parser.js')).not.toBeNull();
    expect(violation(join(ROOT, 'src/policy/source.ts'), '@portcullis/rego-wasm/dist/parser.js')).not.toBeNull();
    expect(violation(join(ROOT, 'src/policy/source.ts'), '@portcullis/rego-wasm/bundle')).toBeNull();
  });
});
