import { describe, expect, it } from '@jest/globals';
import { SagaOutcome, StepError } from '../../asl/errors.ts';
import {
  alertStateOf,
  compensatableStepsOf,
  compensationEntryOf,
  groupCompensationOf,
  isGroup,
  pivotOf,
  retriableStepsOf,
  retryStateOf,
  roleOf,
  StepRole,
  stepsOf,
  stepsOfStage,
  type ParallelGroup,
  type Saga,
  type SagaStep,
} from '../../asl/saga.ts';
import orderSaga from '../../examples/order.ts';
import tripParallel from '../../examples/trip-parallel.ts';
import { causeMessage, describeNeed, Need, needOf, resumeFromOf, routineEndsOf, type EndedExecution } from '../../status/needs.ts';
import { tripSaga } from '../../saga.ts';
import { firstStep, lastStep, stageOf, steps, tripSagaOfTwoStagesOrMore, withPivotAt } from '../helpers/sagas.ts';

// Which ended executions need a person, and where the rollback machine takes over: the rules, on the step lists.

const DAY = 86_400_000;
const now = new Date('2026-12-06T12:00:00Z');
const ended = (changes: Partial<EndedExecution>): EndedExecution => ({
  executionArn: 'arn:aws:states:us-east-1:000000000000:execution:TripBooking:x',
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:TripBooking',
  name: 'x',
  status: 'FAILED',
  startDate: new Date(now.getTime() - DAY),
  stopDate: new Date(now.getTime() - DAY),
  input: {},
  redrivable: true,
  redriveCount: 0,
  ...changes,
});

describe('needOf', () => {
  it('a routine end never needs anyone, whatever the tables hold', () => {
    for (const error of routineEndsOf(tripSaga, 'saga'))
      expect(needOf(tripSaga, 'saga', ended({ error }), [firstStep.name], now)).toBeUndefined();
  });

  it('any other failure needs a person while it can be redriven, and after that only while it holds bookings', () => {
    const stuck = ended({ error: StepError.InjectedFault });
    expect(needOf(tripSaga, 'saga', stuck, [], now)).toBe(Need.Stuck);
    const old = ended({ error: StepError.InjectedFault, stopDate: new Date(now.getTime() - 15 * DAY) });
    expect(needOf(tripSaga, 'saga', old, [firstStep.name], now)).toBe(Need.Stuck);
    // Past the deadline, holding nothing: the rollback machine finished it, or nothing was left to undo.
    expect(needOf(tripSaga, 'saga', old, [], now)).toBeUndefined();
  });

  it('a run that timed out or was stopped needs a person only if it left bookings', () => {
    expect(needOf(tripSaga, 'saga', ended({ status: 'TIMED_OUT' }), [firstStep.name], now)).toBe(Need.TimedOut);
    expect(needOf(tripSaga, 'saga', ended({ status: 'ABORTED' }), [firstStep.name], now)).toBe(Need.Aborted);
    expect(needOf(tripSaga, 'saga', ended({ status: 'ABORTED' }), [], now)).toBeUndefined();
  });

  it("the rollback machine's completed rollback is routine; its stuck one is not", () => {
    expect(needOf(tripSaga, 'rollback', ended({ error: SagaOutcome.RolledBack }), [], now)).toBeUndefined();
    expect(needOf(tripSaga, 'rollback', ended({ error: StepError.InjectedFault }), [], now)).toBe(Need.Stuck);
  });
});

describe('resumeFromOf', () => {
  it("takes over at the compensation of the last state's step (its group's), the last step's when it entered none", () => {
    const resumed = (step: SagaStep) => compensationEntryOf(stageOf(step));
    expect(resumeFromOf(tripSaga, retryStateOf(firstStep))).toBe(resumed(firstStep));
    expect(resumeFromOf(tripSaga, alertStateOf(lastStep))).toBe(resumed(lastStep));
    for (const step of steps) expect(resumeFromOf(tripSaga, step.action)).toBe(resumed(step));
    expect(resumeFromOf(tripSaga, undefined)).toBe(resumed(lastStep));
  });

  it('takes over nowhere from the pivot on: past the point of no return nothing is undone, only redriven forward', () => {
    const pivot = pivotOf(orderSaga) as SagaStep;
    for (const step of [pivot, ...retriableStepsOf(orderSaga)])
      for (const state of [step.action, ...(roleOf(step) === StepRole.Retriable ? [alertStateOf(step), retryStateOf(step)] : [])])
        expect(resumeFromOf(orderSaga, state)).toBeUndefined();
    for (const step of compensatableStepsOf(orderSaga)) expect(resumeFromOf(orderSaga, step.action)).toBe(step.compensation);
  });

  it("resumes a group whole, from any of its states or its branches'", () => {
    const group = tripParallel.steps.find(isGroup) as ParallelGroup;
    for (const state of [
      group.name,
      groupCompensationOf(group),
      ...stepsOfStage(group).flatMap((step) => [step.action, retryStateOf(step)]),
    ])
      expect(resumeFromOf(tripParallel, state)).toBe(groupCompensationOf(group));
  });
});

describe('describeNeed', () => {
  const rollbackStateMachineArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:TripBooking-rollback';
  const context = { endpointFlag: '', rollbackStateMachineArn };
  const trip = { [tripSaga.keyField]: 'trip-1' };

  it('finishes a stuck rollback with a redrive while AWS accepts one, its deadline 14 days after its end', () => {
    const stuck = ended({ error: StepError.InjectedFault, input: trip });
    const need = describeNeed(tripSaga, 'saga', stuck, Need.Stuck, [firstStep.name], retryStateOf(firstStep), context, now);
    expect(need.command).toBe(`aws stepfunctions redrive-execution --execution-arn ${stuck.executionArn}`);
    expect(need.redriveDeadline).toBe(new Date(stuck.stopDate.getTime() + 14 * DAY).toISOString());
    expect(need).toMatchObject({ key: 'trip-1', bookingsLeft: [firstStep.name], redrivable: true, ageSeconds: DAY / 1000 });
  });

  it('after the deadline, with the rollback machine from the compensation where it stopped, on its trip and bookings', () => {
    const old = ended({ error: StepError.InjectedFault, input: trip, stopDate: new Date(now.getTime() - 15 * DAY) });
    const need = describeNeed(tripSaga, 'saga', old, Need.Stuck, [firstStep.name], retryStateOf(lastStep), context, now);
    expect(need.redrivable).toBe(false);
    const input = { trip, execution: old.executionArn, resumeFrom: compensationEntryOf(stageOf(lastStep)) };
    expect(need.command).toBe(
      `aws stepfunctions start-execution --state-machine-arn ${rollbackStateMachineArn} --input '${JSON.stringify(input)}'`,
    );
  });

  // The order saga, whose pivot is followed by a retriable step; and the trip with its first step as the pivot.
  const pastThePivot: Saga[] = [orderSaga, withPivotAt(tripSagaOfTwoStagesOrMore, 0)];

  it.each(pastThePivot.map((saga) => [saga.name, saga] as const))(
    '%s: a step stuck past the pivot is stuck forward, finished by a redrive that goes on, never by the rollback machine',
    (_, saga) => {
      const input = { [saga.keyField]: 'key-1' };
      const forward = retriableStepsOf(saga);
      expect(forward.length).toBeGreaterThan(0);
      for (const step of forward) {
        for (const stoppedAt of [step.action, alertStateOf(step), retryStateOf(step)]) {
          const stuck = ended({ error: StepError.InjectedFault, input });
          const need = describeNeed(saga, 'saga', stuck, Need.Stuck, [], stoppedAt, context, now);
          expect(need).toMatchObject({ need: Need.StuckForward, forwardStep: step.action, redrivable: true });
          expect(need.command).toBe(`aws stepfunctions redrive-execution --execution-arn ${stuck.executionArn}`);
          expect(need.rollbackCommand).toBeUndefined();
          // Past the redrive window: what is left is finished by hand, the stuck step and every later one.
          const old = ended({ error: StepError.InjectedFault, input, stopDate: new Date(now.getTime() - 15 * DAY) });
          const late = describeNeed(saga, 'saga', old, Need.Stuck, [], stoppedAt, context, now);
          const left = stepsOf(saga).slice(stepsOf(saga).indexOf(step));
          expect(late.command).toBe(`no redrive accepted: finish by hand ${left.map((later) => later.action).join(', ')}`);
          expect(late.rollbackCommand).toBeUndefined();
        }
      }
      // Before the pivot, a stuck compensation is still the rollback's, with the rollback machine's command.
      for (const step of compensatableStepsOf(saga)) {
        const need = describeNeed(
          saga,
          'saga',
          ended({ error: StepError.InjectedFault, input }),
          Need.Stuck,
          [],
          retryStateOf(step),
          context,
          now,
        );
        expect(need.need).toBe(Need.Stuck);
        expect(need.forwardStep).toBeUndefined();
        expect(need.rollbackCommand).toContain('start-execution');
      }
    },
  );
});

describe('causeMessage', () => {
  it("is a Lambda error's message, and any other cause as it is", () => {
    const cause = JSON.stringify({ errorType: StepError.InjectedFault, errorMessage: 'failed on purpose', trace: ['at x'] });
    expect(causeMessage(cause)).toBe('failed on purpose');
    expect(causeMessage('stopped by hand')).toBe('stopped by hand');
    expect(causeMessage(undefined)).toBeUndefined();
  });
});
