import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { functionStatesOfStep, stepsOf, type Saga } from '../../asl/saga.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { faultSchedulesOf } from './fault-arbitrary.ts';
import { expectConsistent, nextTripId, runChecked } from './invariant.ts';
import { tripSagaOfShape, withPivotAt } from './sagas.ts';
import { tripWithId } from './trips.ts';

// The local engine's consistency under random fault schedules: one property, run by test/local/fault-schedules*.test.ts
// in halves, each file its own, so that Jest runs them at once (a run of 1,000 schedules was the suite's longest file).

/** The schedules of the property in all: each file runs its share. */
export const FAULT_SCHEDULES = 1000;

/** Describes the property over `numRuns` random schedules; its bounds on what they reach scale with that number. */
export function describeFaultSchedules(numRuns: number): void {
  describe('random fault schedules over step lists of 1 to 6 steps, single or in groups, with or without a pivot (fast-check)', () => {
    const sagas = new Map<string, Promise<LocalSaga>>();
    /** A step list of a shape, with its pivot (when there is one) at a single step's entry, every entry after it retriable. */
    const sagaOf = (shape: readonly number[], pivot: number | undefined): Saga =>
      pivot === undefined ? tripSagaOfShape(shape) : withPivotAt(tripSagaOfShape(shape), pivot);
    /** One local saga per shape of step list and pivot, started when a schedule first needs it. */
    const localOf = (shape: readonly number[], pivot: number | undefined): Promise<LocalSaga> => {
      const key = `${shape.join('x')}P${pivot ?? '-'}`;
      if (!sagas.has(key)) sagas.set(key, LocalSaga.start({ saga: sagaOf(shape, pivot) }));
      return sagas.get(key) as Promise<LocalSaga>;
    };
    afterAll(async () => {
      for (const local of sagas.values()) await (await local).close();
    });

    // Entries of 1 (a single step) to 3 (a group of three), at most 6 steps in all.
    const shapes = fc
      .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
      .filter((shape) => shape.reduce((a, b) => a + b) <= 6);
    // The pivot, if any: one of the shape's single steps, every entry after it retriable.
    const shapesAndPivots = shapes.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        pivot: fc.option(fc.constantFrom(...shape.flatMap((size, index) => (size === 1 ? [index] : [-1]))), { nil: undefined }),
      }),
    );
    const schedule = shapesAndPivots.chain(({ shape, pivot: chosen }) => {
      const pivot = chosen === undefined || chosen < 0 ? undefined : chosen;
      const saga = sagaOf(shape, pivot);
      const states = stepsOf(saga).flatMap(functionStatesOfStep);
      const faults = faultSchedulesOf(saga);
      return fc.record({
        shape: fc.constant(shape),
        pivot: fc.constant(pivot),
        faults,
        deliverTwice: fc.subarray(states),
        // Another execution of the same trip, under another name: none, one at the same time, or one after.
        rival: fc.option(fc.record({ faults, concurrent: fc.boolean() }), { nil: undefined }),
      });
    });

    it('keeps the invariant in every run, with rival executions of the same trip: all booked, none, or an alert owing what is left', async () => {
      const outcomes = new Map<string, number>();
      let grouped = 0;
      let pivoted = 0;
      await fc.assert(
        fc.asyncProperty(schedule, async ({ shape, pivot, faults, deliverTwice, rival }) => {
          const local = await localOf(shape, pivot);
          const trip = tripWithId(nextTripId(`prop${shape.join('x')}`));
          const first = runChecked(local, trip, faults, deliverTwice);
          const second =
            rival && (rival.concurrent ? runChecked(local, trip, rival.faults) : first.then(() => runChecked(local, trip, rival.faults)));
          const executions = await Promise.all([first, ...(second ? [second] : [])]);
          // Every execution was checked on its own, once it ended; with a rival, the other may have ended later: again.
          for (const execution of executions) {
            if (second && execution.outcome !== 'compensation not finished') await expectConsistent(local, execution, trip);
            outcomes.set(execution.outcome, (outcomes.get(execution.outcome) ?? 0) + 1);
          }
          if (shape.some((size) => size > 1)) grouped += 1;
          if (pivot !== undefined) pivoted += 1;
          expect(executions.filter((execution) => execution.outcome === 'succeeded').length).toBeLessThanOrEqual(1);
        }),
        { numRuns },
      );
      // The schedules reach every ending, and step lists with groups, so the property is not vacuous.
      expect([...outcomes.keys()].sort()).toEqual(['compensation not finished', 'rolled back', 'step not finished', 'succeeded']);
      expect(grouped).toBeGreaterThan(numRuns / 10);
      expect(pivoted).toBeGreaterThan(numRuns / 10);
      // A bound, not a speed claim: 500 schedules take about half a minute alone, and more on a machine shared with others.
    }, 600_000);
  });
}
