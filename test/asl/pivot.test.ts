import { describe, expect, it } from '@jest/globals';
import {
  ALL_ERRORS,
  alertStateOf,
  compensatableStepsOf,
  compensationEntryOf,
  costTable,
  DEFAULT_FORWARD_RETRY,
  definitionProblems,
  forwardRetryOf,
  functionStatesOf,
  isGroup,
  parallel,
  pivotIndexOf,
  pivotOf,
  placeholderResources,
  placeholderRollbackArn,
  renderRollback,
  renderSaga,
  retriableStepsOf,
  retryPolicyOf,
  retryStateOf,
  roleOf,
  roleOfStage,
  SagaDefinitionError,
  sagaPaths,
  stateNamesOf,
  StepError,
  StepRole,
  stepsOf,
  stepsOfStage,
  TerminalState,
  type ParallelGroup,
  type Saga,
  type SagaStep,
  type Stage,
} from '../../asl/index.ts';
import orderSaga from '../../examples/order.ts';
import { tripSaga } from '../../saga.ts';
import { aslValidator, graphHolding, task } from '../helpers/asl.ts';
import { runDefinition } from '../helpers/interpreter.ts';
import { chainOf, tripSagaOfShape, tripSagaOfSize, withPivotAt, withRole } from '../helpers/sagas.ts';

// Past the point of no return: the pivot commits the saga, the retriable steps after it only go forward. Every rule
// is stated on step lists over the trip's input (and the order saga, which uses them), names taken from the lists.

const pivotIndex = (saga: Saga): number => pivotIndexOf(saga) as number;
const order = orderSaga as Saga;
const orderDefinition = renderSaga(order, placeholderResources(order));
/** A step list with groups on both sides of the pivot: a group, a step, the pivot, a group of retriable steps, a step. */
const shaped = withPivotAt(tripSagaOfShape([2, 1, 1, 2, 1]), 2);
const shapedDefinition = renderSaga(shaped, placeholderResources(shaped));

function renderError(saga: Saga, render = () => renderSaga(saga, placeholderResources(saga))): SagaDefinitionError {
  try {
    render();
  } catch (error) {
    if (error instanceof SagaDefinitionError) return error;
    throw error;
  }
  throw new Error('the step list was accepted');
}

describe('the roles of the step list', () => {
  it('reads each step’s role, compensatable when none is given, and finds the pivot', () => {
    const pivot = pivotOf(order) as SagaStep;
    expect(roleOf(pivot)).toBe(StepRole.Pivot);
    expect(order.steps.indexOf(pivot)).toBe(pivotIndex(order));
    expect(stepsOf(order).map(roleOf)).toEqual(
      stepsOf(order).map((step, index) =>
        index < stepsOf(order).indexOf(pivot) ? StepRole.Compensatable : step === pivot ? StepRole.Pivot : StepRole.Retriable,
      ),
    );
    expect(pivotOf(tripSaga)).toBeUndefined();
    expect(stepsOf(tripSaga).map(roleOf)).toEqual(stepsOf(tripSaga).map(() => StepRole.Compensatable));
  });

  it('gives a group the role of its steps', () => {
    const groups = shaped.steps.filter(isGroup);
    expect(groups.map(roleOfStage)).toEqual(
      groups.map((group) => (shaped.steps.indexOf(group) > pivotIndex(shaped) ? StepRole.Retriable : StepRole.Compensatable)),
    );
  });

  it('invokes no compensation function for the pivot or a retriable step, and renders none of their states', () => {
    const uncompensated = stepsOf(order).filter((step) => roleOf(step) !== StepRole.Compensatable);
    expect(uncompensated.length).toBeGreaterThan(0);
    expect(functionStatesOf(order)).toEqual(
      stepsOf(order).flatMap((step) => [step.action, ...(step.compensation ? [step.compensation] : [])]),
    );
    expect(functionStatesOf(order)).toHaveLength(stepsOf(order).length + compensatableStepsOf(order).length);
    // Retriable steps alert and retry, as stuck compensations do; the pivot neither.
    const pivot = pivotOf(order) as SagaStep;
    expect(stateNamesOf(order)).not.toContain(alertStateOf(pivot));
    for (const step of retriableStepsOf(order))
      expect(stateNamesOf(order)).toEqual(expect.arrayContaining([alertStateOf(step), retryStateOf(step)]));
  });

  it('retries a retriable step by its documented default, overridden field by field', () => {
    const [step] = retriableStepsOf(order) as [SagaStep];
    expect(forwardRetryOf(step)).toEqual(DEFAULT_FORWARD_RETRY);
    expect(forwardRetryOf({ ...step, forwardRetry: { maxAttempts: 9 } } as SagaStep)).toEqual({ ...DEFAULT_FORWARD_RETRY, maxAttempts: 9 });
  });
});

describe('a step list that breaks the saga model is refused by name', () => {
  // Three steps over the trip's input, whatever the length of the trip's own step list.
  const three = tripSagaOfSize(3);
  const [first, second, third] = stepsOf(three) as [SagaStep, SagaStep, SagaStep];
  const withSteps = (steps: readonly Stage[]): Saga => ({ ...three, steps });
  const pivot = withRole(second, StepRole.Pivot);
  const retriable = withRole(third, StepRole.Retriable);

  it.each<[string, Saga, string]>([
    [
      'a pivot that declares a compensation',
      withSteps([first, { ...pivot, compensation: second.compensation } as SagaStep, retriable]),
      `step 2 (${second.name}): a pivot step declares no compensation (it has "${second.compensation}")`,
    ],
    [
      'a retriable step that declares a compensation',
      withSteps([first, pivot, { ...retriable, compensation: third.compensation } as SagaStep]),
      `step 3 (${third.name}): a retriable step declares no compensation (it has "${third.compensation}")`,
    ],
    [
      'two pivots',
      withSteps([withRole(first, StepRole.Pivot), pivot, retriable]),
      `pivots ${first.name}, ${second.name}: a saga has at most one`,
    ],
    [
      'a retriable step before the pivot',
      withSteps([withRole(first, StepRole.Retriable), pivot, retriable]),
      `step "${first.name}" is retriable but comes before the pivot`,
    ],
    [
      'a retriable step without a pivot',
      withSteps([first, second, retriable]),
      `step "${third.name}" is retriable but the saga has no pivot`,
    ],
    [
      'a compensatable step after the pivot',
      withSteps([first, pivot, third]),
      `step "${third.name}" comes after the pivot: it must be retriable`,
    ],
    [
      'a group after the pivot that is not retriable',
      withSteps([pivot, parallel('After', [first, third])]),
      'group "After" comes after the pivot: it must be retriable',
    ],
    [
      'a group that holds the pivot',
      withSteps([parallel('Both', [first, pivot]), retriable]),
      `group "Both" holds the pivot "${second.name}": a pivot stands alone`,
    ],
    [
      'a group whose steps disagree',
      withSteps([pivot, parallel('Mixed', [withRole(first, StepRole.Retriable), third])]),
      `group "Mixed" is compensatable, and its step "${first.name}" is retriable: a group's steps share one role`,
    ],
    [
      'a forward retry on a compensatable step',
      withSteps([{ ...first, forwardRetry: { maxAttempts: 1 } } as SagaStep, pivot, retriable]),
      `step 1 (${first.name}): only a retriable step has a forwardRetry`,
    ],
    [
      'a forward retry that cannot be',
      withSteps([first, pivot, { ...retriable, forwardRetry: { maxAttempts: -1 } } as SagaStep]),
      `step 3 (${third.name}) forwardRetry: maxAttempts must be an integer >= 0, got -1`,
    ],
    [
      'an unknown role',
      withSteps([{ ...first, role: 'final' } as unknown as SagaStep]),
      `step 1 (${first.name}): role "final" must be one of compensatable, pivot, retriable`,
    ],
    [
      'a compensatable step without its compensation',
      withSteps([withRole(first, StepRole.Pivot), { ...withRole(second, StepRole.Retriable), role: StepRole.Compensatable } as SagaStep]),
      `step 2 (${second.name}): a compensatable step names its compensation`,
    ],
  ])('%s', (_, saga, problem) => {
    expect(renderError(saga).problems.join('\n')).toContain(problem);
  });

  it('refuses retriable steps on EXPRESS, which cannot be redriven, naming them; a pivot alone may be EXPRESS', () => {
    const express = (saga: Saga) => () =>
      renderSaga(saga, placeholderResources(saga), { type: 'EXPRESS', rollbackStateMachine: placeholderRollbackArn(saga) });
    const names = retriableStepsOf(order).map((step) => step.name);
    expect(renderError(order, express(order)).problems).toEqual([
      expect.stringContaining(`retriable step(s) ${names.join(', ')}: an EXPRESS state machine cannot be redriven`),
    ]);
    // The trip's steps one after another, the last the pivot: a group, run at once, cannot be one.
    const chain = chainOf(tripSaga);
    const pivotLast = withPivotAt(chain, chain.steps.length - 1);
    expect(definitionProblems(express(pivotLast)())).toEqual([]);
  });
});

describe.each([
  ['the order saga', order, orderDefinition],
  ['groups on both sides of the pivot', shaped, shapedDefinition],
])('the rendered definition: %s', (_, saga, definition) => {
  const pivot = pivotOf(saga) as SagaStep;
  const at = pivotIndex(saga);

  it('passes asl-validator and our own rules', () => {
    expect(aslValidator(definition).errorsText('\n')).toBe('');
    expect(definitionProblems(definition)).toEqual([]);
  });

  it('rolls the pivot’s failure back from the stage before it: the pivot has nothing to undo', () => {
    const previous = saga.steps[at - 1];
    const catchAll = task(definition, pivot.action).Catch?.find((catcher) => catcher.ErrorEquals.includes(ALL_ERRORS));
    expect(catchAll?.Next).toBe(previous === undefined ? TerminalState.RolledBack : compensationEntryOf(previous));
  });

  it('never goes from a step past the pivot to a compensation', () => {
    const compensations = new Set(compensatableStepsOf(saga).flatMap((step) => [step.compensation]));
    for (const step of retriableStepsOf(saga)) {
      const graph = graphHolding(definition, step.action) as { States: Record<string, unknown> };
      const targets = JSON.stringify([step.action, alertStateOf(step), retryStateOf(step)].map((name) => graph.States[name]));
      for (const compensation of compensations) expect(targets).not.toContain(`"${compensation}"`);
    }
  });

  it('retries a retriable step on every error with its own policy, then alerts, then retries once more without a catcher', () => {
    for (const stage of saga.steps.slice(at + 1)) {
      for (const step of stepsOfStage(stage)) {
        const action = task(definition, step.action);
        expect(action.Retry?.map((retrier) => retrier.ErrorEquals)).toEqual([[ALL_ERRORS]]);
        expect(retryPolicyOf(action.Retry?.[0] as never)).toEqual(forwardRetryOf(step));
        expect(action.Catch).toEqual([{ ErrorEquals: [ALL_ERRORS], Next: alertStateOf(step), ResultPath: `$.errors.${step.action}` }]);
        expect(task(definition, alertStateOf(step)).Next).toBe(retryStateOf(step));
        const retry = task(definition, retryStateOf(step));
        // The same Task as the action, its same way on: a redrive reruns it and goes on forward.
        const { Catch: _, Comment: __, ...sameTask } = action;
        const { Comment: ___, ...retried } = retry;
        expect(retried).toEqual(sameTask);
        expect(retry.Catch).toBeUndefined();
      }
      // A group of retriable steps has no catcher: a branch stuck past its retry fails it, which a redrive reruns.
      if (isGroup(stage)) expect((definition.States[stage.name] as { Catch?: unknown }).Catch).toBeUndefined();
    }
  });

  it('alerts with the stuck step, what is still to do and the exact redrive command', () => {
    const stuck = retriableStepsOf(saga)[0] as SagaStep;
    const { Parameters } = task(definition, alertStateOf(stuck));
    expect(Parameters).toMatchObject({
      Subject: `Saga ${saga.name}: a forward step did not finish`,
      Message: {
        stuckStep: stuck.action,
        'error.$': `$.errors.${stuck.action}`,
        'resume.$': "States.Format('aws stepfunctions redrive-execution --execution-arn {}', $$.Execution.Id)",
      },
    });
    const owed = String((Parameters?.['Message'] as Record<string, unknown>)['stepsOwed']).split(', ');
    expect(owed).toEqual(
      expect.arrayContaining(
        retriableStepsOf(saga)
          .slice(retriableStepsOf(saga).indexOf(stuck))
          .map((step) => step.action)
          .slice(0, 10),
      ),
    );
  });

  it('lets the rollback machine resume only from compensations, which only the steps before the pivot have', () => {
    const rollback = renderRollback(saga, placeholderResources(saga));
    expect(aslValidator(rollback).errorsText('\n')).toBe('');
    const taskNames = Object.keys(rollback.States).concat(
      ...Object.values(rollback.States).flatMap((state) =>
        state.Type === 'Parallel' ? state.Branches.map((branch) => Object.keys(branch.States)) : [],
      ),
    );
    for (const step of stepsOf(saga).filter((one) => roleOf(one) !== StepRole.Compensatable)) expect(taskNames).not.toContain(step.action);
  });
});

describe('the rendered definition, run by an independent interpreter (aws-local-stepfunctions)', () => {
  const shipping = retriableStepsOf(order).at(-1) as SagaStep;
  const attempts = 1 + forwardRetryOf(shipping).maxAttempts;
  const input = { [order.keyField]: 'interpreted' };

  it('retries a retriable step past a business error and goes on: nothing is compensated', async () => {
    const run = await runDefinition(orderDefinition, input, {
      [shipping.action]: { error: StepError.BookingConflict, times: attempts - 1 },
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.calls[shipping.action]).toBe(attempts);
    for (const step of compensatableStepsOf(order)) expect(run.calls[step.compensation]).toBeUndefined();
  });

  it('stops at the retry of a retriable step that keeps failing, a Task state, after its alert: nothing undone', async () => {
    const run = await runDefinition(orderDefinition, input, {
      [shipping.action]: { error: StepError.BookingConflict, times: 'always' },
      [retryStateOf(shipping)]: { error: StepError.BookingConflict, times: 'always' },
    });
    expect(run).toMatchObject({ status: 'FAILED', error: StepError.BookingConflict });
    expect(run.entered.slice(-3)).toEqual([shipping.action, alertStateOf(shipping), retryStateOf(shipping)]);
    expect(run.calls[retryStateOf(shipping)]).toBe(attempts);
    for (const step of compensatableStepsOf(order)) expect(run.calls[step.compensation]).toBeUndefined();
  });

  it('rolls back the steps before the pivot when the pivot fails, and only those', async () => {
    const pivot = pivotOf(order) as SagaStep;
    const run = await runDefinition(orderDefinition, input, { [pivot.action]: { error: StepError.BookingConflict, times: 'always' } });
    expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
    for (const step of compensatableStepsOf(order)) expect(run.calls[step.compensation]).toBe(1);
    for (const step of retriableStepsOf(order)) expect(run.calls[step.action]).toBeUndefined();
  });
});

describe('saga cost past the pivot', () => {
  it('prices each retriable step stuck (retries, alert, retry) and its redrive, and no rollback from it', () => {
    const paths = sagaPaths(order, orderDefinition);
    for (const step of retriableStepsOf(order)) {
      const stuck = paths.find((path) => path.scenario.startsWith(`${step.action} keeps failing`));
      const retries = forwardRetryOf(step).maxAttempts;
      const before = stepsOf(order)
        .slice(0, stepsOf(order).indexOf(step))
        .map((each) => each.action);
      expect(stuck).toMatchObject({ states: [...before, step.action, alertStateOf(step), retryStateOf(step)], retries: 2 * retries });
      const redrive = paths[paths.indexOf(stuck as never) + 1];
      expect(redrive?.states[0]).toBe(retryStateOf(step));
      expect(redrive?.retries).toBe(0);
      expect(paths.some((path) => path.scenario.startsWith(`${step.action} fails`))).toBe(false);
    }
    expect(costTable(order, orderDefinition, 100).join('\n')).toContain('past the pivot');
  });

  it('prices a group of retriable steps stuck, whose redrive reruns the group', () => {
    const group = shaped.steps.find((stage) => isGroup(stage) && roleOfStage(stage) === StepRole.Retriable) as ParallelGroup;
    const paths = sagaPaths(shaped, shapedDefinition);
    for (const step of group.parallel) expect(paths.some((path) => path.scenario.startsWith(`${step.action} keeps failing`))).toBe(true);
  });
});
