import { describe, expect, it } from '@jest/globals';
import { retryStateOf, stepsOf } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { executionsOf, samePath, scenariosOf, topLevelStatesOf, TRANSIENT_FAILURES } from '../../verify/scenarios.ts';
import { actions, addedStep, firstStep, lastStep, previousStep, rollbackPath, steps, tripSagaWithAddedStep } from '../helpers/sagas.ts';

// The suite is derived from the step list: a step added is a step verified.

describe('scenariosOf', () => {
  const scenarios = scenariosOf(tripSaga);
  const titled = (title: string) => scenarios.find((scenario) => scenario.title === title);

  it('fails each action alone, expecting the rollback from its step', () => {
    steps.forEach((step, index) => {
      expect(titled(`${step.action} fails`)).toMatchObject({
        fail: [step.action],
        outcomes: ['rolled back'],
        paths: [rollbackPath(index + 1)],
      });
    });
  });

  it('fails each compensation a few attempts after the last action, expecting it retried and the whole rollback', () => {
    for (const step of steps) {
      expect(titled(`${step.compensation} fails ${TRANSIENT_FAILURES}× and recovers`)).toMatchObject({
        fail: [lastStep.action, `${step.compensation}=${TRANSIENT_FAILURES}`],
        paths: [rollbackPath(steps.length)],
        recovers: { state: step.compensation, attempts: TRANSIENT_FAILURES + 1 },
      });
    }
  });

  it('gets the step before the last stuck until a redrive, which finishes the rollback', () => {
    const [scenario] = scenarios.filter((candidate) => candidate.kind === 'redrive');
    expect(scenario?.fail).toEqual([lastStep.action, `${previousStep.compensation}=until-redrive`]);
    expect(scenario?.outcomes).toEqual(['compensation not finished', 'rolled back']);
    const path = scenario?.paths[0] ?? [];
    const earlier = steps
      .slice(0, steps.indexOf(previousStep))
      .reverse()
      .map((step) => step.compensation);
    // Stopped at the stuck compensation's retry, which the redrive reruns, going on with the earlier compensations.
    expect(path.slice(path.lastIndexOf(retryStateOf(previousStep)) + 1)).toEqual([...earlier, 'SagaRolledBack']);
  });

  it('expects two executions of one trip to end one succeeded and one rolled back from the first step', () => {
    expect(titled('two executions of one trip')).toMatchObject({
      outcomes: ['succeeded', 'rolled back'],
      paths: [actions, rollbackPath(1)],
    });
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
