import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { alertStateOf, compensationRetryOf, handOffStateOf, isGroup, retryStateOf, stepsOfStage, type Saga } from '../../asl/saga.ts';
import { statesByName, type StateMachineDefinition } from '../../asl/model.ts';
import { ExecutionHistory, stateOfEvents, type HistoryEvent, type InterpreterEvent } from '../../local/history.ts';
import { LocalSaga, type ExecuteOptions } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { chainOf, firstStep, lastStep, tripParallelSaga } from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';
import { nextTripId } from '../helpers/invariant.ts';

// The local history against histories recorded on AWS (test/fixtures/aws-histories, README there): for each kind of
// state the saga uses, the events of one state in a local run and in AWS's record of the same shape, compared field
// by field. What differs between two machines or two runs is normalised below, each by name and nothing else: ids
// (links are compared by where they lead), timestamps, state names, ARNs, the region, the data (inputs, outputs,
// parameters), the machines' own errors and causes, the SDK metadata's values (its fields are compared).

/** An event as GetExecutionHistory gives it, or as the recording keeps it (LocalStack's ids in branches are `[0]`). */
type Recorded = Pick<HistoryEvent, 'previousEventId' | 'type'> & { readonly id: number | readonly number[] } & Record<string, unknown>;

interface Recording {
  readonly source: { readonly repository: string; readonly test: string };
  /** The recorded machine and its input, where the saga has no state of its shape: the history builder runs it. */
  readonly definition?: StateMachineDefinition;
  readonly input?: unknown;
  readonly events: readonly Recorded[];
}

const recording = (name: string): Recording =>
  JSON.parse(readFileSync(new URL(`../fixtures/aws-histories/${name}.json`, import.meta.url), 'utf8')) as Recording;

/** Which part of a history is compared: one state's events, with the execution's start or end around them. */
interface Window {
  /** Undefined: the execution's start or end alone. */
  readonly state: string | undefined;
  readonly start?: boolean;
  readonly end?: boolean;
  /**
   * A Parallel state's own events and the abort of its failing branch's Task. The recording's Parallel state has one
   * branch, of another service: the branches' other events are not compared here (the stopped branch's are, below).
   */
  readonly failingBranchAbort?: boolean;
  /** LocalStack's transformer dropped ParallelStateSucceeded from a recording of several branches (README). */
  readonly withoutParallelSucceeded?: boolean;
}

const isFailure = (type: string | undefined): boolean => type?.endsWith('Failed') ?? false;

/** The first state of a recording that has events of `type`: the recorded machine's state of that kind. */
const recordedState = (events: readonly Recorded[], type: string): string => {
  const entered = events.find((event) => event.type === type)?.['stateEnteredEventDetails'] as { name: string } | undefined;
  if (entered === undefined) throw new Error(`no ${type} in the recording`);
  return entered.name;
};

/** A value as a tree of its fields, every value a placeholder. */
function fieldsOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return '<value>';
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, fieldsOf(field)]));
}

/** A JSON text (as GetExecutionHistory gives it) or the value it holds (as the recording keeps it). */
const parsed = (value: unknown): unknown => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value);

/** One detail field, normalised where a run or a machine decides its value. */
function detailOf(details: string, field: string, value: unknown, names: Map<string, string>): unknown {
  switch (field) {
    case 'name':
      if (!names.has(String(value))) names.set(String(value), `<state ${names.size + 1}>`);
      return names.get(String(value));
    case 'roleArn':
      return '<role ARN>';
    case 'region':
      return '<region>';
    case 'resource':
      // A function's ARN; a service integration's resource (publish, startExecution) is compared as it is.
      return details === 'lambdaFunctionScheduledEventDetails' ? '<function ARN>' : value;
    case 'error':
    case 'cause':
      // A function's error, or a Fail state's: the machine's own.
      return `<${field}>`;
    case 'output':
      // A service integration's answer: its fields (the SDK metadata among them) are AWS's; the rest is the machine's data.
      return details === 'taskSucceededEventDetails' ? fieldsOf(parsed(value)) : '<data>';
    case 'input':
    case 'parameters':
      return '<data>';
    default:
      return value;
  }
}

/** The window's events, normalised: each link says where it leads, relative to the window. */
function windowOf(events: readonly Recorded[], window: Window): unknown[] {
  const stateOf = stateOfEvents();
  const states = events.map((event) => stateOf(event as never));
  const own = states.flatMap((state, index) => (state === window.state ? [index] : []));
  const [first, last] = [own[0] ?? 0, own.at(-1) ?? 0];
  const byId = new Map(events.map((event, index) => [event.id, index]));
  const inside = (index: number | undefined) => index !== undefined && index > first && index < last && states[index] !== window.state;
  const picked = events.filter(
    (event, index) =>
      (states[index] === window.state &&
        !event.type.startsWith('Execution') &&
        !(window.withoutParallelSucceeded && event.type === 'ParallelStateSucceeded')) ||
      (window.failingBranchAbort === true &&
        inside(index) &&
        event.type.endsWith('StateAborted') &&
        isFailure(events[byId.get(event.previousEventId) ?? -1]?.type)),
  );
  const startEvent = window.start && events[0]?.type === 'ExecutionStarted' ? [events[0]] : [];
  const endEvent = window.end && events.at(-1)?.type.startsWith('Execution') ? [events.at(-1) as Recorded] : [];
  const windowed = [...startEvent, ...picked, ...endEvent];
  const positions = new Map(windowed.map((event, index) => [event.id, index]));
  const linkOf = (event: Recorded): unknown => {
    const position = positions.get(event.previousEventId);
    if (position !== undefined) return `event ${position}`;
    // 0 is "no event before": compared where the window holds the execution's start, or for the execution's own events.
    if (event.previousEventId === 0 && (window.start || event.type.startsWith('Execution'))) return 0;
    const target = byId.get(event.previousEventId);
    // A link into a Parallel state's branches; one the recording hid (its branch ids are [0]) is to a branch event.
    if (target === undefined && event.previousEventId > 0) return "a branch's event";
    if (inside(target)) return isFailure(events[target as number]?.type) ? "a branch's failure" : "a branch's event";
    return 'an event before';
  };
  const names = new Map<string, string>();
  return windowed.map((event) => ({
    type: event.type,
    previousEventId: linkOf(event),
    ...Object.fromEntries(
      Object.entries(event)
        .filter(([key]) => key.endsWith('EventDetails'))
        .map(([key, details]) => [
          key,
          Object.fromEntries(
            Object.entries(details as Record<string, unknown>)
              // Present exactly when the Task sets TimeoutSeconds, which the recorded machines do not: checked below.
              .filter(([field]) => field !== 'timeoutInSeconds')
              .map(([field, value]) => [field, detailOf(key, field, value, names)]),
          ),
        ]),
    ),
  }));
}

const SAGA_RUNS = { retryDelayMs: 0 } as const satisfies ExecuteOptions;

/** A comparison: the recording, the local run of the same shape, and the window compared in each. */
interface Comparison {
  readonly recording: string;
  /** The recorded machine's state, found by the type of its entry. */
  readonly entered?: string;
  readonly local: () => Promise<readonly Recorded[]>;
  /** The local state compared; undefined: the execution's start or end alone. */
  readonly state: ((local: readonly Recorded[]) => string) | undefined;
  readonly window?: Omit<Window, 'state'>;
}

describe('the local history against histories recorded on AWS', () => {
  const group = tripParallelSaga.steps.find(isGroup);
  if (group === undefined) throw new Error(`${tripParallelSaga.name} has no group`);
  const [groupFirst, groupSecond] = stepsOfStage(group);
  if (groupFirst === undefined || groupSecond === undefined) throw new Error(`${group.name} has fewer than two steps`);
  // As many retries as the recorded machine's retrier allowed: its calls, less the first.
  const retries = recording('lambda-retry-then-catch').events.filter((event) => event.type === 'LambdaFunctionScheduled').length - 1;
  /**
   * The trip's steps one after another, as the recorded machines run their Lambda Tasks: a Task's window (the last
   * state, ending the execution; a retry that fails it) is then the Task's own, whatever groups the step list has. A
   * group's windows are compared on the example with a group.
   */
  const chain = chainOf(tripSaga);
  const withRetries = (maxAttempts: number): Saga => ({
    ...chain,
    compensationRetry: { ...compensationRetryOf(chain), maxAttempts },
  });
  const locals: LocalSaga[] = [];
  let trip: LocalSaga, retrying: LocalSaga, unretried: LocalSaga, grouped: LocalSaga, express: LocalSaga;
  beforeAll(async () => {
    locals.push(
      (trip = await LocalSaga.start({ saga: chain })),
      (retrying = await LocalSaga.start({ saga: withRetries(retries) })),
      (unretried = await LocalSaga.start({ saga: withRetries(0) })),
      (grouped = await LocalSaga.start({ saga: tripParallelSaga })),
      (express = await LocalSaga.start({ saga: chain, type: 'EXPRESS' })),
    );
  });
  afterAll(async () => {
    await express.handedOff();
    await Promise.all(locals.map((local) => local.close()));
  });

  const run =
    (local: () => LocalSaga, options: ExecuteOptions = {}) =>
    async () =>
      (await local().execute(tripWithId(nextTripId('aws-history')), { ...SAGA_RUNS, ...options })).history as readonly Recorded[];
  const stuckAtLast = { faults: { [lastStep.action]: { times: 'always' }, [lastStep.compensation]: { times: 'always' } } } as const;
  const named = (state: string) => () => state;
  /** Stopped (StopExecution) while its first action's call runs: the call is held until the execution has ended. */
  const stopped = async () => {
    const stop = new AbortController();
    const { promise: ended, resolve: release } = Promise.withResolvers<void>();
    const execution = await trip
      .execute(tripWithId(nextTripId('aws-history-stop')), {
        ...SAGA_RUNS,
        faults: { [firstStep.action]: { until: ended } },
        signal: stop.signal,
        onEvent: (event) => {
          if (event.type === 'TaskStateEntered') stop.abort();
        },
      })
      .finally(release);
    // The calls it made are kept, scheduled and started, though nothing records their end.
    const scheduled = execution.history.filter((event) => event.type === 'LambdaFunctionScheduled').length;
    expect(scheduled).toBe(Object.values(execution.calls).reduce((sum, calls) => sum + calls, 0));
    return execution.history as readonly Recorded[];
  };

  const comparisons: readonly (readonly [string, Comparison])[] = [
    [
      'a Lambda Task that succeeds, first state: ExecutionStarted and its entry link to 0',
      { recording: 'lambda-task-success', local: run(() => trip), state: named(firstStep.action), window: { start: true } },
    ],
    [
      'a Lambda Task that succeeds, last state',
      { recording: 'lambda-task-success', local: run(() => trip), state: named(lastStep.action), window: { end: true } },
    ],
    [
      'a Lambda Task retried until its retrier gives up, then caught (a compensation, then its alert)',
      { recording: 'lambda-retry-then-catch', local: run(() => retrying, stuckAtLast), state: named(lastStep.compensation) },
    ],
    [
      'a Lambda Task that fails once and is caught (the first action, then its compensation)',
      {
        recording: 'lambda-catch',
        local: run(() => trip, { faults: { [firstStep.action]: { times: 'always' } } }),
        state: named(firstStep.action),
        window: { start: true },
      },
    ],
    [
      "a Lambda Task's failure that nothing catches ends the execution (a compensation's last retry)",
      {
        recording: 'lambda-uncaught-failure',
        local: run(() => unretried, stuckAtLast),
        state: named(retryStateOf(lastStep)),
        window: { end: true },
      },
    ],
    [
      'a Parallel state whose branches succeed (a group), ending the execution',
      {
        recording: 'parallel-success',
        entered: 'ParallelStateEntered',
        local: run(() => grouped),
        state: named(group.name),
        window: { end: true, withoutParallelSucceeded: true },
      },
    ],
    [
      "a Parallel state whose branch's Task fails, caught: the Task's abort, ParallelStateFailed linked to the failure",
      {
        recording: 'parallel-task-failure-caught',
        entered: 'ParallelStateEntered',
        local: run(() => grouped, { faults: { [groupSecond.action]: { times: 'always' } } }),
        state: named(group.name),
        window: { failingBranchAbort: true },
      },
    ],
    [
      'an alert: sns:publish, its output with the SDK metadata AWS adds',
      { recording: 'sns-publish', local: run(() => trip, stuckAtLast), state: named(alertStateOf(lastStep)) },
    ],
    [
      "an EXPRESS saga's hand-off: states:startExecution, its output with the SDK metadata AWS adds",
      { recording: 'states-start-execution', local: run(() => express, stuckAtLast), state: named(handOffStateOf(lastStep)) },
    ],
    [
      'a rollback ends in its Fail state',
      {
        recording: 'fail-state',
        entered: 'FailStateEntered',
        local: run(() => trip, { faults: { [firstStep.action]: { times: 'always' } } }),
        state: (local) => recordedState(local, 'FailStateEntered'),
        window: { end: true },
      },
    ],
    [
      "the rollback machine's Choice, its first state",
      {
        recording: 'choice',
        entered: 'ChoiceStateEntered',
        local: async () => ((await trip.rollback?.execute({}))?.history ?? []) as readonly Recorded[],
        state: (local) => recordedState(local, 'ChoiceStateEntered'),
        window: { start: true },
      },
    ],
    [
      'an execution stopped while a Task runs: ExecutionAborted links to 0',
      { recording: 'stop-execution', local: stopped, state: undefined, window: { end: true } },
    ],
  ];

  it.each(comparisons)('%s', async (_, comparison) => {
    const recorded = recording(comparison.recording).events;
    const local = await comparison.local();
    const recordedWindow = {
      ...comparison.window,
      state: comparison.state && recordedState(recorded, comparison.entered ?? 'TaskStateEntered'),
    };
    expect(windowOf(local, { ...comparison.window, state: comparison.state?.(local) })).toEqual(windowOf(recorded, recordedWindow));
  });

  it('a Parallel state whose branch ends in a Fail state: ParallelStateFailed links to it (the recorded machine, run locally)', async () => {
    const { definition, input, events } = recording('parallel-branch-fail');
    if (definition === undefined) throw new Error('parallel-branch-fail has no definition');
    // The interpreter and the history builder of the local mode, as runtime.ts joins them, on AWS's machine.
    const history = new ExecutionHistory(definition, trip.roleArn);
    const execution = new StateMachine(definition as never, { validationOptions: { noValidate: true } }).run(input as never);
    for await (const event of execution.eventLogs) history.record(event as InterpreterEvent);
    await execution.result.catch(() => undefined);
    const parallel = recordedState(events, 'ParallelStateEntered');
    expect(windowOf(history.events, { state: parallel, start: true, end: true })).toEqual(
      windowOf(events, { state: parallel, start: true, end: true }),
    );
    expect(history.events.map((event) => [event.type, event.previousEventId])).toEqual(
      events.map((event) => [event.type, event.previousEventId]),
    );
  });

  it("a Lambda Task's timeout is its scheduled call's timeoutInSeconds", async () => {
    const recorded = recording('lambda-timeout').events.find((event) => event.type === 'LambdaFunctionScheduled');
    const local = (await run(() => trip)()).find((event) => event.type === 'LambdaFunctionScheduled');
    const details = (event: Recorded | undefined) => event?.['lambdaFunctionScheduledEventDetails'] as Record<string, unknown>;
    expect(Object.keys(details(local)).sort()).toEqual(Object.keys(details(recorded)).sort());
    const task = statesByName(trip.definition).get(firstStep.action);
    expect(details(local)['timeoutInSeconds']).toBe(task?.Type === 'Task' ? task.TimeoutSeconds : undefined);
  });

  it("a branch stopped by another branch's failure while its Task runs keeps the call and records its abort", async () => {
    // The first branch's call is held until the second branch's failure has stopped it.
    const { promise: aborted, resolve: release } = Promise.withResolvers<void>();
    const local = await grouped
      .execute(tripWithId(nextTripId('stopped-branch')), {
        ...SAGA_RUNS,
        faults: { [groupFirst.action]: { until: aborted }, [groupSecond.action]: { times: 'always' } },
        onEvent: (event) => {
          if (event.type === 'TaskStateAborted') release();
        },
      })
      .finally(release);
    const stateOf = stateOfEvents();
    const stopped = local.history.filter((event) => stateOf(event) === groupFirst.action);
    expect(stopped.map((event) => event.type)).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'TaskStateAborted',
    ]);
    stopped.slice(1).forEach((event, index) => expect(event.previousEventId).toBe(stopped[index]?.id));
    // Each branch's first state links to ParallelStateStarted, not to the other branch.
    const started = local.history.find((event) => event.type === 'ParallelStateStarted');
    const actions = stepsOfStage(group).map((step) => step.action);
    const entries = local.history.filter(
      (event) => event.type === 'TaskStateEntered' && actions.includes((event['stateEnteredEventDetails'] as { name: string }).name),
    );
    expect(entries.map((event) => event.previousEventId)).toEqual(actions.map(() => started?.id));
    expect(local.calls[groupFirst.action]).toBe(1);
  });
});
