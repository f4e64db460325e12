import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fieldsOf } from '../../asl/saga.ts';
import { inputProblemsOf, MAX_PROBLEM_LENGTH, MAX_PROBLEMS_LENGTH, problemsText } from '../../functions/input-problems.ts';
import { tripSaga } from '../../saga.ts';
import { exampleTrip } from '../helpers/trips.ts';

const tripFields = fieldsOf(tripSaga);
const tripProblems = inputProblemsOf(tripSaga);

// The compiled validator against an oracle: a second, plain implementation of every rule of a trip, written
// without ajv, without the validator's parser, and comparing instants through Date rather than by fields.

/** Which fields hold what, read from the schema's own declarations (the oracle then checks them its own way). */
const kindOf = (field: string): 'id' | 'place' | 'instant' => {
  const schema: Record<string, unknown> = (tripSaga.input as Record<string, Record<string, unknown>>)[field] ?? {};
  return schema['instant'] ? 'instant' : schema['placeName'] ? 'place' : 'id';
};
const afterOf = (field: string): string | undefined =>
  (tripSaga.input as Record<string, Record<string, unknown>>)[field]?.['after'] as string | undefined;
const instantFields = tripFields.filter((field) => kindOf(field) === 'instant');
const placeFields = tripFields.filter((field) => kindOf(field) === 'place');

/** [UTC milliseconds with the leap second folded into :59, 1 for a leap second, the fraction's digits] */
type OracleInstant = [number, number, string];

function oracleInstant(text: unknown): OracleInstant | undefined {
  if (typeof text !== 'string' || [...text].length > 40) return undefined;
  const separator = text.search(/[Tt ]/);
  if (separator !== 10) return undefined;
  const date = text.slice(0, 10).split('-');
  if (
    date.length !== 3 ||
    date.some((part) => !/^[0-9]+$/.test(part)) ||
    date[0]!.length !== 4 ||
    date[1]!.length !== 2 ||
    date[2]!.length !== 2
  )
    return undefined;
  let time = text.slice(11);
  let offsetMinutes = 0;
  if (time.endsWith('Z') || time.endsWith('z')) {
    time = time.slice(0, -1);
  } else {
    const signAt = Math.max(time.lastIndexOf('+'), time.lastIndexOf('-'));
    if (signAt < 0) return undefined;
    const offset = time.slice(signAt + 1).split(':');
    if (offset.length > 2 || offset.some((part) => !/^[0-9]{2}$/.test(part))) return undefined;
    const [hours, minutes = '00'] = offset.map(Number);
    if (hours! > 23 || Number(minutes) > 59) return undefined;
    offsetMinutes = (time[signAt] === '-' ? -1 : 1) * (hours! * 60 + Number(minutes));
    time = time.slice(0, signAt);
  }
  const [clock, fraction = '', ...extra] = time.split('.');
  if (extra.length > 0 || (time.includes('.') && !/^[0-9]+$/.test(fraction))) return undefined;
  const parts = clock!.split(':');
  if (parts.length !== 3 || parts.some((part) => !/^[0-9]{2}$/.test(part))) return undefined;
  const [year, month, day] = date.map(Number) as [number, number, number];
  const [hour, minute, second] = parts.map(Number) as [number, number, number];
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day); // not Date.UTC: it reads years 0 to 99 as 1900 to 1999
  if (local.getUTCFullYear() !== year || local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) return undefined;
  const ms = local.getTime() + ((hour * 60 + minute - offsetMinutes) * 60 + Math.min(second, 59)) * 1000;
  const utc = new Date(ms);
  if (second === 60 && !(utc.getUTCHours() === 23 && utc.getUTCMinutes() === 59)) return undefined;
  return [ms, second === 60 ? 1 : 0, fraction];
}

function oracleLater(a: OracleInstant, b: OracleInstant): boolean {
  if (a[0] !== b[0]) return a[0] > b[0];
  if (a[1] !== b[1]) return a[1] > b[1];
  const digits = Math.max(a[2].length, b[2].length, 1);
  return BigInt(a[2].padEnd(digits, '0')) > BigInt(b[2].padEnd(digits, '0'));
}

function oraclePlace(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const characters = [...value];
  if (characters.length < 1 || characters.length > 200) return false;
  const isControl = (character: string) => /^\p{Cc}$/u.test(character) || /^\p{Cs}$/u.test(character);
  const isInvisible = (character: string) => isControl(character) || /^\s$/u.test(character) || /^\p{Cf}$/u.test(character);
  return !characters.some(isControl) && characters.some((character) => !isInvisible(character));
}

/** Every rule of a trip, plainly. */
function oracleAccepts(trip: unknown): boolean {
  if (typeof trip !== 'object' || trip === null || Array.isArray(trip)) return false;
  const fields = trip as Record<string, unknown>;
  if (Object.keys(fields).some((key) => key !== 'fail' && !(tripFields as string[]).includes(key))) return false;
  for (const field of tripFields) {
    const value = fields[field];
    if (kindOf(field) === 'id' && !(typeof value === 'string' && value.length >= 1 && value.length <= 80 && /^[A-Za-z0-9_-]+$/.test(value)))
      return false;
    if (kindOf(field) === 'place' && !oraclePlace(value)) return false;
    if (kindOf(field) === 'instant') {
      const instant = oracleInstant(value);
      if (!instant) return false;
      const earlierField = afterOf(field);
      if (earlierField !== undefined) {
        const earlier = oracleInstant(fields[earlierField]);
        if (!earlier || !oracleLater(instant, earlier)) return false;
      }
    }
  }
  const fail = fields['fail'];
  if (fail === undefined || fail === null) return true;
  return (
    Array.isArray(fail) &&
    fail.length <= 20 &&
    new Set(fail).size === fail.length &&
    fail.every((state) => typeof state === 'string' && /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(state))
  );
}

const two = (min: number, max: number) => fc.integer({ min, max }).map((n) => String(n).padStart(2, '0'));
const offset = fc.oneof(
  fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+01', '-01', '+01:00', '-01:30', '+14:00'),
  fc.tuple(fc.constantFrom('+', '-'), two(0, 24), fc.option(two(0, 60))).map(([sign, h, m]) => `${sign}${h}${m === null ? '' : `:${m}`}`),
  fc.constantFrom('', '+1', '+0100', '+01:'),
);
const fraction = fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/), fc.constantFrom('.0', '.5', '.000', '.'));
/**
 * Date-times near one another, so that order is often decided by an offset, a leap second or a fraction; a
 * field that must come after another is drawn mostly from later days, so that whole trips are often valid.
 */
const nearDateTime = (days: string[]) =>
  fc
    .record({
      day: fc.constantFrom(...days),
      hour: fc.constantFrom('22', '23', '00', '01'),
      minute: fc.constantFrom('58', '59', '00'),
      second: fc.constantFrom('59', '00', '30', '59', '00', '30', '60'),
      fraction,
      offset: fc.constantFrom('Z', '+01', '-01:00', '+00:30', 'z'),
    })
    .map((p) => `2017-07-${p.day}T${p.hour}:${p.minute}:${p.second}${p.fraction}${p.offset}`);
/** Any date-time, well formed or not: far years, the epoch, impossible days, bad separators and offsets. */
const anyDateTime = fc
  .record({
    year: fc
      .oneof(fc.constantFrom(1970, 2016, 0, 9999, 1969, 99), fc.integer({ min: 0, max: 9999 }))
      .map((y) => String(y).padStart(4, '0')),
    month: fc.oneof(fc.constantFrom('01', '02', '12'), two(0, 13)),
    day: fc.oneof(fc.constantFrom('01', '29', '31'), two(0, 32)),
    hour: fc.oneof(fc.constantFrom('00', '23'), two(0, 24)),
    minute: fc.oneof(fc.constantFrom('00', '59'), two(0, 60)),
    second: fc.oneof(fc.constantFrom('00', '59', '60'), two(0, 61)),
    fraction,
    separator: fc.constantFrom('T', 't', ' ', '_'),
    offset,
  })
  .map((p) => `${p.year}-${p.month}-${p.day}${p.separator}${p.hour}:${p.minute}:${p.second}${p.fraction}${p.offset}`);
const instantValue = (field: string) =>
  fc.oneof(
    { weight: 24, arbitrary: nearDateTime(afterOf(field) === undefined ? ['10', '11', '12'] : ['12', '13', '13']) },
    { weight: 3, arbitrary: anyDateTime },
    {
      weight: 1,
      arbitrary: fc.constantFrom('1970-01-01T00:00:00Z', '2017-07-12T23:59:60Z', '2016-12-31T23:59:60.999Z', '9999-12-31T23:59:60Z'),
    },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) },
  );
const placeValue = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('Dublin', 'holiday inn', 'Zürich', '東京', ' x ', 'x'.repeat(200)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\t\n', '\u0000', 'Dub\u0000lin', '\u200b', '\u00a0', 'a\u200d', '\ud800', 'x'.repeat(201)),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

const generatedTrip = fc
  .tuple(
    fc.record(Object.fromEntries(instantFields.map((field) => [field, instantValue(field)]))),
    fc.record(Object.fromEntries(placeFields.map((field) => [field, placeValue]))),
    fc.constantFrom({}, {}, {}, { fail: null }, { fail: ['BookHotel'] }, { seat: '12A' }),
  )
  .map(([instants, places, extra]) => ({ ...exampleTrip, ...instants, ...places, ...extra }));

describe('the trip validator against a plain oracle', () => {
  it('accepts exactly the trips that keep every rule, over 10,000 generated trips', () => {
    let accepted = 0;
    fc.assert(
      fc.property(generatedTrip, (trip) => {
        const valid = tripProblems(trip).length === 0;
        if (valid) accepted += 1;
        expect({ trip, valid }).toEqual({ trip, valid: oracleAccepts(trip) });
      }),
      { numRuns: 10_000 },
    );
    // Both verdicts were reached often enough to mean something.
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(9_800);
  });

  it.each([
    ['a leap second at check-in, check-out days before', { check_in: '2017-07-12T23:59:60Z', check_out: '2017-07-10T14:00:00Z' }],
    ['check-out at the epoch', { check_out: '1970-01-01T00:00:00Z' }],
    ['an hour-only offset putting check-out before check-in', { check_in: '2017-07-10T12:00:00+01', check_out: '2017-07-10T10:30:00Z' }],
    ['arrival at the epoch', { arrive_at: '1970-01-01T00:00:00Z' }],
    ['a rental ending before it starts, by a leap second', { rental_from: '2016-12-31T23:59:60.5Z', rental_to: '2016-12-31T23:59:59.9Z' }],
    ['a leap second that is not at 23:59 UTC', { check_out: '2017-07-12T14:00:60Z' }],
    ['a blank hotel', { hotel: '   ' }],
    ['a NUL in a place', { arrive: 'Dub\u0000lin' }],
  ])('refuses %s', (_, changes) => {
    expect(tripProblems({ ...exampleTrip, ...changes })).not.toEqual([]);
  });

  it.each([
    ['a leap second before the next day', { check_in: '2016-12-31T23:59:60Z', check_out: '2017-01-01T00:00:00Z' }],
    ['offsets of an hour alone', { check_in: '2017-07-10T12:00:00+01', check_out: '2017-07-10T11:00:00.001Z' }],
    ['a far year', { check_out: '9999-12-31T23:59:59.999999999Z' }],
  ])('accepts %s', (_, changes) => {
    expect(tripProblems({ ...exampleTrip, ...changes })).toEqual([]);
  });
});

describe('TripInvalid messages stay bounded', () => {
  it('clips each problem and the whole, saying how many were left out', () => {
    const manyUnknownKeys = Object.fromEntries(Array.from({ length: 10_000 }, (_, index) => [`unknown_${index}_${'k'.repeat(20)}`, 'x']));
    const hugeKey = { ['k'.repeat(250_000)]: 1 };
    const problems = tripProblems({ ...exampleTrip, ...manyUnknownKeys, ...hugeKey });
    expect(problems.length).toBe(10_001);
    const text = problemsText(problems);
    expect(text.length).toBeLessThanOrEqual(MAX_PROBLEMS_LENGTH);
    expect(text).toMatch(/; … and \d+ more$/);
    expect(Math.max(...text.split('; ').map((problem) => problem.length))).toBeLessThanOrEqual(MAX_PROBLEM_LENGTH);
  });

  it('keeps a short list whole', () => {
    expect(problemsText(['a', 'b'])).toBe('a; b');
  });
});
