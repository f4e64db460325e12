// The rules of an input that JSON Schema keywords cannot state: instants compared exactly, and place names that
// hold something visible. A saga's validators (functions/validator.ts) call these at run time through this
// project's own keywords, which any saga's schema may use; they fail closed: what they cannot read is invalid.

export { hasDistinctFaultStates } from './faults.ts';

/**
 * An RFC 3339 date-time: a four-digit year, seconds up to 60 (a leap second), any fraction, and an offset of
 * `Z`, `±HH:MM` or the hour alone (`±HH`, as ISO 8601 allows).
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2})(?::(\d{2}))?)$/;

/** An instant in a form that orders as time does: UTC minutes, then the second (60 for a leap second), then the fraction. */
export interface ComparableInstant {
  readonly minute: number;
  readonly second: number;
  /** The fraction's digits without trailing zeros: compared as text, padded to the same length. */
  readonly fraction: string;
}

/** Days from 0000-03-01 reckoned in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  return era * 146097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
}

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * Instants read lately, by text: every step of an execution validates the same input, each rule reading its instants
 * again (`instant`, then each `laterThan` on both sides). Bounded, and emptied when full, so a warm function's
 * memory does not grow with the inputs it has seen.
 */
const readInstants = new Map<string, ComparableInstant | undefined>();
const READ_INSTANTS_KEPT = 256;

/** The instant a date-time names, or undefined when it is not a valid RFC 3339 date-time. */
export function parseInstant(text: unknown): ComparableInstant | undefined {
  if (typeof text !== 'string') return undefined;
  if (readInstants.has(text)) return readInstants.get(text);
  if (readInstants.size >= READ_INSTANTS_KEPT) readInstants.clear();
  const instant = instantOf(text);
  readInstants.set(text, instant);
  return instant;
}

function instantOf(text: string): ComparableInstant | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [, , , , , , , fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = match;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
  const offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const utcMinute = daysFromCivil(year, month, day) * 1440 + hour * 60 + minute - offset;
  // A leap second is inserted after 23:59:59 UTC, never elsewhere.
  if (second === 60 && ((utcMinute % 1440) + 1440) % 1440 !== 1439) return undefined;
  return { minute: utcMinute, second, fraction: fraction.replace(/0+$/, '') };
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareInstants(a: ComparableInstant, b: ComparableInstant): number {
  if (a.minute !== b.minute) return a.minute - b.minute;
  if (a.second !== b.second) return a.second - b.second;
  const width = Math.max(a.fraction.length, b.fraction.length);
  const [x, y] = [a.fraction.padEnd(width, '0'), b.fraction.padEnd(width, '0')];
  return x < y ? -1 : x > y ? 1 : 0;
}

export const isInstant = (text: unknown): boolean => parseInstant(text) !== undefined;

/** Whether `later` is strictly after `earlier`; false when either cannot be read. */
export function isLaterInstant(later: unknown, earlier: unknown): boolean {
  const [a, b] = [parseInstant(later), parseInstant(earlier)];
  return a !== undefined && b !== undefined && compareInstants(a, b) > 0;
}

/** A visible character: not whitespace, not a control or format character, not half a surrogate pair. */
const VISIBLE = /[^\s\p{Cc}\p{Cf}\p{Cs}]/u;
const CONTROL = /[\p{Cc}\p{Cs}]/u;

/** A name a person could read: something visible, and no control characters (NUL, line breaks) anywhere. */
export const isPlaceName = (text: unknown): boolean => typeof text === 'string' && VISIBLE.test(text) && !CONTROL.test(text);
