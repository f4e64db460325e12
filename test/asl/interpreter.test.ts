import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compensationRetryOf, DEFAULT_ACTION_RETRY, placeholderResources, renderSaga, StepError, type Saga } from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { runDefinition } from '../helpers/interpreter.ts';
import { sagaOfSize } from '../helpers/sagas.ts';

// The rendered definition executed by aws-local-stepfunctions, an ASL interpreter we did not write.

const trip = JSON.parse(readFileSync(new URL('../../examples/trip.json', import.meta.url), 'utf8')) as Record<string, string>;
const tripDefinition = renderSaga(tripSaga, placeholderResources(tripSaga));
const business = (times: number | 'always' = 'always') => ({ error: StepError.BookingConflict, times });

describe('the trip saga in an ASL interpreter', () => {
  it('happy path: enters exactly the 3 actions and succeeds, the trip intact beside each result', async () => {
    const run = await runDefinition(tripDefinition, trip);
    expect(run.entered).toEqual(['BookHotel', 'BookFlight', 'BookRental']);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toEqual({
      ...trip,
      results: { BookHotel: { done: 'BookHotel' }, BookFlight: { done: 'BookFlight' }, BookRental: { done: 'BookRental' } },
    });
  });

  it.each([
    [1, ['BookHotel', 'CancelHotel', 'SagaRolledBack']],
    [2, ['BookHotel', 'BookFlight', 'CancelFlight', 'CancelHotel', 'SagaRolledBack']],
    [3, ['BookHotel', 'BookFlight', 'BookRental', 'CancelRental', 'CancelFlight', 'CancelHotel', 'SagaRolledBack']],
  ])('a failure at step %i enters 2k+1 states: k actions, compensations k..1, one Fail', async (k, expected) => {
    const failing = tripSaga.steps[k - 1]?.action as string;
    const run = await runDefinition(tripDefinition, trip, { [failing]: business() });
    expect(run.entered).toEqual(expected);
    expect(run.entered).toHaveLength(2 * k + 1);
    expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
  });

  it('passes every function the original trip, however far the execution went', async () => {
    const run = await runDefinition(tripDefinition, trip, { BookRental: business() });
    for (const name of ['BookHotel', 'BookFlight', 'BookRental', 'CancelRental', 'CancelFlight', 'CancelHotel']) {
      expect(run.inputs[name]).toEqual([{ trip }]);
    }
  });

  it('does not retry a business error', async () => {
    const run = await runDefinition(tripDefinition, trip, { BookFlight: business() });
    expect(run.calls['BookFlight']).toBe(1);
  });

  it('retries a transient error and carries on when it clears', async () => {
    const run = await runDefinition(tripDefinition, trip, { BookFlight: { error: StepError.Transient, times: 2 } });
    expect(run.calls['BookFlight']).toBe(3);
    expect(run.entered).toEqual(['BookHotel', 'BookFlight', 'BookRental']);
    expect(run.status).toBe('SUCCEEDED');
  });

  it.each(['Lambda.TooManyRequestsException', 'Lambda.ServiceException'])(
    'compensates once a transient error (%s) outlasts its retries',
    async (error) => {
      const run = await runDefinition(tripDefinition, trip, { BookFlight: { error, times: 'always' } });
      expect(run.calls['BookFlight']).toBe(1 + DEFAULT_ACTION_RETRY.maxAttempts);
      expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
    },
  );

  it('a compensation that fails twice then succeeds completes the rollback', async () => {
    const run = await runDefinition(tripDefinition, trip, {
      BookRental: business(),
      CancelFlight: { error: 'Lambda.ServiceException', times: 2 },
    });
    expect(run.calls['CancelFlight']).toBe(3);
    expect(run.entered).toEqual(['BookHotel', 'BookFlight', 'BookRental', 'CancelRental', 'CancelFlight', 'CancelHotel', 'SagaRolledBack']);
    expect(run.error).toBe('SagaRolledBack');
  });

  it('a compensation that never succeeds stops after its bounded attempts and raises the alert', async () => {
    const run = await runDefinition(tripDefinition, trip, { BookRental: business(), CancelFlight: business() });
    expect(run.calls['CancelFlight']).toBe(1 + compensationRetryOf(tripSaga).maxAttempts);
    expect(run.entered).toEqual([
      'BookHotel',
      'BookFlight',
      'BookRental',
      'CancelRental',
      'CancelFlight',
      'AlertCancelFlight',
      'SagaCompensationIncomplete',
    ]);
    expect(run.calls['CancelHotel']).toBeUndefined();
    expect(run).toMatchObject({ status: 'FAILED', error: 'SagaCompensationIncomplete' });
    const [published] = run.inputs['AlertCancelFlight'] ?? [];
    expect(published).toMatchObject({
      TopicArn: placeholderResources(tripSaga).alertTopic,
      Message: {
        trip_id: trip['trip_id'],
        failedCompensation: 'CancelFlight',
        compensationsOwed: 2,
        errors: { BookRental: { Error: StepError.BookingConflict }, CancelFlight: { Error: StepError.BookingConflict } },
      },
    });
    expect(JSON.stringify(published)).not.toContain(trip['hotel'] as string);
  });

  it('an invalid trip ends in TripInvalid without compensating', async () => {
    const run = await runDefinition(tripDefinition, { trip_id: 'x' }, { BookHotel: { error: StepError.TripInvalid, times: 'always' } });
    expect(run.entered).toEqual(['BookHotel', 'TripRejected']);
    expect(run.calls['BookHotel']).toBe(1);
    expect(run).toMatchObject({ status: 'FAILED', error: 'TripInvalid' });
  });
});

describe('generated sagas in an ASL interpreter', () => {
  const definitions = new Map<number, ReturnType<typeof renderSaga>>();
  const definitionOf = (saga: Saga) => {
    const cached = definitions.get(saga.steps.length) ?? renderSaga(saga, placeholderResources(saga));
    definitions.set(saga.steps.length, cached);
    return cached;
  };

  it('for 1 to 8 steps and any failing step k, enters k actions, compensations k..1 and SagaRolledBack', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size }))),
        async ([size, k]) => {
          const saga = sagaOfSize(size);
          const steps = saga.steps;
          const faults = k === 0 ? {} : { [steps[k - 1]?.action as string]: business() };
          const run = await runDefinition(definitionOf(saga), { id: 'trip' }, faults);
          if (k === 0) {
            expect(run.entered).toEqual(steps.map((step) => step.action));
            expect(run.status).toBe('SUCCEEDED');
          } else {
            const done = steps.slice(0, k);
            expect(run.entered).toEqual([
              ...done.map((step) => step.action),
              ...done.reverse().map((step) => step.compensation),
              'SagaRolledBack',
            ]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('50 steps: a failure at the last step compensates all 50 in reverse', async () => {
    const saga = sagaOfSize(50);
    const last = saga.steps.at(-1)?.action as string;
    const run = await runDefinition(definitionOf(saga), { id: 'trip' }, { [last]: business() });
    expect(run.entered).toHaveLength(101);
    expect(run.entered.at(-2)).toBe('CancelStep1');
  });
});
