// JSON.parse keeps the last of two equal keys, so {"sub":"alice","sub":"admin"} means different things to
// different parsers. A JWT header or payload with a repeated key is refused instead (RFC 7515 §5.2 allows
// rejecting it).

/** Largest object/array nesting accepted; a JWT deeper than this is an attack, not an identity. */
export const MAX_JSON_DEPTH = 64;

export class DuplicateKeyError extends Error {
  constructor() {
    super('JSON object repeats a key');
    this.name = 'DuplicateKeyError';
  }
}

export class JsonTooDeepError extends Error {
  constructor() {
    super(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    this.name = 'JsonTooDeepError';
  }
}

/** Parses JSON text, throwing SyntaxError, DuplicateKeyError or JsonTooDeepError. */
export function parseJsonRejectingDuplicates(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // JSON.parse accepted the text, so the scanner below may assume valid JSON.
  assertNoDuplicateKeys(text);
  return value;
}

function skipWhitespace(text: string, index: number): number {
  let i = index;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** Index just past the string literal starting at `start` (which is a `"`). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  throw new SyntaxError('unterminated string');
}

interface Frame {
  /** Keys seen so far, decoded, when the frame is an object; null for an array. */
  keys: Set<string> | null;
}

function assertNoDuplicateKeys(text: string): void {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    i = skipWhitespace(text, i);
    if (i >= text.length) break;
    const c = text[i];
    if (c === '{' || c === '[') {
      if (stack.length >= MAX_JSON_DEPTH) throw new JsonTooDeepError();
      stack.push({ keys: c === '{' ? new Set() : null });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === '"') {
      const end = endOfString(text, i);
      const frame = stack[stack.length - 1];
      const afterString = skipWhitespace(text, end);
      // A string followed by ':' inside an object is a key; escapes are decoded so "\u0061" equals "a".
      if (frame?.keys && text[afterString] === ':') {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (frame.keys.has(key)) throw new DuplicateKeyError();
        frame.keys.add(key);
        i = afterString + 1;
      } else {
        i = end;
      }
    } else {
      // ',', ':', numbers, true/false/null: nothing to track.
      i++;
    }
  }
}
