import type { Trip } from '../../saga.ts';
import { expect } from '@jest/globals';
import {
  actionEntryOf,
  compensatableStepsOf,
  groupCompensationOf,
  isGroup,
  retryStateOf,
  roleOf,
  StepRole,
  stepsOfStage,
  stuckTaskOf,
  type SagaStep,
} from '../../asl/saga.ts';
import type { FaultSpec } from '../../local/faults.ts';
import { stillBooked, type Execution, type LocalSaga } from '../../local/runtime.ts';
import { invariantProblems, stuckStepOf } from '../../verify/invariant.ts';
import { owedMessageOf } from './sagas.ts';

// The saga's consistency invariant, checked on the real tables after an execution ends.

export type Bookings = Record<string, Record<string, unknown> | undefined>;
/** The steps booked for the trip, by any execution. */
export const booked = (bookings: Bookings) =>
  Object.entries(bookings).flatMap(([step, item]) => (item?.['status'] === 'BOOKED' ? [step] : []));

/**
 * The invariant (verify/invariant.ts, which `saga verify` checks too) and, of one whose compensation did not finish,
 * its alert: raised once per stuck compensation, owing exactly the stuck step, the rest of its group and every
 * earlier step, and naming the bookings left.
 */
export async function expectConsistent(
  local: LocalSaga,
  execution: Execution,
  input: Readonly<Record<string, unknown>>,
): Promise<Bookings> {
  // A stopped branch's call may still be under way: its write lands before the tables are read.
  await local.idle();
  // The step list the execution started with, whatever the local saga's is now.
  const { saga, definition } = local.pinnedOf(execution);
  const bookings = await local.bookingsOf(String(input[saga.keyField]), saga);
  const stages = saga.steps;
  const own = stillBooked(bookings, execution.executionArn);
  if (execution.outcome === 'aborted' || execution.outcome === 'failed')
    throw new Error(`execution ended unexpectedly (${execution.outcome}): ${execution.error}: ${execution.cause}`);
  expect(invariantProblems(saga, { ...execution, alerted: execution.alerts.length > 0 }, input, bookings)).toEqual([]);
  if (execution.outcome === 'compensation not finished') {
    // One alert per compensation that got stuck (a retry that then succeeds lets the rollback go on, and a later
    // one may get stuck too, or, in a group, a sibling at the same time).
    const stuckOnes = execution.alerts.map((alert) => alert.message['stuckCompensation']);
    expect(new Set(stuckOnes).size).toBe(stuckOnes.length);
    // Stuck where the last retry after an alert failed.
    const stuckStep = stuckStepOf(saga, execution.path) as SagaStep;
    const alert = execution.alerts.findLast((raised) => raised.message['stuckCompensation'] === stuckStep.compensation);
    const message = alert?.message ?? {};
    const stage = stages.findIndex((entry) => stepsOfStage(entry).includes(stuckStep));
    const group = stages[stage];
    // It failed at the stuck compensation's retry, a Task state, or at its group's compensations: redrivable.
    expect(execution.path.findLast((state) => state in definition.States)).toBe(
      group !== undefined && isGroup(group) ? groupCompensationOf(group) : retryStateOf(stuckStep),
    );
    // Owed: the stuck one, the rest of its group (run at once), then every earlier stage's in reverse.
    const owed = [
      stuckStep,
      ...stepsOfStage(group as never).filter((step) => step !== stuckStep),
      ...stages.slice(0, stage).reverse().flatMap(stepsOfStage),
    ];
    expect(message['compensationsOwed']).toBe(owedMessageOf(owed.map(stuckTaskOf)));
    expect(message['execution']).toBe(execution.executionArn);
    expect(message['resume']).toBe(`aws stepfunctions redrive-execution --execution-arn ${execution.executionArn}`);
    // The alert names exactly the bookings left. In a group it can only name what is owed: its other compensations
    // may still be running when it is published, and a stopped branch's write may land after it (its compensation
    // being the stuck one); the redrive undoes that too (runChecked).
    const left = alert?.bookingsLeft ?? [];
    if (group !== undefined && isGroup(group)) for (const step of left) expect(owed.map((owing) => owing.name)).toContain(step);
    else expect(left).toEqual(own);
  }
  if (execution.outcome === 'step not finished') {
    // Past the pivot: one alert per retriable step that gave up, naming it and the redrive that goes on from it.
    const stuckStep = stuckStepOf(saga, execution.path) as SagaStep;
    expect(roleOf(stuckStep)).toBe(StepRole.Retriable);
    const alert = execution.alerts.findLast((raised) => raised.message['stuckStep'] === stuckStep.action);
    expect(alert?.message['execution']).toBe(execution.executionArn);
    expect(alert?.message['resume']).toBe(`aws stepfunctions redrive-execution --execution-arn ${execution.executionArn}`);
    // Owed: the stuck one, the rest of its group (run at once), then every later stage's in order.
    const stage = stages.findIndex((entry) => stepsOfStage(entry).includes(stuckStep));
    const group = stages[stage];
    const owed = [
      stuckStep,
      ...stepsOfStage(group as never).filter((step) => step !== stuckStep),
      ...stages.slice(stage + 1).flatMap(stepsOfStage),
    ];
    expect(alert?.message['stepsOwed']).toBe(owedMessageOf(owed.map((step) => step.action)));
    // It failed at the step's retry, a Task state, or at its group's Parallel state: redrivable, forward.
    expect(execution.path.findLast((state) => state in definition.States)).toBe(
      group !== undefined && isGroup(group) ? actionEntryOf(group) : retryStateOf(stuckStep),
    );
    // No compensation ran: nothing is undone past the pivot.
    const compensations = new Set(compensatableStepsOf(saga).map((step) => step.compensation));
    expect(execution.path.filter((state) => compensations.has(state))).toEqual([]);
  }
  return bookings;
}

/**
 * Redrives an execution stuck past the pivot, the fault fixed: it goes on forward from the stuck step, runs no
 * compensation, and succeeds with every step's effect (the invariant's `succeeded`).
 */
export async function expectRedrivenForward(
  local: LocalSaga,
  execution: Execution,
  input: Readonly<Record<string, unknown>>,
): Promise<Execution> {
  const redriven = await local.redrive(execution, { retryDelayMs: 0 });
  expect(redriven).toMatchObject({ status: 'SUCCEEDED', outcome: 'succeeded', redriveCount: execution.redriveCount + 1 });
  const { saga } = local.pinnedOf(execution);
  const compensations = new Set(compensatableStepsOf(saga).map((step) => step.compensation));
  expect(redriven.path.slice(execution.path.length).filter((state) => compensations.has(state))).toEqual([]);
  await expectConsistent(local, redriven, input);
  return redriven;
}

let uniqueId = 0;
/** A name no other of the test file's trips or executions has. */
export const nextTripId = (label: string): string => `${label}-${(uniqueId += 1)}`;

/**
 * Runs, checks the invariant, and redrives (then checks again), the fault fixed, when a compensation did not finish
 * (it then rolls back) or a retriable step did not (it then succeeds, every effect kept, no compensation run).
 */
export async function runChecked(
  local: LocalSaga,
  trip: Trip,
  faults: Record<string, FaultSpec> = {},
  deliverTwice: string[] = [],
): Promise<Execution> {
  // Named apart from the trip: several executions of one trip may run.
  const execution = await local.execute(trip, { name: nextTripId('run'), faults, deliverTwice, retryDelayMs: 0 });
  await expectConsistent(local, execution, trip);
  if (execution.outcome === 'compensation not finished') {
    const redriven = await local.redrive(execution, { retryDelayMs: 0 });
    expect(redriven).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack', outcome: 'rolled back', redriveCount: 1 });
    expect(stillBooked(await local.bookingsOf(trip.trip_id), execution.executionArn)).toEqual([]);
  }
  if (execution.outcome === 'step not finished') await expectRedrivenForward(local, execution, trip);
  return execution;
}
