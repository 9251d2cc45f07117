// sprintf with Go's fmt verbs as OPA applies them to Rego values: %s %v %d %q %x %X %o %b %f %e %g %t %%,
// flags (- + 0 space #), width and precision. Composite values print in Rego syntax (`[1, "a"]`,
// `{"k": 1}`). A verb that does not fit its argument prints Go's `%!verb(type=value)` marker.
import { array, str } from './args.js';
import { RegoObject, RegoSet } from './values.js';
import { NumberText } from './exact.js';

/** A value as Rego prints it inside a composite (strings quoted) or at the top level (strings bare). */
export function regoText(v: unknown, quoted: boolean): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return quoted ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof NumberText) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => regoText(x, true)).join(', ')}]`;
  if (v instanceof RegoSet)
    return v.items.length === 0 ? 'set()' : `{${v.items.map((x) => regoText(x, true)).join(', ')}}`;
  if (v instanceof RegoObject)
    return `{${v.entries.map(([k, x]) => `${regoText(k, true)}: ${regoText(x, true)}`).join(', ')}}`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${JSON.stringify(k)}: ${regoText(x, true)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  return String(v);
}

interface Spec {
  minus: boolean;
  plus: boolean;
  zero: boolean;
  space: boolean;
  sharp: boolean;
  width: number | undefined;
  precision: number | undefined;
  verb: string;
}

function goType(v: unknown): string {
  if (typeof v === 'bigint') return isBigInt(v) ? '*big.Int' : 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return '<nil>';
  if (v instanceof RegoSet) return '*ast.set';
  return Array.isArray(v) ? 'ast.Array' : 'ast.Object';
}

function bad(spec: Spec, v: unknown): string {
  // big.Int formats itself, and marks a verb it does not take this way.
  if (isBigInt(v)) return `%!${spec.verb}(big.Int=${v})`;
  return `%!${spec.verb}(${goType(v)}=${regoText(v, false)})`;
}

function signed(body: string, negative: boolean, spec: Spec): string {
  if (negative) return `-${body}`;
  if (spec.plus) return `+${body}`;
  if (spec.space) return ` ${body}`;
  return body;
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const length = Array.from(text).length;
  if (length >= width) return text;
  const fill = width - length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(text) ? text.charAt(0) : '';
    return sign + '0'.repeat(fill) + text.slice(sign.length);
  }
  return ' '.repeat(fill) + text;
}

/** The shortest round-trip digits of a non-negative number, written without an exponent. */
function shortestFixed(abs: number): string {
  const text = String(abs);
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const digits = m[1]! + (m[2] ?? '');
  const exp = Number(m[3]);
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${digits}`;
  return digits.padEnd(exp + 1, '0');
}

function formatFloat(v: number, verb: string, precision: number | undefined): string {
  const abs = Math.abs(v);
  switch (verb) {
    case 'f':
    case 'F':
      // OPA formats numbers as big.Float, which prints %f without a precision in the fewest digits.
      if (precision === undefined) return shortestFixed(abs);
      return abs.toFixed(precision);
    case 'e':
    case 'E': {
      const text = abs.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      return verb === 'E' ? text.toUpperCase() : text;
    }
    default: {
      // %g: shortest representation, exponent for large/small magnitudes, as Go's strconv 'g' with -1.
      if (precision !== undefined) return String(Number(abs.toPrecision(Math.max(precision, 1))));
      const exp = abs === 0 ? 0 : Math.floor(Math.log10(abs));
      if (exp < -4 || exp >= 21) return abs.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
      return String(abs);
    }
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** OPA hands Go an int for integers within int64 and a *big.Int beyond. */
function isBigInt(v: unknown): v is bigint {
  return typeof v === 'bigint' && (v < INT64_MIN || v > INT64_MAX);
}

function formatOne(spec: Spec, v: unknown): string {
  switch (spec.verb) {
    case 'v':
    case 's':
      if (spec.verb === 's' && typeof v !== 'string' && spec.precision === undefined)
        return pad(regoText(v, false), spec, false);
      return pad(
        spec.precision !== undefined && typeof v === 'string'
          ? Array.from(v).slice(0, spec.precision).join('')
          : regoText(v, false),
        spec,
        false,
      );
    case 'q':
      if (typeof v !== 'string') return bad(spec, v);
      return pad(JSON.stringify(v), spec, false);
    case 't':
      if (typeof v !== 'boolean') return bad(spec, v);
      return pad(String(v), spec, false);
    case 'd':
    case 'b':
    case 'o':
    case 'x':
    case 'X': {
      if (typeof v === 'string' && (spec.verb === 'x' || spec.verb === 'X')) {
        const hex = Buffer.from(v, 'utf8').toString('hex');
        return pad(spec.verb === 'X' ? hex.toUpperCase() : hex, spec, false);
      }
      if (typeof v === 'bigint') {
        const base = { d: 10, b: 2, o: 8, x: 16, X: 16 }[spec.verb];
        let body = (v < 0n ? -v : v).toString(base);
        if (spec.verb === 'X') body = body.toUpperCase();
        if (spec.sharp && spec.verb === 'x') body = `0x${body}`;
        if (spec.sharp && spec.verb === 'X') body = `0X${body}`;
        if (spec.sharp && spec.verb === 'o') body = `0${body}`;
        return pad(signed(body, v < 0n, spec), spec, true);
      }
      if (typeof v !== 'number') return bad(spec, v);
      if (!Number.isInteger(v)) {
        if (spec.verb === 'x' || spec.verb === 'X') {
          return bad(spec, v);
        }
        return bad(spec, v);
      }
      const base = { d: 10, b: 2, o: 8, x: 16, X: 16 }[spec.verb];
      let body = Math.abs(v).toString(base);
      if (spec.verb === 'X') body = body.toUpperCase();
      if (spec.sharp && spec.verb === 'x') body = `0x${body}`;
      if (spec.sharp && spec.verb === 'X') body = `0X${body}`;
      if (spec.sharp && spec.verb === 'o') body = `0${body}`;
      return pad(signed(body, v < 0, spec), spec, true);
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (typeof v === 'bigint' && !isBigInt(v)) return formatOne(spec, Number(v)); // as an int within int64
      if (typeof v !== 'number') return bad(spec, v);
      return pad(signed(formatFloat(v, spec.verb, spec.precision), v < 0 || Object.is(v, -0), spec), spec, true);
    default:
      return `%!${spec.verb}(${goType(v)}=${regoText(v, false)})`;
  }
}

export function sprintf(format: unknown, values: unknown): string {
  const fmt = str('sprintf', format);
  const args = array('sprintf', values);
  let out = '';
  let argIndex = 0;
  const re = /%([-+ 0#]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/gy;
  let i = 0;
  while (i < fmt.length) {
    const pct = fmt.indexOf('%', i);
    if (pct < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, pct);
    re.lastIndex = pct;
    const m = re.exec(fmt);
    if (!m) {
      out += '%!(NOVERB)';
      i = pct + 1;
      continue;
    }
    i = re.lastIndex;
    const [, flags = '', width, precision, verb = ''] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const spec: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      zero: flags.includes('0'),
      space: flags.includes(' '),
      sharp: flags.includes('#'),
      width: width === undefined ? undefined : Number(width),
      precision: precision === undefined ? undefined : Number(precision || '0'),
      verb,
    };
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(spec, args[argIndex++]);
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args
      .slice(argIndex)
      .map((a) => `${goType(a)}=${regoText(a, false)}`)
      .join(', ')})`;
  }
  return out;
}

export const sprintfBuiltins = { sprintf };
