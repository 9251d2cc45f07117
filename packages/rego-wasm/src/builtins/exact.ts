// Lossless JSON for builtins whose numbers may exceed 2^53 (nanosecond timestamps, byte counts).
// The SDK moves builtin arguments and results through JSON.parse / JSON.stringify, which rounds such
// integers. For modules Portcullis emits, these builtins are listed under an exact wire name: the module
// passes each argument as its JSON text (a string) and parses the JSON text it gets back, so integers
// cross the boundary as decimal digits. Here integers beyond 2^53 become BigInt and BigInt goes back as
// digits.
import { BuiltinArgError, NotReproducedError } from './args.js';
import { bigIntOperandOf } from './bigFloat.js';

/** A JSON number beyond what a double holds (2e308, 1e-400), kept as its text; builtins that compute refuse it. */
export class NumberText {
  constructor(readonly text: string) {}
}

export interface ExactJsonOptions {
  /**
   * Keep every number not written as a plain integer (`1.0`, `1e2`, `0.1`, `-0`) as NumberText, for builtins
   * whose answer depends on how a number is written: OPA keeps a number's text (json.patch refuses `1.0` as an
   * array index, json.marshal_with_options writes `1.0` back as `1.0`).
   */
  readonly numberText?: boolean;
}

/** JSON.parse, except that integers outside ±(2^53-1) become BigInt (exact) and out-of-range numbers NumberText. */
export function parseExactJson(text: string, options: ExactJsonOptions = {}): unknown {
  let pos = 0;
  const fail = (): never => {
    throw new BuiltinArgError('portcullis.exact', `not JSON at offset ${pos}`);
  };
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos]!)) pos++;
  };
  const value = (): unknown => {
    ws();
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      const out: Record<string, unknown> = {};
      ws();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      for (;;) {
        ws();
        const key = value();
        if (typeof key !== 'string') fail();
        ws();
        if (text[pos++] !== ':') fail();
        // defineProperty: a key named __proto__ is data, never the object's prototype.
        Object.defineProperty(out, key as string, {
          value: value(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        const sep = text[pos++];
        if (sep === '}') return out;
        if (sep !== ',') fail();
      }
    }
    if (ch === '[') {
      pos++;
      const out: unknown[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        const sep = text[pos++];
        if (sep === ']') return out;
        if (sep !== ',') fail();
      }
    }
    if (ch === '"') {
      const m = /"(?:[^"\\\u0000-\u001f]|\\.)*"/y;
      m.lastIndex = pos;
      const hit = m.exec(text) ?? fail();
      pos += hit[0].length;
      return JSON.parse(hit[0]) as string;
    }
    const lit = /-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;
    lit.lastIndex = pos;
    const hit = lit.exec(text) ?? fail();
    pos += hit[0].length;
    if (options.numberText === true && /^-?\d/.test(hit[0]) && !/^(?:0|-?[1-9]\d*)$/.test(hit[0])) {
      return new NumberText(hit[0]);
    }
    const parsed = JSON.parse(hit[0]) as unknown;
    // A number no double can hold (2e308, 1e-400) keeps its text: the nearest double would be another number.
    if (
      typeof parsed === 'number' &&
      (!Number.isFinite(parsed) || (parsed === 0 && /[1-9]/.test(hit[0].split(/[eE]/)[0]!)))
    ) {
      return new NumberText(hit[0]);
    }
    if (typeof parsed === 'number' && Math.abs(parsed) > Number.MAX_SAFE_INTEGER)
      return integralBigInt(hit[0]) ?? parsed;
    return parsed;
  };
  const result = value();
  ws();
  if (pos !== text.length) fail();
  return result;
}

/** The exact value of a JSON number text when it is an integer (`1.5e18` too), else undefined. */
function integralBigInt(text: string): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = m;
  let digits = `${whole}${fraction}`;
  const shift = Number(exponent) - fraction.length;
  if (shift >= 0) {
    if (shift > 400) return undefined;
    digits += '0'.repeat(shift);
  } else {
    const dropped = digits.slice(shift);
    if (/[1-9]/.test(dropped)) return undefined;
    digits = digits.slice(0, shift) || '0';
  }
  return BigInt(`${sign}${digits}`);
}

/** JSON.stringify with BigInt written as its digits. */
export function stringifyExactJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof NumberText) return v.text;
  if (Array.isArray(v)) return `[${v.map(stringifyExactJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringifyExactJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** For OPA-built bundles, which take JS numbers back: BigInt becomes the nearest double. */
export function toJsNumbers(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJsNumbers);
  // Objects too: a certificate's serial number or RSA modulus sits inside one.
  if (typeof v === 'object' && v !== null && !(v instanceof NumberText)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsNumbers(x)]));
  }
  return v;
}

/** An integer argument (number or BigInt) as BigInt; fractions and non-numbers are errors. */
export function bigIntArg(builtin: string, v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  // A whole number written otherwise (1.7e18, 5.0), which OPA's NumberToFloat + Int64 takes as exact.
  const whole = v instanceof NumberText ? wholeNumberText(v.text) : undefined;
  if (whole !== undefined) return whole;
  throw new BuiltinArgError(builtin, `expected an integer, got ${typeof v === 'number' ? String(v) : typeof v}`);
}

/**
 * OPA's IntOperand: a number written as an integer (`1.0` and `1e0` are not: it parses the text), within
 * int64. Reached with the argument's NumberText when the builtin takes number texts (catalog.ts).
 */
export function int64Operand(builtin: string, v: unknown): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(safeDouble(builtin, v));
  else if (v instanceof NumberText && /^-?\d+$/.test(v.text)) n = BigInt(v.text);
  else throw new BuiltinArgError(builtin, 'operand must be an integer number');
  if (n < INT64_MIN || n > INT64_MAX) throw new BuiltinArgError(builtin, 'operand must fit 64 bits');
  return n;
}

/**
 * A whole double as an operand: only where it is exact. Beyond 2^53 a double stands for many integers (the
 * SDK's JSON.parse rounded the text it came from, in bundles built by `opa build`), so the call is refused
 * rather than answered for a neighbour of the number the policy holds.
 */
function safeDouble(builtin: string, v: number): number {
  if (!Number.isSafeInteger(v)) {
    throw new NotReproducedError(
      builtin,
      `${v} arrived as a double beyond 2^53, which no longer tells which integer it was`,
    );
  }
  return v;
}

/**
 * OPA's BigIntOperand: any number whose value, read as a big.Float with a 64-bit mantissa, is whole (`2.0`,
 * `1e3`; `1.00000000000000001` is not), rounded to that mantissa as OPA reads it (bigFloat.ts). BigInt and
 * NumberText are exact texts from the builtin wire; a double only up to 2^53.
 */
export function bigIntOperand(builtin: string, v: unknown): bigint {
  let text: string;
  if (typeof v === 'bigint') text = v.toString();
  else if (v instanceof NumberText) text = v.text;
  else if (typeof v === 'number' && Number.isInteger(v)) return BigInt(safeDouble(builtin, v));
  else throw new BuiltinArgError(builtin, `expected an integer, got ${typeof v === 'number' ? String(v) : typeof v}`);
  const n = bigIntOperandOf(text);
  if (n === 'huge') throw new NotReproducedError(builtin, `${text} is too large an operand to build`);
  if (n === undefined || n === 'fraction') throw new BuiltinArgError(builtin, `expected an integer, got ${text}`);
  return n;
}

/**
 * The integer a decimal text stands for (`1.7e18`, `5.0`, `-0`), or undefined when it is not whole. Exponents
 * beyond 40 are not expanded: such a number is far outside every range these builtins take.
 */
function wholeNumberText(text: string): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const fraction = m[3] ?? '';
  const exponent = Number(m[4] ?? '0') - fraction.length;
  if (exponent > 40) return undefined;
  const digits = BigInt(`${m[2]}${fraction}`);
  // More places to drop than there are digits: whole only when zero (and 10^-exponent is never built).
  if (-exponent > m[2]!.length + fraction.length) return digits === 0n ? 0n : undefined;
  let value: bigint;
  if (exponent >= 0) value = digits * 10n ** BigInt(exponent);
  else {
    const scale = 10n ** BigInt(-exponent);
    if (digits % scale !== 0n) return undefined;
    value = digits / scale;
  }
  return m[1] === '-' ? -value : value;
}

/** A BigInt result as a plain number when that is exact, so JSON output stays ordinary. */
export function exactInt(v: bigint): bigint | number {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;

/** Any Rego number as JavaScript holds it: a double, a BigInt (exact integer) or a NumberText (exact text). */
export type RegoNumber = number | bigint | NumberText;

export function isRegoNumber(v: unknown): v is RegoNumber {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof NumberText;
}

/**
 * A number as digits × 10^exponent with no trailing zero in the digits (zero is [0n, 0]): two numbers are
 * equal exactly when these are, whatever their spelling (`1`, `1.0`, `10e-1`). undefined for NaN/infinity.
 */
export function decimalOf(v: RegoNumber): readonly [bigint, number] | undefined {
  if (typeof v === 'bigint') return normalizeDecimal(v, 0);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return normalizeDecimal(BigInt(v), 0);
  // A double's shortest round-trip text is the decimal the runtime wrote for it.
  const text = typeof v === 'number' ? String(v) : v.text;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = m;
  return normalizeDecimal(BigInt(`${sign}${whole}${fraction}`), Number(exponent) - fraction.length);
}

function normalizeDecimal(digits: bigint, exponent: number): readonly [bigint, number] {
  if (digits === 0n) return [0n, 0];
  while (digits % 10n === 0n) {
    digits /= 10n;
    exponent++;
  }
  return [digits, exponent];
}

/** Rego number equality, exact for every representation (1 == 1.0 == 1e0; 0.1 != 0.10000000000000001). */
export function numbersEqual(a: RegoNumber, b: RegoNumber): boolean {
  if (typeof a !== 'object' && typeof b !== 'object') return a == b;
  const x = decimalOf(a);
  const y = decimalOf(b);
  return x !== undefined && y !== undefined && x[0] === y[0] && x[1] === y[1];
}
