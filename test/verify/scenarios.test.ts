import { describe, expect, it } from '@jest/globals';
import { retryStateOf, stepsOf } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { executionsOf, samePath, scenariosOf, topLevelStatesOf, TRANSIENT_FAILURES } from '../../verify/scenarios.ts';
import {
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
  stageOf,
  steps,
  tripSagaWithAddedStep,
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
