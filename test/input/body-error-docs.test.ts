// The `body_error` codes are a stable interface policies branch on: README.md's "Policy input" list and
// policies/README.md's table must both name exactly the codes the input builder can produce.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BODY_ERROR_CODES } from '../../src/input/bodyErrorCodes.js';

const read = (path: string): string => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
const codes = [...BODY_ERROR_CODES].sort();

/** The codes in README's `body_error` (`null`, or why `parsed_body` is `null`: `a`, `b`, ...) list. */
function readmeCodes(): string[] {
  const text = read('README.md').replace(/\s+/g, ' ');
  const list = /`body_error` \(`null`, or why `parsed_body` is `null`: ([^)]*)\)/.exec(text)?.[1];
  if (list === undefined) throw new Error("README.md's body_error list was not found");
  return [...list.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).sort();
}

/** The first column of policies/README.md's `body_error` codes table. */
function policiesReadmeCodes(): string[] {
  const text = read('policies/README.md');
  const start = text.indexOf('`body_error` codes (stable');
  if (start < 0) throw new Error("policies/README.md's body_error table was not found");
  const table = text.slice(start).split('\n\n')[1] ?? '';
  return [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!).sort();
}

describe('the body_error codes in the docs', () => {
  it('README.md lists every code, and no other', () => {
    expect(readmeCodes()).toEqual(codes);
  });

  it('policies/README.md tables every code, and no other', () => {
    expect(policiesReadmeCodes()).toEqual(codes);
  });
});
