// time.*: nanosecond timestamps exceed 2^53, so these return BigInt: modules Portcullis emits take them back
// exactly (see exact.ts); OPA-built bundles get the nearest double.
import { BuiltinArgError, NotReproducedError, str } from './args.js';
import { bigIntArg, exactInt, int64Operand, INT64_MAX, INT64_MIN } from './exact.js';
import { goParseTime, LONG_DAYS, LONG_MONTHS } from './timeLayout.js';

export function nowNs(): bigint {
  return process.hrtime.bigint() - hrtimeAtStart + wallAtStartNs;
}
const hrtimeAtStart = process.hrtime.bigint();
const wallAtStartNs = BigInt(Date.now()) * 1_000_000n;

// Go's time.Parse(time.RFC3339, s): upper-case T and Z, any number of fraction digits (truncated to ns).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseRfc3339Ns(s: unknown): bigint | number {
  const text = str('time.parse_rfc3339_ns', s);
  const m = RFC3339.exec(text);
  if (!m) throw new BuiltinArgError('time.parse_rfc3339_ns', `not RFC 3339: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    throw new BuiltinArgError('time.parse_rfc3339_ns', `out of range: ${JSON.stringify(text)}`);
  }
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Number(sec)));
  date.setUTCFullYear(Number(y), month - 1, day);
  if (date.getUTCDate() !== day)
    throw new BuiltinArgError('time.parse_rfc3339_ns', `no such day: ${JSON.stringify(text)}`);
  let ns = BigInt(date.getTime()) * 1_000_000n;
  if (frac) ns += BigInt(frac.slice(1, 10).padEnd(9, '0'));
  if (zone && zone !== 'Z') {
    if (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59) {
      throw new BuiltinArgError('time.parse_rfc3339_ns', `zone offset out of range: ${JSON.stringify(text)}`);
    }
    const sign = zone.startsWith('-') ? -1n : 1n;
    const offsetMin = BigInt(Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    ns -= sign * offsetMin * 60_000_000_000n;
  }
  // Go's UnixNano is undefined outside int64 (before 1678, after 2262): an error here, not OPA's wrapped value.
  if (ns < -(1n << 63n) || ns >= 1n << 63n)
    throw new BuiltinArgError('time.parse_rfc3339_ns', `out of range: ${JSON.stringify(text)}`);
  return exactInt(ns);
}

const NS_PER_MS = 1_000_000n;

/**
 * time.* take ns since the epoch (an integer that fits int64, as OPA requires), or [ns, timezone]. The zone
 * is UTC when empty or absent, `Local` is the process's zone (TZ), anything else an IANA name; an unknown zone
 * is an error (undefined), never a guess.
 */
function zonedNs(name: string, x: unknown): { ns: bigint; zone: string } {
  let value: unknown = x;
  let zone = 'UTC';
  if (Array.isArray(x)) {
    if (x.length === 0 || x.length > 2) throw new BuiltinArgError(name, 'expected ns or [ns, timezone]');
    if (x.length === 2) {
      if (typeof x[1] !== 'string') throw new BuiltinArgError(name, 'timezone must be a string');
      if (x[1] !== '') zone = checkedZone(name, x[1]);
    }
    value = x[0];
  }
  const ns = bigIntArg(name, value);
  if (ns < INT64_MIN || ns > INT64_MAX) throw new BuiltinArgError(name, 'timestamp too big');
  return { ns, zone };
}

/** Zone names found valid (only those: names from a request must not grow it). */
const zoneNames = new Set<string>();

/**
 * Go's time.LoadLocation reads the zone database by file name, case-sensitively ("america/new_york" and "utc"
 * are errors in OPA); ICU matches names ignoring case, so a name that differs from ICU's only in case is refused.
 */
function checkedZone(name: string, zone: string): string {
  if (zone === 'UTC' || zone === 'Local') return zone;
  if (zoneNames.has(zone)) return zone;
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  if (resolved === undefined || (resolved !== zone && resolved.toLowerCase() === zone.toLowerCase()))
    throw new BuiltinArgError(name, `unknown time zone ${JSON.stringify(zone)}`);
  zoneNames.add(zone);
  return zone;
}

interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: string;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone (building one is costly); ICU's zone database stands in for Go's. */
function zoneFormat(name: string, zone: string): Intl.DateTimeFormat {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    const timeZone = zone === 'Local' ? new Intl.DateTimeFormat().resolvedOptions().timeZone : zone;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        weekday: 'long',
      });
    } catch {
      throw new BuiltinArgError(name, `unknown time zone ${JSON.stringify(zone)}`);
    }
    zoneFormats.set(zone, format);
  }
  return format;
}

/** The wall-clock date and time of an instant in the argument's zone. */
function civilTime(name: string, x: unknown): CivilTime {
  const { ns, zone } = zonedNs(name, x);
  const date = new Date(msOf(ns));
  if (zone === 'UTC') {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      weekday: LONG_DAYS[date.getUTCDay()] ?? '',
    };
  }
  const parts = Object.fromEntries(
    zoneFormat(name, zone)
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  const yearOfEra = Number(parts['year']);
  return {
    // Go counts years astronomically (1 BC is year 0).
    year: parts['era'] === 'BC' ? 1 - yearOfEra : yearOfEra,
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    second: Number(parts['second']),
    weekday: parts['weekday'] ?? '',
  };
}

/** Floor division: the millisecond that contains ns (also before 1970). */
function msOf(ns: bigint): number {
  const q = ns / NS_PER_MS;
  return Number(ns % NS_PER_MS < 0n ? q - 1n : q);
}

/** Floor division and its remainder (BigInt division truncates toward zero). */
function floorDivMod(a: bigint, b: bigint): [bigint, bigint] {
  const q = a / b;
  const r = a - q * b;
  return r < 0n ? [q - 1n, r + b] : [q, r];
}

/** Days from 1970-01-01 to year-month-day of the proleptic Gregorian calendar (month 1..12, day 1..). */
function daysFromCivil(year: bigint, month: bigint, day: bigint): bigint {
  const y = month <= 2n ? year - 1n : year;
  const [era, yoe] = floorDivMod(y, 400n);
  const doy = (153n * (month > 2n ? month - 3n : month + 9n) + 2n) / 5n + day - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146_097n + doe - 719_468n;
}

/** The [year, month, day] of a day count from 1970-01-01. */
function civilFromDays(days: bigint): [bigint, bigint, bigint] {
  const [era, doe] = floorDivMod(days + 719_468n, 146_097n);
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const month = mp < 10n ? mp + 3n : mp - 9n;
  return [yoe + era * 400n + (month <= 2n ? 1n : 0n), month, doy - (153n * mp + 2n) / 5n + 1n];
}

/**
 * Beyond these, Go's AddDate computes in wrapping int64 arithmetic, whose answer is not reproduced: the call
 * is refused. Inside them Go's arithmetic is exact, and so is this one.
 */
const ADD_DATE_LIMITS = { years: 10n ** 10n, months: 10n ** 11n, days: 10n ** 13n } as const;
const NS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400n;
/** Seconds since the epoch that int64 nanoseconds can reach, widened by two days (more than any zone offset). */
const WALL_SECONDS_MIN = INT64_MIN / NS_PER_SECOND - 2n * SECONDS_PER_DAY;
const WALL_SECONDS_MAX = INT64_MAX / NS_PER_SECOND + 2n * SECONDS_PER_DAY;

/** The zone's UTC offset, in seconds, at an instant given in whole seconds since the epoch. */
function offsetAt(name: string, zone: string, second: bigint): bigint {
  return zone === 'UTC' ? 0n : BigInt(zoneOffset(name, Number(second) * 1000, zone).seconds);
}

/**
 * Go's t.AddDate(years, months, days) in t's zone, exact in BigInt: the wall clock of t in its zone gets the
 * years and months (months overflow into years), then the days counted from the first of the month
 * (2023-01-31 plus a month is 2023-03-03); the time of day is kept. The new wall clock goes back to an instant
 * as Go's time.Date does: the offset at the wall clock read as UTC, and if that offset's period does not hold
 * the instant it gives, the offset at that instant (so a wall clock in a DST gap or overlap resolves as in Go).
 */
function addDate(x: unknown, y: unknown, m: unknown, d: unknown): bigint | number {
  const name = 'time.add_date';
  const { ns, zone } = zonedNs(name, x);
  const added = { years: int64Operand(name, y), months: int64Operand(name, m), days: int64Operand(name, d) };
  for (const [part, limit] of Object.entries(ADD_DATE_LIMITS) as Array<[keyof typeof added, bigint]>) {
    const value = added[part];
    if (value > limit || value < -limit) throw new NotReproducedError(name, `${part} beyond ${limit}`);
  }
  const [second, nanos] = floorDivMod(ns, NS_PER_SECOND);
  const [day, secondOfDay] = floorDivMod(second + offsetAt(name, zone, second), SECONDS_PER_DAY);
  const [year, month, date] = civilFromDays(day);
  const [carry, month0] = floorDivMod(month - 1n + added.months, 12n);
  const days = daysFromCivil(year + added.years + carry, month0 + 1n, 1n) + date - 1n + added.days;
  const wall = days * SECONDS_PER_DAY + secondOfDay;
  // OPA refuses a result outside the int64 nanoseconds (toSafeUnixNano): an error, not a wrapped value.
  const outside = new BuiltinArgError(name, 'time outside of valid range');
  if (wall < WALL_SECONDS_MIN || wall > WALL_SECONDS_MAX) throw outside;
  // Go's time.Date: unix - offset(unix - offset(unix)) equals its lookup, re-done only outside the first period.
  const result = (wall - offsetAt(name, zone, wall - offsetAt(name, zone, wall))) * NS_PER_SECOND + nanos;
  if (result < INT64_MIN || result > INT64_MAX) throw outside;
  return exactInt(result);
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n,
  '\u03bcs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * A component's fraction as Go's time.ParseDuration computes it: digits accumulate while they fit int64,
 * then int64(float64(f) * (float64(unit) / scale)) in IEEE doubles (the same operations JS performs).
 */
function fractionNs(digits: string, unit: bigint): bigint {
  let f = 0n;
  let scale = 1;
  for (const ch of digits) {
    if (f > INT64_MAX / 10n) break;
    const next = f * 10n + BigInt(ch);
    if (next > INT64_MAX) break;
    f = next;
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
}

/** Go's time.ParseDuration: int64 nanoseconds, exact integer parts, fractions as Go computes them. */
function parseDurationNs(s: unknown): bigint | number {
  let text = str('time.parse_duration_ns', s);
  const negative = text.startsWith('-');
  if (text.startsWith('-') || text.startsWith('+')) text = text.slice(1);
  if (text === '0') return 0;
  if (!/^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.test(text)) {
    throw new BuiltinArgError('time.parse_duration_ns', `invalid duration ${JSON.stringify(s)}`);
  }
  let total = 0n;
  for (const part of text.matchAll(/(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) {
    const unit = DURATION_UNITS[part[3]!]!;
    total += BigInt(part[1] || '0') * unit + fractionNs(part[2] ?? '', unit);
    if (total > INT64_MAX + (negative ? 1n : 0n))
      throw new BuiltinArgError('time.parse_duration_ns', `invalid duration ${JSON.stringify(s)}`);
  }
  return exactInt(negative ? -total : total);
}

export const timeBuiltins = {
  'time.now_ns': nowNs,
  'time.parse_rfc3339_ns': parseRfc3339Ns,
  'time.date': (x: unknown) => {
    const t = civilTime('time.date', x);
    return [t.year, t.month, t.day];
  },
  'time.clock': (x: unknown) => {
    const t = civilTime('time.clock', x);
    return [t.hour, t.minute, t.second];
  },
  'time.weekday': (x: unknown) => civilTime('time.weekday', x).weekday,
  'time.add_date': addDate,
  'time.parse_duration_ns': parseDurationNs,
  'time.diff': timeDiff,
  'time.format': timeFormat,
  'time.parse_ns': (layout: unknown, value: unknown) =>
    exactInt(goParseTime(str('time.parse_ns', layout), str('time.parse_ns', value))),
};

/** time.diff as OPA computes it: [years, months, days, hours, minutes, seconds] between two instants. */
function timeDiff(a: unknown, b: unknown): number[] {
  let x = zonedNs('time.diff', a);
  let y = zonedNs('time.diff', b);
  // Both are read in the first argument's zone; then ordered so that the difference is not negative.
  y = { ns: y.ns, zone: x.zone };
  if (x.ns > y.ns)
    [x, y] = [
      { ns: y.ns, zone: x.zone },
      { ns: x.ns, zone: x.zone },
    ];
  const t1 = civilTime('time.diff', [exactInt(x.ns), x.zone]);
  const t2 = civilTime('time.diff', [exactInt(y.ns), y.zone]);
  let year = t2.year - t1.year;
  let month = t2.month - t1.month;
  let day = t2.day - t1.day;
  let hour = t2.hour - t1.hour;
  let min = t2.minute - t1.minute;
  let sec = t2.second - t1.second;
  if (sec < 0) [sec, min] = [sec + 60, min - 1];
  if (min < 0) [min, hour] = [min + 60, hour - 1];
  if (hour < 0) [hour, day] = [hour + 24, day - 1];
  if (day < 0) {
    const overflow = new Date(0);
    overflow.setUTCFullYear(t1.year, t1.month - 1, 32);
    [day, month] = [day + 32 - overflow.getUTCDate(), month - 1];
  }
  if (month < 0) [month, year] = [month + 12, year - 1];
  return [year, month, day, hour, min, sec];
}

/** The zone's UTC offset in seconds at an instant, and Go's abbreviation for it. */
function zoneOffset(name: string, ms: number, zone: string): { seconds: number; abbreviation: string } {
  if (zone === 'UTC') return { seconds: 0, abbreviation: 'UTC' };
  const timeZone = zone === 'Local' ? new Intl.DateTimeFormat().resolvedOptions().timeZone : zone;
  const part = (style: 'longOffset' | 'short'): string => {
    try {
      const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: style }).formatToParts(new Date(ms));
      return parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
    } catch {
      throw new BuiltinArgError(name, `unknown time zone ${JSON.stringify(zone)}`);
    }
  };
  const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(part('longOffset'));
  if (!m) throw new BuiltinArgError(name, `no offset for time zone ${JSON.stringify(zone)}`);
  const sign = m[1] === '-' ? -1 : 1;
  const seconds = m[1] === undefined ? 0 : sign * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0));
  return { seconds, abbreviation: part('short') };
}

const pad = (n: number, width: number, fill = '0'): string => String(n).padStart(width, fill);

/** Go's layout tokens, longest first where they share a prefix (as Go's nextStdChunk tries them). */
const LAYOUT_TOKEN =
  /January|Jan|Monday|Mon|MST|2006|002|__2|_2|01|02|03|04|05|06|15|1|2|3|4|5|PM|pm|Z070000|Z07:00:00|Z0700|Z07:00|Z07|-070000|-07:00:00|-0700|-07:00|-07|[.,](?:0+|9+)(?!\d)/y;

/** time.format: Go's Time.Format with the layout (default RFC 3339 with nanoseconds, zeros trimmed). */
function timeFormat(x: unknown): string {
  const name = 'time.format';
  let value: unknown = x;
  let layout = '2006-01-02T15:04:05.999999999Z07:00';
  if (Array.isArray(x) && x.length === 3) {
    layout = str(name, x[2]);
    value = [x[0], x[1]];
  }
  const { ns, zone } = zonedNs(name, value);
  const t = civilTime(name, value);
  const nanos = Number(((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n);
  const yearDay = Math.round((Date.UTC(t.year, t.month - 1, t.day) - Date.UTC(t.year, 0, 1)) / 86_400_000) + 1;
  const offset = zoneOffset(name, msOf(ns), zone);
  const hour12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
  const zoneText = (z: boolean, colons: boolean, withSeconds: boolean, hoursOnly: boolean): string => {
    if (z && offset.seconds === 0) return 'Z';
    const abs = Math.abs(offset.seconds);
    const sep = colons ? ':' : '';
    let out = `${offset.seconds < 0 ? '-' : '+'}${pad(Math.floor(abs / 3600), 2)}`;
    if (!hoursOnly) out += `${sep}${pad(Math.floor(abs / 60) % 60, 2)}`;
    if (withSeconds) out += `${sep}${pad(abs % 60, 2)}`;
    return out;
  };
  let out = '';
  for (let i = 0; i < layout.length;) {
    LAYOUT_TOKEN.lastIndex = i;
    const m = LAYOUT_TOKEN.exec(layout);
    if (!m) {
      out += layout[i];
      i++;
      continue;
    }
    const tok = m[0];
    i += tok.length;
    switch (tok) {
      case 'January':
        out += LONG_MONTHS[t.month - 1];
        break;
      case 'Jan':
        out += LONG_MONTHS[t.month - 1]!.slice(0, 3);
        break;
      case 'Monday':
        out += t.weekday;
        break;
      case 'Mon':
        out += t.weekday.slice(0, 3);
        break;
      case 'MST': {
        if (!/^[A-Z]{3,5}$/.test(offset.abbreviation) && offset.abbreviation !== 'UTC') {
          throw new BuiltinArgError(name, `no abbreviation for time zone ${JSON.stringify(zone)}`);
        }
        out += offset.abbreviation;
        break;
      }
      case '2006':
        out += t.year < 0 ? `-${pad(-t.year, 4)}` : pad(t.year, 4);
        break;
      case '06':
        out += pad(((t.year % 100) + 100) % 100, 2);
        break;
      case '002':
        out += pad(yearDay, 3);
        break;
      case '__2':
        out += pad(yearDay, 3, ' ');
        break;
      case '_2':
        out += pad(t.day, 2, ' ');
        break;
      case '01':
        out += pad(t.month, 2);
        break;
      case '02':
        out += pad(t.day, 2);
        break;
      case '03':
        out += pad(hour12, 2);
        break;
      case '04':
        out += pad(t.minute, 2);
        break;
      case '05':
        out += pad(t.second, 2);
        break;
      case '15':
        out += pad(t.hour, 2);
        break;
      case '1':
        out += String(t.month);
        break;
      case '2':
        out += String(t.day);
        break;
      case '3':
        out += String(hour12);
        break;
      case '4':
        out += String(t.minute);
        break;
      case '5':
        out += String(t.second);
        break;
      case 'PM':
        out += t.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += t.hour >= 12 ? 'pm' : 'am';
        break;
      case 'Z070000':
        out += zoneText(true, false, true, false);
        break;
      case 'Z07:00:00':
        out += zoneText(true, true, true, false);
        break;
      case 'Z0700':
        out += zoneText(true, false, false, false);
        break;
      case 'Z07:00':
        out += zoneText(true, true, false, false);
        break;
      case 'Z07':
        out += zoneText(true, false, false, true);
        break;
      case '-070000':
        out += zoneText(false, false, true, false);
        break;
      case '-07:00:00':
        out += zoneText(false, true, true, false);
        break;
      case '-0700':
        out += zoneText(false, false, false, false);
        break;
      case '-07:00':
        out += zoneText(false, true, false, false);
        break;
      case '-07':
        out += zoneText(false, false, false, true);
        break;
      default: {
        // Fractional seconds: .000 keeps that many digits, .999 trims trailing zeros (and the point when none remain).
        const digits = tok.length - 1;
        const text = pad(nanos, 9).slice(0, Math.min(digits, 9)).padEnd(digits, '0');
        if (tok[1] === '0') out += tok[0] + text;
        else {
          const trimmed = text.replace(/0+$/, '');
          if (trimmed !== '') out += tok[0] + trimmed;
        }
      }
    }
  }
  return out;
}
