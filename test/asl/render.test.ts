import { describe, expect, it } from '@jest/globals';
import {
  ALL_ERRORS,
  definitionProblems,
  functionStatesOf,
  LambdaTransientErrors,
  placeholderResources,
  renderSaga,
  SNS_PUBLISH,
  StepError,
  type Saga,
  type StateMachineDefinition,
} from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { aslValidator, task } from '../helpers/asl.ts';
import { actions, addedStep, firstStep, lastStep, previousStep, sagaOfSize, steps, tripSagaWithAddedStep } from '../helpers/sagas.ts';

const render = (saga: Saga): StateMachineDefinition => renderSaga(saga, placeholderResources(saga));

describe('renderSaga, for the trip', () => {
  const definition = render(tripSaga);

  it('pins the whole definition', () => {
    expect(definition).toMatchSnapshot();
  });

  it('passes asl-validator, an independent ASL validator, with zero errors', () => {
    const result = aslValidator(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('runs the actions in step-list order and ends after the last one', () => {
    expect(definition.StartAt).toBe(firstStep.action);
    actions.slice(1).forEach((next, index) => expect(task(definition, actions[index] as string).Next).toBe(next));
    expect(task(definition, lastStep.action)).toMatchObject({ End: true });
    expect(task(definition, lastStep.action).Next).toBeUndefined();
  });

  it('gives every function the original trip, its execution’s id and where the attempt stands, and keeps each result and error at its own path', () => {
    for (const name of functionStatesOf(tripSaga)) {
      const state = task(definition, name);
      expect(state.Parameters).toEqual({
        'trip.$': '$$.Execution.Input',
        'execution.$': '$$.Execution.Id',
        'retryCount.$': '$$.State.RetryCount',
        'redriveCount.$': '$$.Execution.RedriveCount',
      });
      expect(state.ResultPath).toBe(`$.results.${name}`);
      expect(state.Catch?.at(-1)?.ResultPath).toBe(`$.errors.${name}`);
    }
  });

  it('retries an action on transient errors only, with capped, jittered backoff', () => {
    for (const action of actions) {
      const retry = task(definition, action).Retry ?? [];
      expect(retry).toHaveLength(1);
      expect(retry[0]?.ErrorEquals).toEqual([...LambdaTransientErrors, StepError.Transient]);
      expect(retry[0]?.ErrorEquals).not.toContain(ALL_ERRORS);
      expect(retry[0]).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: 8, BackoffRate: 2, MaxAttempts: 3 });
    }
  });

  it('sends a failed action to its own compensation, catching States.ALL alone and last', () => {
    for (const step of steps) {
      const catchers = task(definition, step.action).Catch ?? [];
      expect(catchers.at(-1)).toEqual({ ErrorEquals: [ALL_ERRORS], Next: step.compensation, ResultPath: `$.errors.${step.action}` });
    }
  });

  it('rejects an invalid trip at the first action without compensating', () => {
    expect(task(definition, firstStep.action).Catch?.[0]).toEqual({ ErrorEquals: ['TripInvalid'], Next: 'TripRejected', ResultPath: null });
    // Past the first action the trip has been accepted: the later ones catch only what sends them to compensate.
    for (const action of actions.slice(1)) expect(task(definition, action).Catch).toHaveLength(1);
    expect(definition.States['TripRejected']).toMatchObject({ Type: 'Fail', Error: 'TripInvalid' });
  });

  it('chains compensations in reverse and ends a completed rollback in SagaRolledBack', () => {
    steps.slice(1).forEach((step, index) => expect(task(definition, step.compensation).Next).toBe(steps[index]?.compensation));
    expect(task(definition, firstStep.compensation).Next).toBe('SagaRolledBack');
    expect(definition.States['SagaRolledBack']).toMatchObject({ Type: 'Fail', Error: 'SagaRolledBack' });
  });

  it('retries compensations on every error, a bounded number of times, then alerts', () => {
    for (const { compensation } of steps) {
      const cancel = task(definition, compensation);
      expect(cancel.Retry).toEqual([
        { ErrorEquals: [ALL_ERRORS], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: 'FULL' },
      ]);
      expect(cancel.Catch).toEqual([{ ErrorEquals: [ALL_ERRORS], Next: `Alert${compensation}`, ResultPath: `$.errors.${compensation}` }]);
    }
  });

  it('alerts through SNS from what every execution has: its id, the stuck compensation, what is owed, the resume command', () => {
    // The step before the last: its compensation is the first owed when the last action fails, and others follow.
    const stuck = previousStep.compensation;
    const owed = steps
      .slice(0, steps.indexOf(previousStep) + 1)
      .reverse()
      .map((step) => step.compensation);
    const alert = task(definition, `Alert${stuck}`);
    expect(alert.Resource).toBe(SNS_PUBLISH);
    expect(alert.Parameters).toMatchObject({
      TopicArn: placeholderResources(tripSaga).alertTopic,
      Message: {
        'execution.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
        stuckCompensation: stuck,
        compensationsOwed: owed.join(', '),
        'error.$': `$.errors.${stuck}`,
        'resume.$': "States.Format('aws stepfunctions redrive-execution --execution-arn {}', $$.Execution.Id)",
      },
    });
    // No path into the input: one the input lacked would fail the execution with States.Runtime, past any catcher.
    expect(JSON.stringify(alert.Parameters)).not.toMatch(new RegExp(`"\\$\\.(?!errors\\.${stuck}")`));
    // Published or not, the compensation is tried once more.
    expect(alert.Next).toBe(`Retry${stuck}`);
    expect(alert.Catch).toEqual([{ ErrorEquals: [ALL_ERRORS], Next: `Retry${stuck}`, ResultPath: `$.errors.Alert${stuck}` }]);
  });

  it('tries a stuck compensation once more after the alert, with no catcher: the execution fails at a Task, redrivable', () => {
    for (const [index, step] of steps.entries()) {
      const retry = task(definition, `Retry${step.compensation}`);
      const { Catch, Comment: _, ...compensation } = task(definition, step.compensation);
      expect(retry).toMatchObject(compensation);
      expect(retry.Catch).toBeUndefined();
      expect(retry.Next).toBe(steps[index - 1]?.compensation ?? 'SagaRolledBack');
    }
    expect(
      Object.values(definition.States)
        .filter((state) => state.Type === 'Fail')
        .map((state) => state.Error),
    ).toEqual(['SagaRolledBack', 'TripInvalid']);
  });

  it('is pure: the same inputs give an equal definition, with no undefined values', () => {
    const again = render(tripSaga);
    expect(again).toEqual(definition);
    expect(JSON.parse(JSON.stringify(definition))).toStrictEqual(definition);
  });

  it('puts the given ARNs, and only those, into the definition', () => {
    const resources = placeholderResources(tripSaga, 'eu-west-1', '210987654321');
    const text = JSON.stringify(renderSaga(tripSaga, resources));
    // Each compensation's function is called from its state and from its retry after the alert.
    expect([...new Set(text.match(/arn:aws:lambda:[^"]+/g))].sort()).toEqual(Object.values(resources.functions).sort());
    expect(text).toContain(resources.alertTopic);
    expect(text).not.toContain('123456789012');
  });
});

describe('renderSaga, overrides', () => {
  it('takes a step’s own action retry and timeout, and the saga’s compensation attempts', () => {
    // The last step has its own; the first keeps the defaults (the trip's steps, in order, whatever its groups).
    const saga: Saga = {
      ...tripSaga,
      compensationRetry: { maxAttempts: 9 },
      timeoutSeconds: 3600,
      steps: steps.map((step) =>
        step === lastStep ? { ...step, timeoutSeconds: 20, actionRetry: { maxAttempts: 6, maxDelaySeconds: 30 } } : step,
      ),
    };
    const definition = render(saga);
    expect(definition.TimeoutSeconds).toBe(3600);
    expect(task(definition, lastStep.action)).toMatchObject({
      TimeoutSeconds: 20,
      Retry: [{ MaxAttempts: 6, MaxDelaySeconds: 30, IntervalSeconds: 1 }],
    });
    expect(task(definition, firstStep.action)).toMatchObject({ TimeoutSeconds: 60, Retry: [{ MaxAttempts: 3 }] });
    expect(task(definition, firstStep.compensation).Retry?.[0]?.MaxAttempts).toBe(9);
  });
});

describe('renderSaga, other sizes', () => {
  it('grows linearly with the steps once alerts stop listing every owed compensation: 300 steps stay under AWS’s 1 MB', () => {
    const bytes = (size: number) => JSON.stringify(render(sagaOfSize(size))).length;
    const perStep = (bytes(300) - bytes(100)) / 200;
    expect(Math.abs(perStep - (bytes(100) - bytes(30)) / 70)).toBeLessThan(50);
    expect(bytes(300)).toBeLessThan(0.9 * 1024 * 1024);
  });

  it.each([1, 4, 50])('renders %i steps into 4 states a step plus 2 endings, valid for asl-validator and us', (size) => {
    const definition = render(sagaOfSize(size));
    expect(Object.keys(definition.States)).toHaveLength(4 * size + 2);
    expect(aslValidator(definition).errorsText('\n')).toBe('');
    expect(definitionProblems(definition)).toEqual([]);
  });

  it('one step: the action ends the execution and its compensation ends the rollback', () => {
    const definition = render(sagaOfSize(1));
    expect(task(definition, 'BookStep1')).toMatchObject({ End: true });
    expect(task(definition, 'CancelStep1').Next).toBe('SagaRolledBack');
  });
});

describe('adding a step', () => {
  it('only adds the new states and links the last action to the new one', () => {
    const before = render(tripSaga);
    const after = render(tripSagaWithAddedStep);
    const added = Object.keys(after.States).filter((name) => !(name in before.States));
    expect(added).toEqual([addedStep.action, addedStep.compensation, `Alert${addedStep.compensation}`, `Retry${addedStep.compensation}`]);
    const changed = Object.keys(before.States).filter((name) => JSON.stringify(before.States[name]) !== JSON.stringify(after.States[name]));
    expect(changed).toEqual([lastStep.action]);
    const { End, ...rest } = task(before, lastStep.action);
    expect(End).toBe(true);
    expect(after.States[lastStep.action]).toEqual({ ...rest, Next: addedStep.action });
    expect(task(after, addedStep.compensation).Next).toBe(lastStep.compensation);
  });
});
