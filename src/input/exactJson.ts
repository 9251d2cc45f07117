// JSON for the policy input without rounding: the engine takes the input as JSON text, so a number from a
// request body reaches the policy as the digits the client sent (`9007199254740993` stays that number).
// Numbers a double holds exactly stay JS numbers; any other becomes a LosslessNumber carrying its text.
import { isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';
import { MAX_JSON_DEPTH } from './limits.js';

export type JsonParseOutcome = { ok: true; value: unknown } | { ok: false; error: 'too_deep' | 'invalid_json' };

/**
 * Parses a JSON document no deeper than `maxDepth` levels. Depth is measured first, in one pass, so a
 * hostile document never reaches the recursive parser. Duplicate keys keep the last value (as
 * JSON.parse and Go's decoder do); `__proto__` is an ordinary key.
 */
export function parseBoundedJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonParseOutcome {
  if (nestingDepth(text) > maxDepth) return { ok: false, error: 'too_deep' };
  try {
    const value = parse(text, undefined, {
      parseNumber: (digits: string) => (isSafeNumber(digits) ? Number(digits) : new LosslessNumber(digits)),
      onDuplicateKey: ({ newValue }) => newValue,
    });
    return { ok: true, value };
  } catch {
    return { ok: false, error: 'invalid_json' };
  }
}

/** Deepest `[`/`{` nesting outside strings; malformed text is left to the parser to refuse. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The input as the JSON text the engine loads: LosslessNumber and BigInt values as their exact digits. */
export function stringifyInput(input: unknown): string {
  return stringify(input) ?? 'null';
}
