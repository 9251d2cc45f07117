// The bundle reader checks `/.manifest` by hand (bundle.ts says why). This keeps it to what the zod schema it
// replaced refused: for each manifest below, the reader refuses exactly when that schema does, naming the same
// first field with the same message; a manifest the schema accepts passes the check.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BundleError, bundleFromFiles } from '../src/bundle.js';

const replacedSchema = z.looseObject({
  revision: z.string().optional(),
  roots: z.array(z.string()).optional(),
  wasm: z.array(z.looseObject({ entrypoint: z.string(), module: z.string() })).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const VALUES = ['"s"', '7', '0.5', 'true', 'false', 'null', '[]', '{}', '["a"]', '[1]', '{"a":1}'];
const WASM_ENTRIES = [
  '{"entrypoint":"a/b","module":"/policy.wasm"}',
  '{"entrypoint":"a","module":"/policy.wasm","extra":[1]}',
  '{"entrypoint":1,"module":"/policy.wasm"}',
  '{"entrypoint":"a","module":null}',
  '{"entrypoint":"a"}',
  '{}',
  '[]',
  '"x"',
  'null',
];

/** Every field alone with every kind of value, wasm entries of every shape, and a few with several faults. */
function manifests(): string[] {
  const texts = ['{}', '[]', 'null', '7', '"x"', 'true', '{"unknown":{"kept":true}}'];
  for (const field of ['revision', 'roots', 'wasm', 'metadata']) {
    for (const value of VALUES) texts.push(`{"${field}":${value}}`);
  }
  for (const entry of WASM_ENTRIES) {
    texts.push(`{"wasm":[${entry}]}`, `{"wasm":[${WASM_ENTRIES[0]},${entry}]}`);
  }
  texts.push(
    '{"roots":["a",2,"c"]}',
    '{"roots":["a",""],"revision":"r"}',
    '{"revision":1,"roots":2,"wasm":3,"metadata":4}',
    '{"metadata":{"a":null},"wasm":[{"entrypoint":2,"module":3}]}',
    '{"roots":[true],"wasm":{}}',
  );
  return texts;
}

/** What the reader says about the manifest: its `.manifest: field ...` refusal, or null when it got past it. */
function readerRefusal(text: string): string | null {
  try {
    bundleFromFiles(new Map([['.manifest', new TextEncoder().encode(text)]]));
    return null;
  } catch (error) {
    if (error instanceof BundleError && error.message.startsWith('.manifest: field ')) return error.message;
    return null;
  }
}

describe('the manifest check', () => {
  it.each(manifests())('refuses %s exactly when the zod schema did', (text) => {
    const parsed = replacedSchema.safeParse(JSON.parse(text));
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    const expected =
      issue === undefined ? null : `.manifest: field ${issue.path.join('.') || '(root)'}: ${issue.message}`;
    expect(readerRefusal(text)).toBe(expected);
  });
});
