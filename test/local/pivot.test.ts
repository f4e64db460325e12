import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isGroup, retriableStepsOf, roleOfStage, StepRole, stepsOf, type Saga } from '../../asl/saga.ts';
import { LocalSaga, stillBooked } from '../../local/runtime.ts';
import { failureMatrix } from '../helpers/matrix.ts';
import { expectConsistent, nextTripId, runChecked } from '../helpers/invariant.ts';
import { tripSagaOfShape, withPivotAt } from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';

// The failure matrix past the pivot, on the real handlers and tables: a step, the pivot, then a group of retriable
// steps and a retriable step. Every execution is checked against the invariant, and one stuck past the pivot is
// redriven forward to SUCCEEDED (runChecked).

const saga: Saga = withPivotAt(tripSagaOfShape([1, 1, 2, 1]), 1);

describe('the failure matrix of a saga with a pivot and a group of retriable steps', () => {
  let local: LocalSaga;
  beforeAll(async () => {
    local = await LocalSaga.start({ saga });
  });
  afterAll(() => local.close());

  it('has a group of retriable steps, and single ones', () => {
    expect(saga.steps.filter((stage) => isGroup(stage) && roleOfStage(stage) === StepRole.Retriable)).toHaveLength(1);
    expect(retriableStepsOf(saga).length).toBeGreaterThan(2);
  });

  it.each(failureMatrix(saga).map((scenario) => [scenario.name, scenario] as const))('%s', async (_, scenario) => {
    const trip = tripWithId(nextTripId(scenario.name.replaceAll(' ', '-').replaceAll(/[^A-Za-z0-9-]/g, '')));
    const execution = await runChecked(local, trip, { ...scenario.faults }, [...scenario.deliverTwice]);
    expect(execution.outcome).toBe(scenario.expected);
    // Then the same trip under another name: it wins only if the first was rolled back (a stuck rollback was redriven
    // to its end, and so was a step stuck past the pivot, which then holds everything), leaving the first's ending intact.
    const rival = await runChecked(local, trip);
    const undone = scenario.expected === 'rolled back' || scenario.expected === 'compensation not finished';
    expect(rival.outcome).toBe(undone ? 'succeeded' : 'rolled back');
    if (execution.outcome === 'succeeded') await expectConsistent(local, execution, trip);
    // Stuck past the pivot, then redriven: every step's effect is its own.
    if (execution.outcome === 'step not finished')
      expect(stillBooked(await local.bookingsOf(trip.trip_id), execution.executionArn)).toEqual(stepsOf(saga).map((step) => step.name));
  });
});

it('refuses to run a saga with retriable steps on a local EXPRESS machine, naming them', async () => {
  const names = retriableStepsOf(saga).map((step) => step.name);
  await expect(LocalSaga.start({ saga, type: 'EXPRESS' })).rejects.toMatchObject({
    name: 'SagaDefinitionError',
    problems: [expect.stringContaining(`retriable step(s) ${names.join(', ')}: an EXPRESS state machine cannot be redriven`)],
  });
});
