import { describe, expect, it } from '@jest/globals';
import { retryStateOf } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { invariantProblems, type Ended } from '../../verify/invariant.ts';
import { firstStep, lastStep, owedBy, previousStep, steps } from '../helpers/sagas.ts';
import { exampleTrip } from '../helpers/trips.ts';

// The invariant on tables made up for each case: what it accepts, and that it names what it refuses.

const mine = 'arn:aws:states:us-east-1:000000000000:execution:TripBooking:mine';
const other = 'arn:aws:states:us-east-1:000000000000:execution:TripBooking:other';
const booking = (execution: string) => ({ ...exampleTrip, status: 'BOOKED', execution });
const cancelled = { status: 'CANCELLED', execution: mine };
const ended = (outcome: Ended['outcome'], changes: Partial<Ended> = {}): Ended => ({
  executionArn: mine,
  outcome,
  path: [],
  alerted: false,
  ...changes,
});
const all = (item: Record<string, unknown>) => Object.fromEntries(steps.map((step) => [step.name, item]));

describe('invariantProblems', () => {
  it('holds for a success with all its bookings, a rollback that left another execution’s, and bad input that wrote nothing', () => {
    expect(invariantProblems(tripSaga, ended('succeeded'), exampleTrip, all(booking(mine)))).toEqual([]);
    expect(invariantProblems(tripSaga, ended('rolled back'), exampleTrip, all(booking(other)))).toEqual([]);
    expect(invariantProblems(tripSaga, ended('bad input'), exampleTrip, {})).toEqual([]);
  });

  it('names a booking a success lacks, and a detail it got wrong', () => {
    expect(
      invariantProblems(tripSaga, ended('succeeded'), exampleTrip, { ...all(booking(mine)), [lastStep.name]: booking(other) }),
    ).toEqual([`succeeded, but ${lastStep.name} not booked by it`]);
    const field = firstStep.records[0] as keyof typeof exampleTrip;
    const wrong = { ...all(booking(mine)), [firstStep.name]: { ...booking(mine), [field]: 'elsewhere' } };
    expect(invariantProblems(tripSaga, ended('succeeded'), exampleTrip, wrong)).toEqual([
      `succeeded, but ${firstStep.name}.${field} differ from the trip`,
    ]);
  });

  it('names what a rollback left booked, and what bad input wrote', () => {
    expect(invariantProblems(tripSaga, ended('rolled back'), exampleTrip, { [firstStep.name]: booking(mine) })).toEqual([
      `rolled back, but ${firstStep.name} still booked by it`,
    ]);
    expect(invariantProblems(tripSaga, ended('bad input'), exampleTrip, { [firstStep.name]: cancelled })).toEqual([
      `bad input, but ${firstStep.name} written`,
    ]);
  });

  it('wants a stuck rollback stopped at a retry, alerted, holding only what the stuck compensation owed', () => {
    const stuck = ended('compensation not finished', { path: [retryStateOf(previousStep)], alerted: true });
    expect(invariantProblems(tripSaga, stuck, exampleTrip, { [previousStep.name]: booking(mine) })).toEqual([]);
    expect(invariantProblems(tripSaga, { ...stuck, alerted: false }, exampleTrip, {})).toEqual([
      'a compensation gave up, but no alert was published',
    ]);
    // A step whose compensation the stuck one does not owe (one after it, outside its group) must not be left booked.
    for (const step of steps.filter((other) => !owedBy(previousStep).includes(other.compensation))) {
      expect(invariantProblems(tripSaga, stuck, exampleTrip, { [step.name]: booking(mine) })).toEqual([
        `${step.name} still booked, though no compensation owed it`,
      ]);
    }
  });

  it('refuses an execution that ended otherwise', () => {
    expect(invariantProblems(tripSaga, ended('failed'), exampleTrip, {})).toEqual(['ended failed, which the saga never does']);
  });
});
