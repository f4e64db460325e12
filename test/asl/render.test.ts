import { describe, expect, it } from '@jest/globals';
import {
  actionEntryOf,
  ALL_ERRORS,
  compensationEntryOf,
  CONTEXT_KEY,
  definitionProblems,
  functionStatesOf,
  LambdaTransientErrors,
  placeholderResources,
  renderSaga,
  SNS_PUBLISH,
  StepError,
  stepsOf,
  type Saga,
  type SagaStep,
  type Stage,
  type State,
  type StateMachineDefinition,
  type TaskState,
  type Transition,
} from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { aslValidator, retryOf, stateOf, task } from '../helpers/asl.ts';
import {
  actions,
  addedStep,
  afterActionOf,
  afterCompensationsOf,
  afterStageOf,
  firstStep,
  groupOf,
  tripSagaOfTwoStagesOrMore,
  owedBy,
  owedMessageOf,
  previousStep,
  sagaOfSize,
  steps,
  tripSagaOfShape,
  tripSagaWithAddedStep,
  withStepChanged,
} from '../helpers/sagas.ts';

const render = (saga: Saga): StateMachineDefinition => renderSaga(saga, placeholderResources(saga));
/** The trip's step list: its steps, and its groups of steps. */
const stages = tripSaga.steps;
/** A state's way on: to the next state, or the end of its graph. */
const transitionOf = (state: State): Transition =>
  'End' in state && state.End ? { End: true } : { Next: (state as { Next: string }).Next };

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
    expect(definition.StartAt).toBe(actionEntryOf(stages[0] as Stage));
    for (const stage of stages) expect(transitionOf(stateOf(definition, actionEntryOf(stage)))).toEqual(afterStageOf(stage));
    // A grouped action ends its branch; the group's Parallel state goes on.
    for (const step of steps) expect(transitionOf(task(definition, step.action))).toEqual(afterActionOf(step));
    expect(afterStageOf(stages.at(-1) as Stage)).toEqual({ End: true });
  });

  it('gives every function the original trip, its execution’s id and where the attempt stands, and keeps each result and error at its own path', () => {
    for (const name of functionStatesOf(tripSaga)) {
      const state = task(definition, name);
      // The context object whole: the functions read the input, the owner and the counts from it (the interpreter's tests).
      expect(state.Parameters).toEqual({ [`${CONTEXT_KEY}.$`]: '$$' });
      expect(state.ResultPath).toBe(`$.results.${name}`);
    }
    // Each error at the path of the state that catches it: a compensation, a single step's action, or a group.
    for (const stage of stages) {
      const catcher = stateOf(definition, actionEntryOf(stage));
      expect('Catch' in catcher && catcher.Catch?.at(-1)?.ResultPath).toBe(`$.errors.${actionEntryOf(stage)}`);
    }
    for (const { compensation } of steps) expect(task(definition, compensation).Catch?.at(-1)?.ResultPath).toBe(`$.errors.${compensation}`);
  });

  it('retries an action on transient errors only, with capped, jittered backoff', () => {
    for (const action of actions) {
      const retry = task(definition, action).Retry ?? [];
      expect(retry).toHaveLength(1);
      expect(retry[0]?.ErrorEquals).toEqual([...LambdaTransientErrors, StepError.Transient]);
      expect(retry[0]?.ErrorEquals).not.toContain(ALL_ERRORS);
      expect(retry[0]?.JitterStrategy).toBe('FULL');
      expect(retryOf(task(definition, action))).toMatchObject({ maxDelaySeconds: 8, backoffRate: 2, maxAttempts: 3 });
    }
  });

  it('sends a failed action to its own compensation (a group’s to all of the group’s), catching States.ALL alone and last', () => {
    for (const stage of stages) {
      const catcher = stateOf(definition, actionEntryOf(stage));
      const catchers = 'Catch' in catcher ? (catcher.Catch ?? []) : [];
      expect(catchers.at(-1)).toEqual({
        ErrorEquals: [ALL_ERRORS],
        Next: compensationEntryOf(stage),
        ResultPath: `$.errors.${actionEntryOf(stage)}`,
      });
    }
    // Inside a group, the Parallel state catches for its branches.
    for (const step of steps.filter((grouped) => groupOf(grouped) !== undefined))
      expect(task(definition, step.action).Catch).toBeUndefined();
  });

  it('rejects an invalid trip at the first action without compensating', () => {
    const catchersOf = (stage: Stage) => {
      const state = stateOf(definition, actionEntryOf(stage));
      return 'Catch' in state ? state.Catch : undefined;
    };
    expect(catchersOf(stages[0] as Stage)?.[0]).toEqual({ ErrorEquals: ['TripInvalid'], Next: 'TripRejected', ResultPath: null });
    // Past the first entry the trip has been accepted: the later ones catch only what sends them to compensate.
    for (const stage of stages.slice(1)) expect(catchersOf(stage)).toHaveLength(1);
    expect(definition.States['TripRejected']).toMatchObject({ Type: 'Fail', Error: 'TripInvalid' });
  });

  it('chains compensations in reverse and ends a completed rollback in SagaRolledBack', () => {
    for (const stage of stages)
      expect(transitionOf(stateOf(definition, compensationEntryOf(stage)))).toEqual({ Next: afterCompensationsOf(stage) });
    // A grouped compensation ends its branch; the group's Parallel state goes on.
    for (const step of steps.filter((grouped) => groupOf(grouped) !== undefined))
      expect(transitionOf(task(definition, step.compensation))).toEqual({ End: true });
    expect(afterCompensationsOf(stages[0] as Stage)).toBe('SagaRolledBack');
    expect(definition.States['SagaRolledBack']).toMatchObject({ Type: 'Fail', Error: 'SagaRolledBack' });
  });

  it('retries compensations on every error, a bounded number of times, then alerts', () => {
    for (const { compensation } of steps) {
      const cancel = task(definition, compensation);
      expect(cancel.Retry).toEqual([
        // BackoffRate 2 is ASL's default: left out.
        { ErrorEquals: [ALL_ERRORS], IntervalSeconds: 2, MaxAttempts: 5, MaxDelaySeconds: 60, JitterStrategy: 'FULL' },
      ]);
      expect(cancel.Catch).toEqual([{ ErrorEquals: [ALL_ERRORS], Next: `Alert${compensation}`, ResultPath: `$.errors.${compensation}` }]);
    }
  });

  it('alerts through SNS from what every execution has: its id, the stuck compensation, what is owed, the resume command', () => {
    // The step before the last: its compensation is the first owed when the last action fails, and others follow.
    const stuck = previousStep.compensation;
    const owed = owedBy(previousStep);
    const alert = task(definition, `Alert${stuck}`);
    expect(alert.Resource).toBe(SNS_PUBLISH);
    expect(alert.Parameters).toMatchObject({
      TopicArn: placeholderResources(tripSaga).alertTopic,
      Message: {
        'execution.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
        stuckCompensation: stuck,
        compensationsOwed: owedMessageOf(owed),
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
    for (const step of steps) {
      const retry = task(definition, `Retry${step.compensation}`);
      const { Catch, Comment: _, ...compensation } = task(definition, step.compensation);
      // The same Task, going on where the compensation goes on.
      expect(retry).toMatchObject(compensation);
      expect(transitionOf(retry)).toEqual(transitionOf(compensation as TaskState));
      expect(retry.Catch).toBeUndefined();
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
    // The last step has its own; the first keeps the defaults (the trip's steps, in order, whatever its groups; a step
    // added to a trip of one, so that the first is not the last).
    const last = stepsOf(tripSagaOfTwoStagesOrMore).at(-1) as SagaStep;
    const saga: Saga = {
      ...withStepChanged(last, { timeoutSeconds: 20, actionRetry: { maxAttempts: 6, maxDelaySeconds: 30 } }, tripSagaOfTwoStagesOrMore),
      compensationRetry: { maxAttempts: 9 },
      timeoutSeconds: 3600,
    };
    const definition = render(saga);
    expect(definition.TimeoutSeconds).toBe(3600);
    expect(task(definition, last.action).TimeoutSeconds).toBe(20);
    expect(retryOf(task(definition, last.action))).toMatchObject({ maxAttempts: 6, maxDelaySeconds: 30, intervalSeconds: 1 });
    expect(task(definition, firstStep.action).TimeoutSeconds).toBe(60);
    expect(retryOf(task(definition, firstStep.action)).maxAttempts).toBe(3);
    expect(retryOf(task(definition, firstStep.compensation)).maxAttempts).toBe(9);
  });
});

describe('renderSaga, other sizes', () => {
  it('grows linearly with the steps once alerts stop listing every owed compensation: 450 steps stay within AWS’s 1 MB', () => {
    const bytes = (size: number) => Buffer.byteLength(JSON.stringify(render(sagaOfSize(size))));
    const perStep = (bytes(300) - bytes(100)) / 200;
    expect(Math.abs(perStep - (bytes(100) - bytes(30)) / 70)).toBeLessThan(50);
    expect(bytes(450)).toBeLessThan(1024 * 1024);
  });

  it.each([1, 4, 50])('renders %i steps into 4 states a step plus 2 endings, valid for asl-validator and us', (size) => {
    const definition = render(sagaOfSize(size));
    expect(Object.keys(definition.States)).toHaveLength(4 * size + 2);
    expect(aslValidator(definition).errorsText('\n')).toBe('');
    expect(definitionProblems(definition)).toEqual([]);
  });

  it('an alert lists the first few compensations owed (OWED_LISTED), and counts the others', () => {
    for (const saga of [sagaOfSize(25), tripSagaOfShape([2, 1, 3, 2, 1, 2, 3, 1])]) {
      const definition = render(saga);
      for (const step of stepsOf(saga)) {
        const owed = owedBy(step, saga);
        const message = task(definition, `Alert${step.compensation}`).Parameters?.['Message'] as Record<string, unknown>;
        expect(message['compensationsOwed']).toBe(owedMessageOf(owed));
      }
    }
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
    // The last entry of the step list: its actions went to the end, now to the added step's.
    const lastEntry = stages.at(-1) as Stage;
    const changed = Object.keys(before.States).filter((name) => JSON.stringify(before.States[name]) !== JSON.stringify(after.States[name]));
    expect(changed).toEqual([actionEntryOf(lastEntry)]);
    const { End, ...rest } = before.States[actionEntryOf(lastEntry)] as State & { End?: true };
    expect(End).toBe(true);
    expect(after.States[actionEntryOf(lastEntry)]).toEqual({ ...rest, Next: addedStep.action });
    expect(task(after, addedStep.compensation).Next).toBe(compensationEntryOf(lastEntry));
  });
});
