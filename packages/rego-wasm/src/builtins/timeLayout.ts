// Go's time.Parse(layout, value), as time.parse_ns calls it: the reference-time layout elements (2006 01 02
// 15 04 05 Jan January Mon Monday MST -0700 Z07:00 .000 .999 PM, day of year, ...) read byte by byte as Go
// reads them, with Go's quirks kept (a two-digit year 69-99 is 19xx, a fraction the layout lacks is still
// read after the seconds, a zone abbreviation the machine does not know keeps the clock time as UTC).
import { BuiltinArgError } from './args.js';
import { INT64_MAX, INT64_MIN } from './exact.js';

const NAME = 'time.parse_ns';

const enum Std {
  None,
  LongMonth,
  Month,
  NumMonth,
  ZeroMonth,
  LongWeekDay,
  WeekDay,
  Day,
  UnderDay,
  ZeroDay,
  UnderYearDay,
  ZeroYearDay,
  Hour,
  Hour12,
  ZeroHour12,
  Minute,
  ZeroMinute,
  Second,
  ZeroSecond,
  LongYear,
  Year,
  PM,
  pm,
  TZ,
  ISO8601TZ,
  ISO8601SecondsTZ,
  ISO8601ShortTZ,
  ISO8601ColonTZ,
  ISO8601ColonSecondsTZ,
  NumTZ,
  NumSecondsTz,
  NumShortTZ,
  NumColonTZ,
  NumColonSecondsTZ,
  FracSecond0,
  FracSecond9,
}

interface Chunk {
  prefix: string;
  std: Std;
  /** FracSecond0/9: how many digits the layout gives. */
  digits: number;
  suffix: string;
}

const STD_0X = [Std.ZeroMonth, Std.ZeroDay, Std.ZeroHour12, Std.ZeroMinute, Std.ZeroSecond, Std.Year];
export const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const SHORT_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
export const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const SHORT_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const isDigitAt = (s: string, i: number): boolean => i < s.length && s[i]! >= '0' && s[i]! <= '9';
const startsWithLower = (s: string): boolean => s.length > 0 && s[0]! >= 'a' && s[0]! <= 'z';

/** Go's nextStdChunk: the text before the first layout element, the element, and the rest. */
function nextStdChunk(layout: string): Chunk {
  const at = (i: number, std: Std, length: number, digits = 0): Chunk => ({
    prefix: layout.slice(0, i),
    std,
    digits,
    suffix: layout.slice(i + length),
  });
  const has = (i: number, text: string): boolean => layout.startsWith(text, i);
  for (let i = 0; i < layout.length; i++) {
    switch (layout[i]) {
      case 'J':
        if (has(i, 'Jan')) {
          if (has(i, 'January')) return at(i, Std.LongMonth, 7);
          if (!startsWithLower(layout.slice(i + 3))) return at(i, Std.Month, 3);
        }
        break;
      case 'M':
        if (has(i, 'Mon')) {
          if (has(i, 'Monday')) return at(i, Std.LongWeekDay, 6);
          if (!startsWithLower(layout.slice(i + 3))) return at(i, Std.WeekDay, 3);
        }
        if (has(i, 'MST')) return at(i, Std.TZ, 3);
        break;
      case '0': {
        const next = layout[i + 1];
        if (next !== undefined && next >= '1' && next <= '6') return at(i, STD_0X[Number(next) - 1]!, 2);
        if (has(i, '002')) return at(i, Std.ZeroYearDay, 3);
        break;
      }
      case '1':
        if (has(i, '15')) return at(i, Std.Hour, 2);
        return at(i, Std.NumMonth, 1);
      case '2':
        if (has(i, '2006')) return at(i, Std.LongYear, 4);
        return at(i, Std.Day, 1);
      case '_':
        if (has(i, '_2')) {
          // "_2006" is a literal underscore and a long year.
          if (has(i + 1, '2006'))
            return { prefix: layout.slice(0, i + 1), std: Std.LongYear, digits: 0, suffix: layout.slice(i + 5) };
          return at(i, Std.UnderDay, 2);
        }
        if (has(i, '__2')) return at(i, Std.UnderYearDay, 3);
        break;
      case '3':
        return at(i, Std.Hour12, 1);
      case '4':
        return at(i, Std.Minute, 1);
      case '5':
        return at(i, Std.Second, 1);
      case 'P':
        if (has(i, 'PM')) return at(i, Std.PM, 2);
        break;
      case 'p':
        if (has(i, 'pm')) return at(i, Std.pm, 2);
        break;
      case '-':
        if (has(i, '-070000')) return at(i, Std.NumSecondsTz, 7);
        if (has(i, '-07:00:00')) return at(i, Std.NumColonSecondsTZ, 9);
        if (has(i, '-0700')) return at(i, Std.NumTZ, 5);
        if (has(i, '-07:00')) return at(i, Std.NumColonTZ, 6);
        if (has(i, '-07')) return at(i, Std.NumShortTZ, 3);
        break;
      case 'Z':
        if (has(i, 'Z070000')) return at(i, Std.ISO8601SecondsTZ, 7);
        if (has(i, 'Z07:00:00')) return at(i, Std.ISO8601ColonSecondsTZ, 9);
        if (has(i, 'Z0700')) return at(i, Std.ISO8601TZ, 5);
        if (has(i, 'Z07:00')) return at(i, Std.ISO8601ColonTZ, 6);
        if (has(i, 'Z07')) return at(i, Std.ISO8601ShortTZ, 3);
        break;
      case '.':
      case ',': {
        const ch = layout[i + 1];
        if (ch === '0' || ch === '9') {
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          // Only a run of 0s or 9s that no other digit follows is a fraction.
          if (!isDigitAt(layout, j)) return at(i, ch === '0' ? Std.FracSecond0 : Std.FracSecond9, j - i, j - i - 1);
        }
        break;
      }
    }
  }
  return { prefix: layout, std: Std.None, digits: 0, suffix: '' };
}

class Bad extends Error {}

/** Go's leadingInt: the leading decimal digits as a number (overflow beyond int64 is an error). */
function leadingInt(s: string): [bigint, string] {
  let i = 0;
  let x = 0n;
  for (; i < s.length && isDigitAt(s, i); i++) {
    x = x * 10n + BigInt(s.charCodeAt(i) - 48);
    if (x > INT64_MAX) throw new Bad();
  }
  return [x, s.slice(i)];
}

/** Go's atoi: an optional sign and digits, nothing else. */
function atoi(s: string): number {
  let neg = false;
  if (s.length > 0 && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  const [x, rest] = leadingInt(s);
  if (rest.length > 0) throw new Bad();
  return Number(neg ? -x : x);
}

/** Go's getnum: one or two digits (exactly two when fixed). */
function getnum(s: string, fixed: boolean): [number, string] {
  if (!isDigitAt(s, 0)) throw new Bad();
  if (!isDigitAt(s, 1)) {
    if (fixed) throw new Bad();
    return [s.charCodeAt(0) - 48, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + (s.charCodeAt(i) - 48);
  if (i === 0 || (fixed && i !== 3)) throw new Bad();
  return [n, s.slice(i)];
}

/** Go's lookup: the first name the value starts with, ASCII letters compared without case. */
function lookupName(names: readonly string[], value: string): [number, string] {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (value.length >= name.length && sameIgnoringCase(value.slice(0, name.length), name))
      return [i, value.slice(name.length)];
  }
  throw new Bad();
}

function sameIgnoringCase(a: string, b: string): boolean {
  for (let i = 0; i < a.length; i++) {
    let c1 = a.charCodeAt(i);
    let c2 = b.charCodeAt(i);
    if (c1 !== c2) {
      c1 |= 0x20;
      c2 |= 0x20;
      if (c1 !== c2 || c1 < 0x61 || c1 > 0x7a) return false;
    }
  }
  return true;
}

const cutSpace = (s: string): string => s.replace(/^ +/, '');

/** Go's skip: the layout's literal text must be in the value; a run of spaces matches any run (or none at the end). */
function skip(value: string, prefix: string): string {
  while (prefix.length > 0) {
    if (prefix[0] === ' ') {
      if (value.length > 0 && value[0] !== ' ') throw new Bad();
      prefix = cutSpace(prefix);
      value = cutSpace(value);
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) throw new Bad();
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return value;
}

const commaOrPeriod = (c: string | undefined): boolean => c === '.' || c === ',';

/** Go's parseNanoseconds: the separator, then up to nine digits scaled to nanoseconds (more are cut). */
function parseNanoseconds(value: string, nbytes: number): number {
  if (!commaOrPeriod(value[0])) throw new Bad();
  if (nbytes > 10) {
    value = value.slice(0, 10);
    nbytes = 10;
  }
  const ns = atoi(value.slice(1, nbytes));
  if (ns < 0) throw new Bad();
  return ns * 10 ** (10 - nbytes);
}

function parseSignedOffset(value: string): number {
  if (value[0] !== '-' && value[0] !== '+') return 0;
  let x: bigint;
  let rest: string;
  try {
    [x, rest] = leadingInt(value.slice(1));
  } catch {
    return 0;
  }
  if (rest === value.slice(1) || x > 12n) return 0;
  return value.length - rest.length;
}

/** Go's parseTimeZone: how long the zone abbreviation at the start of value is, or 0. */
function parseTimeZone(value: string): number {
  if (value.length < 3) return 0;
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4;
  if (value.startsWith('GMT')) return value.length === 3 ? 3 : 3 + parseSignedOffset(value.slice(3));
  if (value[0] === '+' || value[0] === '-') return parseSignedOffset(value);
  let upper = 0;
  while (upper < 6 && upper < value.length && value[upper]! >= 'A' && value[upper]! <= 'Z') upper++;
  if (upper === 5 && value[4] === 'T') return 5;
  if (upper === 4 && (value[3] === 'T' || value.startsWith('WITA'))) return 4;
  if (upper === 3) return 3;
  return 0;
}

const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

function daysIn(month: number, year: number): number {
  if (month === 2 && isLeap(year)) return 29;
  return DAYS_BEFORE[month]! - DAYS_BEFORE[month - 1]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (any year). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Unix nanoseconds of value read with layout, as Go's time.Parse then UnixNano (an error outside int64). */
export function goParseTime(layoutText: string, valueText: string): bigint {
  // Go reads both byte by byte: one latin1 character per UTF-8 byte keeps that exact.
  let layout = Buffer.from(layoutText, 'utf8').toString('latin1');
  let value = Buffer.from(valueText, 'utf8').toString('latin1');
  let amSet = false;
  let pmSet = false;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let utcZone = false;
  let zoneOffset: number | undefined;
  let zoneName = '';
  const bad = (what: string): never => {
    throw new BuiltinArgError(
      NAME,
      `cannot parse ${JSON.stringify(valueText)} as ${JSON.stringify(layoutText)}: ${what}`,
    );
  };
  for (;;) {
    const { prefix, std, digits, suffix } = nextStdChunk(layout);
    try {
      value = skip(value, prefix);
    } catch {
      return bad(`expected ${JSON.stringify(prefix)}`);
    }
    if (std === Std.None) {
      if (value.length !== 0) bad('extra text');
      break;
    }
    layout = suffix;
    let range = '';
    try {
      switch (std) {
        case Std.Year: {
          if (value.length < 2) throw new Bad();
          year = atoi(value.slice(0, 2));
          value = value.slice(2);
          year += year >= 69 ? 1900 : 2000;
          break;
        }
        case Std.LongYear:
          if (value.length < 4 || !isDigitAt(value, 0)) throw new Bad();
          year = atoi(value.slice(0, 4));
          value = value.slice(4);
          break;
        case Std.Month:
          [month, value] = lookupName(SHORT_MONTHS, value);
          month++;
          break;
        case Std.LongMonth:
          [month, value] = lookupName(LONG_MONTHS, value);
          month++;
          break;
        case Std.NumMonth:
        case Std.ZeroMonth:
          [month, value] = getnum(value, std === Std.ZeroMonth);
          if (month <= 0 || month > 12) range = 'month';
          break;
        case Std.WeekDay:
          // The weekday is only checked, never used.
          [, value] = lookupName(SHORT_DAYS, value);
          break;
        case Std.LongWeekDay:
          [, value] = lookupName(LONG_DAYS, value);
          break;
        case Std.Day:
        case Std.UnderDay:
        case Std.ZeroDay:
          if (std === Std.UnderDay && value[0] === ' ') value = value.slice(1);
          [day, value] = getnum(value, std === Std.ZeroDay);
          break;
        case Std.UnderYearDay:
        case Std.ZeroYearDay:
          for (let i = 0; i < 2; i++) if (std === Std.UnderYearDay && value[0] === ' ') value = value.slice(1);
          [yday, value] = getnum3(value, std === Std.ZeroYearDay);
          break;
        case Std.Hour:
          [hour, value] = getnum(value, false);
          if (hour < 0 || hour >= 24) range = 'hour';
          break;
        case Std.Hour12:
        case Std.ZeroHour12:
          [hour, value] = getnum(value, std === Std.ZeroHour12);
          if (hour < 0 || hour > 12) range = 'hour';
          break;
        case Std.Minute:
        case Std.ZeroMinute:
          [min, value] = getnum(value, std === Std.ZeroMinute);
          if (min < 0 || min >= 60) range = 'minute';
          break;
        case Std.Second:
        case Std.ZeroSecond: {
          [sec, value] = getnum(value, std === Std.ZeroSecond);
          if (sec < 0 || sec >= 60) {
            range = 'second';
            break;
          }
          // A fraction in the value that the layout does not ask for is read here.
          if (value.length >= 2 && commaOrPeriod(value[0]) && isDigitAt(value, 1)) {
            const next = nextStdChunk(layout).std;
            if (next === Std.FracSecond0 || next === Std.FracSecond9) break;
            let n = 2;
            while (n < value.length && isDigitAt(value, n)) n++;
            nsec = parseNanoseconds(value, n);
            value = value.slice(n);
          }
          break;
        }
        case Std.PM:
        case Std.pm: {
          if (value.length < 2) throw new Bad();
          const p = value.slice(0, 2);
          value = value.slice(2);
          const [am, pm] = std === Std.PM ? ['AM', 'PM'] : ['am', 'pm'];
          if (p === pm) pmSet = true;
          else if (p === am) amSet = true;
          else throw new Bad();
          break;
        }
        case Std.ISO8601TZ:
        case Std.ISO8601ShortTZ:
        case Std.ISO8601ColonTZ:
        case Std.ISO8601SecondsTZ:
        case Std.ISO8601ColonSecondsTZ:
        case Std.NumTZ:
        case Std.NumShortTZ:
        case Std.NumColonTZ:
        case Std.NumSecondsTz:
        case Std.NumColonSecondsTZ: {
          const iso = std >= Std.ISO8601TZ && std <= Std.ISO8601ColonSecondsTZ;
          if (iso && value[0] === 'Z') {
            value = value.slice(1);
            utcZone = true;
            break;
          }
          let parts: [string, string, string, string];
          if (std === Std.ISO8601ColonTZ || std === Std.NumColonTZ) {
            if (value.length < 6 || value[3] !== ':') throw new Bad();
            parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), '00'];
            value = value.slice(6);
          } else if (std === Std.NumShortTZ || std === Std.ISO8601ShortTZ) {
            if (value.length < 3) throw new Bad();
            parts = [value[0]!, value.slice(1, 3), '00', '00'];
            value = value.slice(3);
          } else if (std === Std.ISO8601ColonSecondsTZ || std === Std.NumColonSecondsTZ) {
            if (value.length < 9 || value[3] !== ':' || value[6] !== ':') throw new Bad();
            parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), value.slice(7, 9)];
            value = value.slice(9);
          } else if (std === Std.ISO8601SecondsTZ || std === Std.NumSecondsTz) {
            if (value.length < 7) throw new Bad();
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), value.slice(5, 7)];
            value = value.slice(7);
          } else {
            if (value.length < 5) throw new Bad();
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), '00'];
            value = value.slice(5);
          }
          const [sign, h, m, s] = parts;
          const [hr] = getnum(h, true);
          const [mm] = getnum(m, true);
          const [ss] = getnum(s, true);
          // Go's range test uses > (offsets of 24 hours or 60 minutes are written in the wild).
          if (hr > 24) range = 'time zone offset hour';
          if (mm > 60) range = 'time zone offset minute';
          if (ss > 60) range = 'time zone offset second';
          const offset = (hr * 60 + mm) * 60 + ss;
          if (sign === '+') zoneOffset = offset;
          else if (sign === '-') zoneOffset = -offset;
          else throw new Bad();
          break;
        }
        case Std.TZ: {
          if (value.startsWith('UTC')) {
            utcZone = true;
            value = value.slice(3);
            break;
          }
          const n = parseTimeZone(value);
          if (n === 0) throw new Bad();
          zoneName = value.slice(0, n);
          value = value.slice(n);
          break;
        }
        case Std.FracSecond0: {
          const ndigit = 1 + digits;
          if (value.length < ndigit) throw new Bad();
          nsec = parseNanoseconds(value, ndigit);
          value = value.slice(ndigit);
          break;
        }
        case Std.FracSecond9: {
          if (value.length < 2 || !commaOrPeriod(value[0]) || !isDigitAt(value, 1)) break;
          let i = 0;
          while (i + 1 < value.length && isDigitAt(value, i + 1)) i++;
          nsec = parseNanoseconds(value, 1 + i);
          value = value.slice(1 + i);
          break;
        }
      }
    } catch (err) {
      if (err instanceof Bad) return bad('bad value for a layout element');
      throw err;
    }
    if (range !== '') bad(`${range} out of range`);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;

  if (yday >= 0) {
    let d = 0;
    let m = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) bad('day-of-year out of range');
    if (m === 0) {
      m = Math.floor((yday - 1) / 31) + 1;
      if (DAYS_BEFORE[m]! < yday) m++;
      d = yday - DAYS_BEFORE[m - 1]!;
    }
    if (month >= 0 && month !== m) bad('day-of-year does not match month');
    month = m;
    if (day >= 0 && day !== d) bad('day-of-year does not match day');
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) bad('day out of range');

  const seconds =
    BigInt(daysFromCivil(year, month, day)) * 86400n +
    BigInt(hour * 3600 + min * 60 + sec) -
    BigInt(!utcZone && zoneOffset !== undefined ? zoneOffset : 0);
  // zoneName alone: Go looks the abbreviation up in the machine's zone; OPA in its UTC container knows only
  // UTC, so any other abbreviation keeps the clock time as UTC (Go records it with an unknown offset).
  void zoneName;
  const ns = seconds * 1_000_000_000n + BigInt(nsec);
  if (ns < INT64_MIN || ns > INT64_MAX) bad('time outside of valid range');
  return ns;
}
