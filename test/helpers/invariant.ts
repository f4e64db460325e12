import { expect } from '@jest/globals';
import { retryStateOf, type SagaStep } from '../../asl/saga.ts';
import type { Trip } from '../../functions/trip.ts';
import { stillBooked, type Execution, type LocalSaga } from '../../local/runtime.ts';

// The saga's consistency invariant, checked on the real tables after an execution ends.

export type Bookings = Record<string, Record<string, unknown> | undefined>;
/** The steps booked for the trip, by any execution. */
export const booked = (bookings: Bookings) =>
  Object.entries(bookings).flatMap(([step, item]) => (item?.['status'] === 'BOOKED' ? [step] : []));

/**
 * The invariant: a succeeded execution leaves all N bookings, its own, with its details; a rolled-back one leaves
 * none of its own; one whose compensation did not finish raised an alert owing exactly the steps up to the stuck
 * one, and every booking of its own left is among those; bad input writes nothing.
 */
export async function expectConsistent(local: LocalSaga, execution: Execution, trip: Trip): Promise<Bookings> {
  const bookings = await local.bookingsOf(trip.trip_id);
  const steps = local.saga.steps;
  const own = stillBooked(bookings, execution.executionArn);
  switch (execution.outcome) {
    case 'succeeded':
      expect(own).toEqual(steps.map((step) => step.name));
      for (const step of steps) for (const field of step.records) expect(bookings[step.name]?.[field]).toBe(trip[field as keyof Trip]);
      break;
    case 'rolled back':
      expect(own).toEqual([]);
      break;
    case 'compensation not finished': {
      // One alert per compensation that got stuck (a retry that then succeeds lets the rollback go on, and a later
      // one may get stuck too); the last names where the execution stopped.
      const stuckOnes = execution.alerts.map((alert) => alert.message['stuckCompensation']);
      expect(new Set(stuckOnes).size).toBe(stuckOnes.length);
      const message = execution.alerts.at(-1)?.message ?? {};
      const stuck = steps.findIndex((step) => step.compensation === message['stuckCompensation']);
      expect(stuck).toBeGreaterThanOrEqual(0);
      // It failed at the stuck compensation's retry, a Task state: redrivable.
      expect(execution.path.at(-1)).toBe(retryStateOf(steps[stuck] as SagaStep));
      expect(message['compensationsOwed']).toBe(
        steps
          .slice(0, stuck + 1)
          .reverse()
          .map((step) => step.compensation)
          .join(', '),
      );
      expect(message['execution']).toBe(execution.executionArn);
      expect(message['resume']).toBe(`aws stepfunctions redrive-execution --execution-arn ${execution.executionArn}`);
      const owed = steps.slice(0, stuck + 1).map((step) => step.name);
      for (const step of own) expect(owed).toContain(step);
      // The alert names exactly the bookings left.
      expect(execution.alerts.at(-1)?.bookingsLeft).toEqual(own);
      break;
    }
    case 'bad input':
      expect(Object.values(bookings).filter(Boolean)).toEqual([]);
      break;
    case 'aborted':
    case 'failed':
      throw new Error(`execution ended unexpectedly (${execution.outcome}): ${execution.error}: ${execution.cause}`);
  }
  return bookings;
}
