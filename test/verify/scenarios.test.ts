import { describe, expect, it } from '@jest/globals';
import { alertStateOf, compensatableStepsOf, retriableStepsOf, retryStateOf, stepsOf, type SagaStep } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { executionsOf, samePath, scenariosOf, topLevelStatesOf, TRANSIENT_FAILURES } from '../../verify/scenarios.ts';
import {
  actionStatesOf,
  addedStep,
  compensationPathFrom,
  compensationStatesOf,
  expectSamePath,
  firstStep,
  groupOf,
  happyPathOf,
  lastStep,
  previousStep,
  rollbackPathOf,
  stageIndexOf,
  stageOf,
  steps,
  tripParallelSaga,
  tripSagaOfTwoStagesOrMore,
  tripSagaWithAddedStep,
  withPivotAt,
} from '../helpers/sagas.ts';

// The suite is derived from the step list: a step added is a step verified.

describe('scenariosOf', () => {
  const scenarios = scenariosOf(tripSaga);
  const titled = (title: string) => scenarios.find((scenario) => scenario.title === title);

  it('fails each action alone, expecting the rollback from its step', () => {
    for (const step of steps) {
      const scenario = titled(`${step.action} fails`);
      expect(scenario).toMatchObject({ fail: [step.action], outcomes: ['rolled back'] });
      expect(scenario?.paths).toHaveLength(1);
      expectSamePath(scenario?.paths[0] ?? [], rollbackPathOf(step));
    }
  });

  it('fails each compensation a few attempts after the last action, expecting it retried and the whole rollback', () => {
    for (const step of steps) {
      const scenario = titled(`${step.compensation} fails ${TRANSIENT_FAILURES}× and recovers`);
      expect(scenario).toMatchObject({
        fail: [lastStep.action, `${step.compensation}=${TRANSIENT_FAILURES}`],
        recovers: { state: step.compensation, attempts: TRANSIENT_FAILURES + 1 },
      });
      expect(scenario?.paths).toHaveLength(1);
      expectSamePath(scenario?.paths[0] ?? [], rollbackPathOf(lastStep));
    }
  });

  it('gets the step before the last stuck until a redrive, which finishes the rollback', () => {
    const [scenario] = scenarios.filter((candidate) => candidate.kind === 'redrive');
    expect(scenario?.fail).toEqual([lastStep.action, `${previousStep.compensation}=until-redrive`]);
    expect(scenario?.outcomes).toEqual(['compensation not finished', 'rolled back']);
    const stopped = rollbackPathOf(lastStep, tripSaga, { stuck: previousStep });
    // Stopped at the stuck compensation's retry (in a group, at the group's compensations), which the redrive reruns,
    // going on with the earlier compensations.
    const own = compensationStatesOf(stageOf(previousStep));
    const earlier = compensationPathFrom(previousStep).slice(own.length);
    const redriven = groupOf(previousStep) === undefined ? [retryStateOf(previousStep), ...earlier] : [...own, ...earlier];
    expectSamePath(scenario?.paths[0] ?? [], [...stopped, ...redriven]);
  });

  it('expects two executions of one trip to end one succeeded and one rolled back from the first step', () => {
    const scenario = titled('two executions of one trip');
    expect(scenario?.outcomes).toEqual(['succeeded', 'rolled back']);
    expect(scenario?.paths).toHaveLength(2);
    expectSamePath(scenario?.paths[0] ?? [], happyPathOf());
    // The first entry of the step list finds the trip held: every action of it fails.
    expectSamePath(scenario?.paths[1] ?? [], rollbackPathOf(firstStep));
  });

  it('grows with the step list: two scenarios and two executions more for a step added', () => {
    const grown = scenariosOf(tripSagaWithAddedStep);
    expect(grown.map((scenario) => scenario.title)).toEqual(
      expect.arrayContaining([`${addedStep.action} fails`, `${addedStep.compensation} fails ${TRANSIENT_FAILURES}× and recovers`]),
    );
    expect(grown).toHaveLength(scenarios.length + 2);
    expect(executionsOf(scenarios)).toBe(2 * steps.length + 6);
    expect(executionsOf(grown)).toBe(2 * (steps.length + 1) + 6);
  });

  it('leaves out the recoveries where compensations are not retried', () => {
    expect(scenariosOf(tripSaga, 0).some((scenario) => scenario.recovers)).toBe(false);
    expect(
      scenariosOf(tripSaga, 1)
        .find((scenario) => scenario.recovers)
        ?.fail.at(-1),
    ).toBe(`${firstStep.compensation}=1`);
  });
});

describe('scenariosOf, for a step list with a group', () => {
  it('fails each grouped action alone, expecting the rollback, its path compared whatever the order of the branches’ states', async () => {
    const grouped = (await import('../../examples/trip-parallel.ts')).default;
    const topLevel = topLevelStatesOf(grouped);
    for (const step of stepsOf(grouped)) {
      const path = scenariosOf(grouped).find((scenario) => scenario.title === `${step.action} fails`)?.paths[0] ?? [];
      expect(path.at(-1)).toBe('SagaRolledBack');
      // The branches' states interleaved otherwise: the same path. The top-level states in another order: not.
      const inBranches = path.filter((state) => !topLevel.has(state)).reverse();
      const interleaved = path.map((state) => (topLevel.has(state) ? state : (inBranches.shift() as string)));
      expect(samePath(topLevel, interleaved, path)).toBe(true);
      expect(samePath(topLevel, [...path].reverse(), path)).toBe(false);
    }
  });
});

describe('scenariosOf, past the pivot', () => {
  // The trip with its first step as the pivot, every later entry retriable; and the parallel trip so, its group retriable.
  const shapes = [withPivotAt(tripSagaOfTwoStagesOrMore, 0), withPivotAt(tripParallelSaga, 0)];

  it.each(shapes.map((saga) => [saga.name, saga] as const))(
    '%s: each retriable step fails a few times and goes on to succeed, never compensated',
    (_, saga) => {
      const forward = retriableStepsOf(saga);
      expect(forward.length).toBeGreaterThan(0);
      const scenarios = scenariosOf(saga);
      for (const step of forward) {
        const scenario = scenarios.find((candidate) => candidate.recovers?.state === step.action);
        expect(scenario).toMatchObject({
          kind: 'once',
          fail: [`${step.action}=${TRANSIENT_FAILURES}`],
          outcomes: ['succeeded'],
          recovers: { state: step.action, attempts: TRANSIENT_FAILURES + 1 },
        });
        expectSamePath(scenario?.paths[0] ?? [], happyPathOf(saga), saga);
      }
      // No retriable step fails for good in a rollback scenario: its failure never rolls back.
      for (const step of forward) expect(scenarios.some((scenario) => scenario.fail.includes(step.action))).toBe(false);
    },
  );

  it.each(shapes.map((saga) => [saga.name, saga] as const))(
    '%s: the last retriable step stuck, alerted, then redriven forward to success',
    (_, saga) => {
      const stuck = retriableStepsOf(saga).at(-1) as SagaStep;
      const redriven = scenariosOf(saga).filter(
        (scenario) => scenario.kind === 'redrive' && scenario.outcomes.includes('step not finished'),
      );
      expect(redriven).toHaveLength(1);
      const [scenario] = redriven;
      expect(scenario?.fail).toEqual([`${stuck.action}=until-redrive`]);
      expect(scenario?.outcomes).toEqual(['step not finished', 'succeeded']);
      // Every action up to the stuck one, its alert and retry, where it stops; the redrive reruns that retry (in a
      // group, the group's Parallel state, which reruns the stuck branch) and goes on to the end.
      const group = groupOf(stuck, saga);
      const stage = stageIndexOf(stuck, saga);
      const stopped = [...saga.steps.slice(0, stage + 1).flatMap(actionStatesOf), alertStateOf(stuck), retryStateOf(stuck)];
      const rerun = group === undefined ? [retryStateOf(stuck)] : actionStatesOf(group);
      const after = saga.steps.slice(stage + 1).flatMap(actionStatesOf);
      expectSamePath(scenario?.paths[0] ?? [], [...stopped, ...rerun, ...after], saga);
      // Nothing is compensated on its way.
      const compensations = new Set(compensatableStepsOf(saga).map((step) => step.compensation));
      expect((scenario?.paths[0] ?? []).filter((state) => compensations.has(state))).toEqual([]);
    },
  );

  it('runs the order saga’s retriable step (examples/order.ts) both ways', async () => {
    const order = (await import('../../examples/order.ts')).default;
    const [shipment] = retriableStepsOf(order);
    const faults = scenariosOf(order).map((scenario) => scenario.fail.join());
    expect(faults).toEqual(expect.arrayContaining([`${shipment?.action}=${TRANSIENT_FAILURES}`, `${shipment?.action}=until-redrive`]));
  });
});
