// JSON for the policy input without rounding: the engine takes the input as JSON text, so a number from a
// request body reaches the policy as the digits the client sent (`9007199254740993` stays that number).
// Numbers a double holds exactly stay JS numbers; any other becomes an ExactNumber carrying its text.
// Both directions take the native JSON path unless such a number is present (it is several times faster).
import { isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';
import { MAX_JSON_DEPTH } from './limits.js';

/** Set by ExactNumber.toJSON while stringifyInput tries the native stringify (synchronous, so no race). */
let sawExactNumber = false;

/**
 * A number a double cannot hold exactly, kept as its JSON text. Any other JSON.stringify (a log line) gets
 * the nearest double; stringifyInput notices and writes the exact digits instead.
 */
export class ExactNumber extends LosslessNumber {
  toJSON(): number {
    sawExactNumber = true;
    return Number(this.value);
  }
}

export type JsonParseOutcome = { ok: true; value: unknown } | { ok: false; error: 'too_deep' | 'invalid_json' };

/**
 * Parses a JSON document no deeper than `maxDepth` levels. Depth is measured first, in one pass, so a
 * hostile document never reaches a recursive parser. Duplicate keys keep the last value (as JSON.parse and
 * Go's decoder do); `__proto__` is an ordinary key.
 */
export function parseBoundedJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonParseOutcome {
  const scan = scanJson(text);
  if (scan.depth > maxDepth) return { ok: false, error: 'too_deep' };
  try {
    if (scan.plainNumbers) return { ok: true, value: JSON.parse(text) as unknown };
    const value = parse(text, undefined, {
      parseNumber: (digits: string) => (isSafeNumber(digits) ? Number(digits) : new ExactNumber(digits)),
      onDuplicateKey: ({ newValue }) => newValue,
    });
    return { ok: true, value };
  } catch {
    return { ok: false, error: 'invalid_json' };
  }
}

/**
 * One pass over the text: the deepest `[`/`{` nesting outside strings, and whether every number literal is
 * one JSON.parse reads exactly (at most 15 significant digits, a modest exponent). Malformed text is left
 * to the parser to refuse.
 */
export function scanJson(text: string): { depth: number; plainNumbers: boolean } {
  let depth = 0;
  let deepest = 0;
  let plainNumbers = true;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      if (plainNumbers && !isPlainNumber(text.slice(i, end))) plainNumbers = false;
      i = end - 1;
    }
  }
  return { depth: deepest, plainNumbers };
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

const PLAIN_NUMBER = /^-?(\d+)(?:\.(\d+))?(?:[eE][+-]?\d+)?$/;

/**
 * A literal JSON.parse then JSON.stringify keep numerically equal: at most 15 significant digits (two such
 * decimals never share a double, so the shortest form JS writes is the same number) and a magnitude in
 * the normal range of doubles (no overflow to Infinity, no precision lost below 1e-300).
 */
function isPlainNumber(literal: string): boolean {
  const m = PLAIN_NUMBER.exec(literal);
  if (m === null) return false;
  const significant = `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '');
  const magnitude = Math.abs(Number(literal));
  return significant.length <= 15 && (magnitude === 0 || (magnitude >= 1e-300 && magnitude <= 1e300));
}

/** The input as the JSON text the engine loads: ExactNumber values as their exact digits. */
export function stringifyInput(input: unknown): string {
  sawExactNumber = false;
  const text = JSON.stringify(input) ?? 'null';
  return sawExactNumber ? (stringify(input) ?? 'null') : text;
}
