import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compensationRetryOf, stepsOf, type Saga } from '../../asl/saga.ts';
import type { FaultSpec } from '../../local/faults.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { expectConsistent, nextTripId, runChecked } from '../helpers/invariant.ts';
import { tripSagaOfShape } from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';

// The local engine's consistency under random fault schedules, apart from local/runtime's other tests so that Jest
// runs the two files at once.

describe('random fault schedules over step lists of 1 to 6 steps, single or in groups (fast-check)', () => {
  const sagas = new Map<string, Promise<LocalSaga>>();
  /** One local saga per shape of step list, started when a schedule first needs it. */
  const localOf = (shape: readonly number[]): Promise<LocalSaga> => {
    const key = shape.join('x');
    if (!sagas.has(key)) sagas.set(key, LocalSaga.start({ saga: tripSagaOfShape(shape) }));
    return sagas.get(key) as Promise<LocalSaga>;
  };
  afterAll(async () => {
    for (const local of sagas.values()) await (await local).close();
  });

  const faultOf = (saga: Saga) =>
    fc.option(
      fc.oneof(
        fc.constant<FaultSpec>({ times: 'always' }),
        fc.integer({ min: 1, max: compensationRetryOf(saga).maxAttempts + 1 }).map((times): FaultSpec => ({ times })),
      ),
      { nil: undefined },
    );

  // Entries of 1 (a single step) to 3 (a group of three), at most 6 steps in all.
  const shapes = fc
    .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
    .filter((shape) => shape.reduce((a, b) => a + b) <= 6);
  const schedule = shapes.chain((shape) => {
    const saga = tripSagaOfShape(shape);
    const states = stepsOf(saga).flatMap((step) => [step.action, step.compensation]);
    const faults = fc
      .tuple(...states.map(() => faultOf(saga)))
      .map((specs) => Object.fromEntries(states.flatMap((state, index) => (specs[index] ? [[state, specs[index]]] : []))));
    return fc.record({
      shape: fc.constant(shape),
      faults,
      deliverTwice: fc.subarray(states),
      // Another execution of the same trip, under another name: none, one at the same time, or one after.
      rival: fc.option(fc.record({ faults, concurrent: fc.boolean() }), { nil: undefined }),
    });
  });

  it('keeps the invariant in every run, with rival executions of the same trip: all booked, none, or an alert owing what is left', async () => {
    const outcomes = new Map<string, number>();
    let grouped = 0;
    await fc.assert(
      fc.asyncProperty(schedule, async ({ shape, faults, deliverTwice, rival }) => {
        const local = await localOf(shape);
        const trip = tripWithId(nextTripId(`prop${shape.join('x')}`));
        const first = runChecked(local, trip, faults, deliverTwice);
        const second =
          rival && (rival.concurrent ? runChecked(local, trip, rival.faults) : first.then(() => runChecked(local, trip, rival.faults)));
        const executions = await Promise.all([first, ...(second ? [second] : [])]);
        // Every execution was checked on its own, once it ended; the other may have ended later: check again.
        for (const execution of executions) {
          if (execution.outcome !== 'compensation not finished') await expectConsistent(local, execution, trip);
          outcomes.set(execution.outcome, (outcomes.get(execution.outcome) ?? 0) + 1);
        }
        if (shape.some((size) => size > 1)) grouped += 1;
        expect(executions.filter((execution) => execution.outcome === 'succeeded').length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1000 },
    );
    // The schedules reach every ending, and step lists with groups, so the property is not vacuous.
    expect([...outcomes.keys()].sort()).toEqual(['compensation not finished', 'rolled back', 'succeeded']);
    expect(grouped).toBeGreaterThan(100);
    // A bound, not a speed claim: 1,000 schedules take about 2 minutes alone, and more on a machine shared with other runs.
  }, 600_000);
});
