// Writes the builtin table of the policy authors' guide (policies/README.md) from the compiler's catalog:
// `npm run builtins:guide` after a builtin is added or its catalog entry changes (a test fails until then).
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinTable } from '@portcullis/rego-wasm';

const guidePath = new URL('../policies/README.md', import.meta.url);
const guide = readFileSync(guidePath, 'utf8');
const section = /(<!-- builtins:start -->\n)[\s\S]*?(\n<!-- builtins:end -->)/;
if (!section.test(guide)) throw new Error('policies/README.md has no builtins:start / builtins:end markers');
writeFileSync(
  guidePath,
  guide.replace(section, (_all, start: string, end: string) => `${start}${builtinTable()}${end}`),
);
