import { invalidErrorOf, isCompensatable } from '../../asl/saga.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  compensationRetryOf,
  DEFAULT_ACTION_RETRY,
  functionStatesOf,
  placeholderResources,
  renderSaga,
  StepError,
  stepsOf,
  stepsOfStage,
  type Saga,
  type Stage,
} from '../../asl/index.ts';
import { taskStatesOf } from '../../asl/model.ts';
import { tripSaga } from '../../saga.ts';
import { EXECUTION_ARN, FIRST_ATTEMPT, runDefinition } from '../helpers/interpreter.ts';
import {
  actions,
  actionStatesOf,
  expectSamePath,
  firstStep,
  happyPathOf,
  lastStep,
  owedBy,
  owedMessageOf,
  rollbackPathOf,
  sagaOfSize,
  stageIndexOf,
  steps,
} from '../helpers/sagas.ts';

// The rendered definition executed by aws-local-stepfunctions, an ASL interpreter we did not write.

const trip = JSON.parse(readFileSync(new URL('../../examples/trip.json', import.meta.url), 'utf8')) as Record<string, string>;
const tripDefinition = renderSaga(tripSaga, placeholderResources(tripSaga));
const business = (times: number | 'always' = 'always') => ({ error: StepError.BookingConflict, times });

describe('the trip saga in an ASL interpreter', () => {
  // A compensation that is not the last one run: the rollback goes on after it.
  const owingStep = steps.at(-2) ?? lastStep;

  it('happy path: enters exactly the N actions and succeeds, the trip intact beside each result', async () => {
    const run = await runDefinition(tripDefinition, trip);
    expectSamePath(run.entered, happyPathOf());
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toEqual({ ...trip, results: Object.fromEntries(actions.map((action) => [action, { done: action }])) });
  });

  it.each(steps.map((step) => [stageIndexOf(step) + 1, step.action, step] as const))(
    'a failure at entry %i of the step list (%s) enters its actions and those before, then their compensations in reverse, one Fail',
    async (_, failing, step) => {
      const run = await runDefinition(tripDefinition, trip, { [failing]: business() });
      expectSamePath(run.entered, rollbackPathOf(step));
      expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
    },
  );

  it('passes every function the original trip and the execution that owns its bookings, however far it went', async () => {
    const run = await runDefinition(tripDefinition, trip, { [lastStep.action]: business() });
    for (const name of functionStatesOf(tripSaga)) expect(run.inputs[name]).toEqual([{ trip, execution: EXECUTION_ARN, ...FIRST_ATTEMPT }]);
  });

  it('does not retry a business error', async () => {
    const run = await runDefinition(tripDefinition, trip, { [firstStep.action]: business() });
    expect(run.calls[firstStep.action]).toBe(1);
  });

  it('retries a transient error and carries on when it clears', async () => {
    const run = await runDefinition(tripDefinition, trip, { [lastStep.action]: { error: StepError.Transient, times: 2 } });
    expect(run.calls[lastStep.action]).toBe(3);
    // Each attempt is told its retry count ($$.State.RetryCount), which a fault that heals is keyed on.
    expect(run.inputs[lastStep.action]?.map((input) => (input as { retryCount: number }).retryCount)).toEqual([0, 1, 2]);
    expectSamePath(run.entered, happyPathOf());
    expect(run.status).toBe('SUCCEEDED');
  });

  it.each(['Lambda.TooManyRequestsException', 'Lambda.ServiceException'])(
    'compensates once a transient error (%s) outlasts its retries',
    async (error) => {
      const run = await runDefinition(tripDefinition, trip, { [lastStep.action]: { error, times: 'always' } });
      expect(run.calls[lastStep.action]).toBe(1 + DEFAULT_ACTION_RETRY.maxAttempts);
      expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
    },
  );

  it('a compensation that fails twice then succeeds completes the rollback', async () => {
    const run = await runDefinition(tripDefinition, trip, {
      [lastStep.action]: business(),
      [owingStep.compensation]: { error: 'Lambda.ServiceException', times: 2 },
    });
    expect(run.calls[owingStep.compensation]).toBe(3);
    expectSamePath(run.entered, rollbackPathOf(lastStep));
    expect(run.error).toBe('SagaRolledBack');
  });

  // The interpreter's stubs fail by state: a compensation that stays broken fails at its retry state too.
  const stuck = () => ({
    [lastStep.action]: business(),
    [owingStep.compensation]: business(),
    [`Retry${owingStep.compensation}`]: business(),
  });

  it('a compensation that never succeeds alerts after its bounded attempts, then fails at its retry: a Task state', async () => {
    const run = await runDefinition(tripDefinition, trip, stuck());
    const attempts = 1 + compensationRetryOf(tripSaga).maxAttempts;
    expect(run.calls[owingStep.compensation]).toBe(attempts);
    expect(run.calls[`Retry${owingStep.compensation}`]).toBe(attempts);
    expectSamePath(run.entered, rollbackPathOf(lastStep, tripSaga, { stuck: owingStep }));
    // Nothing owed after the stuck one runs: the compensations of the entries before its own.
    const earlier = tripSaga.steps.slice(0, stageIndexOf(owingStep)).flatMap(stepsOfStage).filter(isCompensatable);
    for (const step of earlier) expect(run.calls[step.compensation]).toBeUndefined();
    expect(run).toMatchObject({ status: 'FAILED', error: StepError.BookingConflict });
    const [published] = run.inputs[`Alert${owingStep.compensation}`] ?? [];
    expect(published).toMatchObject({
      TopicArn: placeholderResources(tripSaga).alertTopic,
      Message: {
        execution: EXECUTION_ARN,
        stuckCompensation: owingStep.compensation,
        compensationsOwed: owedMessageOf(owedBy(owingStep)),
        error: { Error: StepError.BookingConflict },
        resume: `aws stepfunctions redrive-execution --execution-arn ${EXECUTION_ARN}`,
      },
    });
    expect(JSON.stringify(published)).not.toContain(trip['hotel'] as string);
  });

  it('an alert that cannot be published still leads to the retry, and the execution fails at a Task', async () => {
    const run = await runDefinition(tripDefinition, trip, { ...stuck(), [`Alert${owingStep.compensation}`]: business() });
    expectSamePath(run.entered, rollbackPathOf(lastStep, tripSaga, { stuck: owingStep }));
    expect(run).toMatchObject({ status: 'FAILED', error: StepError.BookingConflict });
  });

  it('a compensation that recovers after the alert finishes the rollback', async () => {
    const run = await runDefinition(tripDefinition, trip, { [lastStep.action]: business(), [owingStep.compensation]: business() });
    expectSamePath(run.entered, rollbackPathOf(lastStep, tripSaga, { stuck: owingStep, recovers: true }));
    expect(run.error).toBe('SagaRolledBack');
  });

  it('an invalid trip ends in TripInvalid without compensating', async () => {
    const run = await runDefinition(
      tripDefinition,
      { trip_id: 'x' },
      { [firstStep.action]: { error: invalidErrorOf(tripSaga), times: 'always' } },
    );
    expectSamePath(run.entered, [...actionStatesOf(tripSaga.steps[0] as Stage), 'TripRejected']);
    expect(run.calls[firstStep.action]).toBe(1);
    expect(run).toMatchObject({ status: 'FAILED', error: 'TripInvalid' });
  });
});

describe('generated sagas in an ASL interpreter', () => {
  const definitions = new Map<number, ReturnType<typeof renderSaga>>();
  const definitionOf = (saga: Saga) => {
    const cached = definitions.get(saga.steps.length) ?? renderSaga(saga, placeholderResources(saga));
    definitions.set(saga.steps.length, cached);
    return cached;
  };

  it('for 1 to 8 steps and any failing step k, enters k actions, compensations k..1 and SagaRolledBack', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size }))),
        async ([size, k]) => {
          const saga = sagaOfSize(size);
          const steps = stepsOf(saga);
          const faults = k === 0 ? {} : { [steps[k - 1]?.action as string]: business() };
          const run = await runDefinition(definitionOf(saga), { id: 'trip' }, faults);
          if (k === 0) {
            expect(run.entered).toEqual(steps.map((step) => step.action));
            expect(run.status).toBe('SUCCEEDED');
          } else {
            const done = steps.slice(0, k);
            expect(run.entered).toEqual([
              ...done.map((step) => step.action),
              ...done.reverse().map((step) => step.compensation),
              'SagaRolledBack',
            ]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('50 steps: a failure at the last step compensates all 50 in reverse', async () => {
    const saga = sagaOfSize(50);
    const last = stepsOf(saga).at(-1)?.action as string;
    const run = await runDefinition(definitionOf(saga), { id: 'trip' }, { [last]: business() });
    expect(run.entered).toHaveLength(101);
    expect(run.entered.at(-2)).toBe('CancelStep1');
  });
});

describe("the interpreter's context object (patches/aws-local-stepfunctions+3.0.0.patch)", () => {
  // A Task retried twice, at the top and inside a Parallel branch, tells what it sees of $$.
  const retried = (name: string) => ({
    Type: 'Task',
    Resource: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    Parameters: { 'state.$': '$$.State.Name', 'retryCount.$': '$$.State.RetryCount', 'input.$': '$$.Execution.Input' },
    Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }],
    End: true,
  });
  const definition = {
    StartAt: 'Top',
    States: {
      Top: { ...retried('Top'), End: undefined, Next: 'Group' },
      Group: {
        Type: 'Parallel',
        Parameters: { 'part.$': '$.part' },
        Branches: [{ StartAt: 'Inner', States: { Inner: retried('Inner') } }],
        End: true,
      },
    },
  };

  it('gives $$.State (name, retry count) to every attempt, in a Parallel branch too, and the execution input there', async () => {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const seen: Record<string, unknown>[] = [];
    const failTwice = (name: string) => async (payload: unknown) => {
      seen.push(payload as Record<string, unknown>);
      if (seen.filter((earlier) => earlier['state'] === name).length <= 2) throw Object.assign(new Error('not yet'), { name: 'Flaky' });
      return { part: 'branch input' };
    };
    const machine = new StateMachine(JSON.parse(JSON.stringify(definition)));
    const input = { trip: 'the execution input' };
    await machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: { Top: failTwice('Top'), Inner: failTwice('Inner') },
        retryIntervalOverrides: { Top: 0, Inner: 0 },
      },
    }).result;
    expect(seen).toEqual(['Top', 'Inner'].flatMap((state) => [0, 1, 2].map((retryCount) => ({ state, retryCount, input }))));
  });

  it('changes no state input in place, which the patch relies on to copy none: the trip, failed at its last step, keeps every logged input', async () => {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const machine = new StateMachine(JSON.parse(JSON.stringify(tripDefinition)));
    const failing = new Set([lastStep.action]);
    const execution = machine.run(trip as never, {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(
          taskStatesOf(tripDefinition).map((state) => [
            state,
            async () => {
              if (failing.has(state)) throw Object.assign(new Error('no'), { name: StepError.BookingConflict });
              return { done: state };
            },
          ]),
        ),
      },
      context: { Execution: { Id: EXECUTION_ARN, Name: 'in-place', RedriveCount: 0 } } as never,
    });
    // Each event's state input as it was logged, and the object itself, read again once the execution has ended.
    const logged: [object, string][] = [];
    void execution.result.catch(() => undefined);
    for await (const event of execution.eventLogs) {
      const { input } = ('state' in event ? event.state : {}) as { input?: unknown };
      if (typeof input === 'object' && input !== null) logged.push([input, JSON.stringify(input)]);
    }
    expect(logged.length).toBeGreaterThan(stepsOf(tripSaga).length);
    for (const [input, asLogged] of logged) expect(JSON.stringify(input)).toBe(asLogged);
  });
});
