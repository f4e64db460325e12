import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EXECUTION_ALREADY_EXISTS, StepError } from '../../asl/errors.ts';
import {
  actionEntryOf,
  compensatableStepsOf,
  compensationEntryOf,
  compensationRetryOf,
  FAULT_FIELD,
  groupCompensationOf,
  handOffStateOf,
  isGroup,
  stepsOf,
  stepsOfStage,
  type CompensatableStep,
  type ParallelGroup,
  type SagaStep,
  type Stage,
} from '../../asl/saga.ts';
import type { Trip } from '../../saga.ts';
import type { HistoryEvent } from '../../local/history.ts';
import { LocalSaga, stillBooked, type Execution } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { BookingStatus } from '../../functions/bookings.ts';
import { failureMatrix } from '../helpers/matrix.ts';
import { firstStep, lastStep, stageIndexOf, stageOf, tripParallelSaga, tripSagaOfTwoStagesOrMore } from '../helpers/sagas.ts';
import { tripSagaOfSize } from '../helpers/saga-shapes.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';
import { booked, expectConsistent, nextTripId, runChecked, type Bookings } from '../helpers/invariant.ts';

// The saga's consistency, on the real tables: every execution is checked against the invariant.

describe.each([
  ['the trip', tripSaga],
  ['the trip with a group', tripParallelSaga],
])('the failure matrix, generated from the step list: %s', (_, saga) => {
  let local: LocalSaga;
  beforeAll(async () => {
    local = await LocalSaga.start({ saga });
  });
  afterAll(() => local.close());

  const steps: readonly CompensatableStep[] = compensatableStepsOf<string>(saga);
  const last = steps.at(-1)?.action as string;
  const allowed = compensationRetryOf(saga).maxAttempts;

  it.each(failureMatrix(saga).map((scenario) => [scenario.name, scenario] as const))('%s', async (_, scenario) => {
    const trip = tripWithId(nextTripId(scenario.name.replaceAll(' ', '-').replaceAll(/[^A-Za-z0-9-]/g, '')));
    const execution = await runChecked(local, trip, { ...scenario.faults }, [...scenario.deliverTwice]);
    expect(execution.outcome).toBe(scenario.expected);
    if (scenario.lateDelivery) {
      await expect(local.invoke(scenario.lateDelivery, { trip, execution: execution.executionArn })).rejects.toMatchObject({
        name: StepError.BookingCancelled,
      });
      expect(booked(await local.bookingsOf(trip.trip_id))).toEqual([]);
    }
    // Then the same trip under another name: it wins only if the first did not, and leaves the first's ending intact.
    const rival = await runChecked(local, trip);
    expect(rival.outcome).toBe(scenario.expected === 'succeeded' ? 'rolled back' : 'succeeded');
    if (execution.outcome === 'succeeded') await expectConsistent(local, execution, trip);
    else expect(stillBooked(await local.bookingsOf(trip.trip_id), execution.executionArn)).toEqual([]);
  });

  it.each(steps.map((step) => [step.action, stageIndexOf(step, saga) + 1, step] as const))(
    'when %s fails, the path is the k entries of the actions, their compensations in reverse and SagaRolledBack (k = %i)',
    async (action, k, step) => {
      const execution = await runChecked(local, tripWithId(nextTripId(action)), { [action]: { times: 'always' } });
      const stages = saga.steps.slice(0, k);
      expect(execution.path.filter((state) => state in local.definition.States)).toEqual([
        ...stages.map(actionEntryOf),
        ...stages.reverse().map(compensationEntryOf),
        'SagaRolledBack',
      ]);
      // Every compensation of the failing step's group ran, whichever action failed.
      for (const owed of stepsOfStage(saga.steps[k - 1] as Stage<string>)) expect(execution.path).toContain(owed.compensation);
      expect(execution.path).toContain(step.compensation);
    },
  );

  it.each(steps.map((step) => step.compensation))('%s gives up after exactly its allowed attempts, then alerts', async (compensation) => {
    const execution = await runChecked(local, tripWithId(nextTripId(`${compensation}-stuck`)), {
      [last]: { times: 'always' },
      [compensation]: { times: 'always' },
    });
    expect(execution.calls[compensation]).toBe(allowed + 1);
    // Then the alert, and the compensation once more with fresh retries, where the execution stops.
    expect(execution.path.filter((state) => state.endsWith(compensation)).slice(-2)).toEqual([
      `Alert${compensation}`,
      `Retry${compensation}`,
    ]);
    expect(execution.calls[`Retry${compensation}`]).toBe(allowed + 1);
  });

  it.each<[string, unknown]>([
    ['a missing field', (({ hotel: _, ...rest }) => rest)(tripWithId('invalid-missing'))],
    ['check-out before check-in', tripWithId('invalid-dates', { check_out: '2017-07-01T00:00:00.000Z' })],
    ['a trip that is not an object', ['not', 'a', 'trip']],
  ])('an invalid trip (%s) ends as bad input, writing nothing', async (_, input) => {
    const execution = await local.execute(input, { retryDelayMs: 0, name: nextTripId('invalid') });
    expect(execution.outcome).toBe('bad input');
    expect(execution.path.filter((state) => state in local.definition.States)).toEqual([local.definition.StartAt, 'TripRejected']);
    const tripId = (input as Partial<Trip>).trip_id;
    if (tripId) expect(Object.values(await local.bookingsOf(tripId)).filter(Boolean)).toEqual([]);
  });

  // A run that nobody watches writes its history when it is read: it must be the history a watched run streams.
  it.each(failureMatrix(saga).map((scenario) => [scenario.name, scenario] as const))(
    'the history of an unwatched run, written when read, is the one a watched run streams: %s',
    async (_, scenario) => {
      const historiesOf = async (watched: boolean) => {
        const trip = tripWithId(nextTripId(watched ? 'watched' : 'unwatched'));
        const streamed: HistoryEvent[] = [];
        const options = { retryDelayMs: 0, ...(watched ? { onEvent: (event: HistoryEvent) => streamed.push(event) } : {}) };
        const name = nextTripId('history');
        const execution = await local.execute(trip, {
          ...options,
          name,
          faults: scenario.faults,
          deliverTwice: [...scenario.deliverTwice],
        });
        // Where the failure matrix redrives (runChecked): the redrive's history goes on from the run's.
        const stuck = execution.outcome === 'compensation not finished' || execution.outcome === 'step not finished';
        const redriven = stuck ? await local.redrive(execution, options) : undefined;
        const history = (redriven ?? execution).history;
        if (watched) expect(streamed).toEqual(history);
        // What differs between two executions of one scenario: names, keys, request ids, instants and traces.
        return (
          JSON.stringify(history)
            .replaceAll(name, 'NAME')
            .replaceAll(trip.trip_id, 'KEY')
            .replaceAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
            .replaceAll(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, 'INSTANT')
            // The alert's SNS answer carries its HTTP Date header.
            .replaceAll(/[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/g, 'INSTANT')
            // An error's trace: its async frames depend on what had settled when it was thrown.
            .replaceAll(/,(\\*)"\s+at [^"\\]*\1"/g, '')
        );
      };
      expect(await historiesOf(false)).toBe(await historiesOf(true));
    },
  );

  it('shapes a function’s error as Lambda does: Error is its name, Cause the JSON of errorType and errorMessage', async () => {
    const execution = await local.execute(tripWithId(nextTripId('shape')), {
      faults: { [last]: { times: 'always' } },
      retryDelayMs: 0,
    });
    const failed = execution.history.find((event) => event.type === 'LambdaFunctionFailed');
    const details = failed?.['lambdaFunctionFailedEventDetails'] as { error: string; cause: string };
    expect(details.error).toBe('InjectedFault');
    expect(JSON.parse(details.cause)).toMatchObject({ errorType: 'InjectedFault', errorMessage: expect.stringContaining(last) });
  });
});

describe('concurrency', () => {
  let local: LocalSaga;
  beforeAll(async () => {
    local = await LocalSaga.start({ saga: tripSaga });
  });
  afterAll(() => local.close());

  it('200 sagas at once, 80 trips run twice under other names: exactly one execution of each trip wins', async () => {
    const ids = Array.from({ length: 120 }, (_, index) => `crowd-${index}`);
    const trips: Trip[] = [
      ...ids.map((id) => tripWithId(id)),
      // The same trip again, under another execution name.
      ...ids.slice(0, 40).map((id) => tripWithId(id)),
      // Another trip under the same id.
      ...ids.slice(40, 80).map((id) => tripWithId(id, { hotel: 'the ritz', depart: 'Paris', rental: 'Fiat' })),
    ];
    const executions = await Promise.all(
      trips.map((trip, index) => local.execute(trip, { name: `crowd-execution-${index}`, retryDelayMs: 0 })),
    );
    expect(executions).toHaveLength(200);
    for (const id of ids) {
      const mine = trips
        .map((trip, index) => ({ trip, execution: executions[index] as Execution }))
        .filter(({ trip }) => trip.trip_id === id);
      const winners = mine.filter(({ execution }) => execution.outcome === 'succeeded');
      expect(winners).toHaveLength(1);
      for (const { trip, execution } of mine) await expectConsistent(local, execution, trip);
      for (const { execution } of mine.filter(({ execution }) => execution.outcome !== 'succeeded')) {
        expect(execution.outcome).toBe('rolled back');
      }
    }
  }, 60_000);
});

describe('bookings of more tables than one BatchGetItem reads (100 keys)', () => {
  it('reads every step of a saga of 101 steps, booked or not, each from its own table', async () => {
    const saga = tripSagaOfSize(101);
    const local = await LocalSaga.start({ saga });
    try {
      const steps = stepsOf(saga);
      const trip = tripWithId(nextTripId('batch'));
      expect(booked(await local.bookingsOf(trip.trip_id))).toEqual([]);
      const failing = steps.at(-1) as SagaStep;
      // Every step but the last books; the last fails, and the rollback undoes them all (the failed one's cancel leaves
      // its marker, which a late booking then meets): each step's item, in each table, past the first 100 too.
      const execution = await local.execute({ ...trip, [FAULT_FIELD]: [failing.action] }, { retryDelayMs: 0 });
      expect(execution.outcome).toBe('rolled back');
      const bookings = await local.bookingsOf(trip.trip_id);
      expect(Object.keys(bookings)).toEqual(steps.map((step) => step.name));
      expect(booked(bookings)).toEqual([]);
      const cancelled = steps.filter((step) => bookings[step.name]?.['status'] === BookingStatus.Cancelled);
      expect(cancelled.map((step) => step.name)).toEqual(steps.map((step) => step.name));
      const succeeded = await local.execute(tripWithId(nextTripId('batch')), { retryDelayMs: 0 });
      const tripId = String((succeeded.input as Trip).trip_id);
      expect(booked(await local.bookingsOf(tripId))).toEqual(steps.map((step) => step.name));
    } finally {
      await local.close();
    }
  });
});

describe('executions of one trip under different names', () => {
  let local: LocalSaga;
  beforeAll(async () => {
    local = await LocalSaga.start({ saga: tripSaga });
  });
  afterAll(() => local.close());

  const names = (execution: Execution, bookings: Bookings) =>
    Object.values(bookings).map((item) => (item?.['execution'] === execution.executionArn ? 'mine' : item?.['execution']));

  it.each([
    ['no fault', {}],
    ...compensatableStepsOf(tripSaga).map((step) => [`${step.action} failing`, { [step.action]: { times: 'always' } }] as const),
  ])(
    'a later execution of a succeeded trip (%s) rolls back without touching the succeeded one’s bookings, and says so',
    async (label, faults) => {
      const trip = tripWithId(nextTripId(`kept-${label.replaceAll(' ', '-')}`));
      const first = await local.execute(trip, { name: nextTripId('first'), retryDelayMs: 0 });
      const second = await local.execute(trip, { name: nextTripId('second'), faults: { ...faults }, retryDelayMs: 0 });
      expect([first.outcome, second.outcome]).toEqual(['succeeded', 'rolled back']);
      await expectConsistent(local, first, trip);
      await expectConsistent(local, second, trip);
      // Every compensation the second ran found the first's booking, left it, and said whose it was.
      const compensations = new Set(compensatableStepsOf(tripSaga).map((step) => step.compensation));
      const exits = second.history.filter(
        (event) => event.type === 'TaskStateExited' && compensations.has((event['stateExitedEventDetails'] as { name: string }).name),
      );
      expect(exits.length).toBeGreaterThan(0);
      for (const exited of exits) {
        const { name, output } = exited['stateExitedEventDetails'] as { name: string; output: string };
        expect(JSON.parse(output).results[name]).toMatchObject({ outcome: 'left another booking', heldBy: first.executionArn });
      }
      expect(names(first, await local.bookingsOf(trip.trip_id))).toEqual(compensatableStepsOf(tripSaga).map(() => 'mine'));
    },
  );

  it('a trip whose execution rolled back can be booked by a new execution, and the old one’s late write is refused', async () => {
    const trip = tripWithId(nextTripId('rebooked'));
    const failing = (compensatableStepsOf(tripSaga).at(-1) as SagaStep).action;
    const rolledBack = await local.execute(trip, {
      name: nextTripId('gave-up'),
      faults: { [failing]: { times: 'always' } },
      retryDelayMs: 0,
    });
    const again = await local.execute(trip, { name: nextTripId('again'), retryDelayMs: 0 });
    expect([rolledBack.outcome, again.outcome]).toEqual(['rolled back', 'succeeded']);
    await expectConsistent(local, again, trip);
    for (const step of compensatableStepsOf(tripSaga)) {
      await expect(local.invoke(step.action, { trip, execution: rolledBack.executionArn })).rejects.toMatchObject({
        name: expect.stringMatching(/^(BookingCancelled|BookingConflict)$/),
      });
    }
    await expectConsistent(local, again, trip);
  });

  it('refuses a second STANDARD execution under a name already used', async () => {
    const trip = tripWithId(nextTripId('named-once'));
    await local.execute(trip, { retryDelayMs: 0 });
    await expect(local.execute(trip, { retryDelayMs: 0 })).rejects.toMatchObject({ name: 'ExecutionNameError' });
  });

  it.each(compensatableStepsOf(tripSaga).map((step) => [step.compensation, step] as const))(
    'an EXPRESS saga stuck at %s alerts, then hands the rollback to the rollback machine, which finishes it',
    async (compensation, step) => {
      const express = await LocalSaga.start({ saga: tripSaga, type: 'EXPRESS' });
      try {
        const trip = tripWithId(nextTripId(`handed-${compensation}`));
        const failing = (compensatableStepsOf(tripSaga).at(-1) as SagaStep).action;
        // The fault is the saga's run's only: the rollback machine finds the compensation fixed.
        const stuck = await express.execute(trip, {
          faults: { [failing]: { times: 'always' }, [compensation]: { times: 'always' } },
          retryDelayMs: 0,
        });
        expect(stuck).toMatchObject({ outcome: 'compensation not finished', error: 'SagaRollbackHandedOff' });
        expect(stuck.alerts.map((alert) => alert.message['stuckCompensation'])).toEqual([compensation]);
        const [rollback] = await express.handedOff();
        expect(rollback).toMatchObject({
          status: 'SUCCEEDED',
          input: { trip, execution: stuck.executionArn, resumeFrom: compensationEntryOf(stageOf(step)) },
        });
        // A name derived from the execution: 64 hex characters, the same on a repeated hand-off.
        expect(rollback?.name).toMatch(/^[0-9a-f]{64}$/);
        expect(stillBooked(await express.bookingsOf(trip.trip_id), stuck.executionArn)).toEqual([]);
        await expect(express.rollback?.execute(rollback?.input, { name: rollback?.name as string })).rejects.toMatchObject({
          name: 'ExecutionNameError',
        });
      } finally {
        await express.close();
      }
    },
  );

  it('an EXPRESS hand-off delivered again once its rollback has ended is refused the name, and ends handed off', async () => {
    const express = await LocalSaga.start({ saga: tripSaga, type: 'EXPRESS' });
    try {
      const trip = tripWithId(nextTripId('handed-twice'));
      const handOff = handOffStateOf(lastStep);
      const stuck = await express.execute(trip, {
        faults: { [lastStep.action]: { times: 'always' }, [lastStep.compensation]: { times: 'always' } },
        deliverTwice: [handOff],
        retryDelayMs: 0,
      });
      // At least once on EXPRESS: the rerun finds the rollback machine's execution of its name closed, which AWS
      // refuses whatever the input; the saga takes it for the hand-off it is, and fails at no Task.
      expect(stuck).toMatchObject({ outcome: 'compensation not finished', error: 'SagaRollbackHandedOff' });
      const refused = stuck.history.find((event) => event.type === 'TaskFailed');
      expect(refused?.['taskFailedEventDetails']).toMatchObject({ error: EXECUTION_ALREADY_EXISTS });
      expect(stuck.calls[handOff]).toBe(1);
      const handedOff = await express.handedOff();
      expect(handedOff).toHaveLength(1);
      expect(handedOff[0]).toMatchObject({
        status: 'SUCCEEDED',
        input: { execution: stuck.executionArn, resumeFrom: compensationEntryOf(stageOf(lastStep)) },
      });
      expect(stillBooked(await express.bookingsOf(trip.trip_id), stuck.executionArn)).toEqual([]);
    } finally {
      await express.close();
    }
  });

  it('EXPRESS runs of one name are distinct executions: of two at once, exactly one wins and keeps its bookings', async () => {
    const express = await LocalSaga.start({ saga: tripSaga, type: 'EXPRESS' });
    try {
      for (let round = 0; round < 10; round += 1) {
        const trip = tripWithId(nextTripId('express'));
        const runs = await Promise.all([express.execute(trip, { retryDelayMs: 0 }), express.execute(trip, { retryDelayMs: 0 })]);
        expect(runs[0]?.executionArn).not.toBe(runs[1]?.executionArn);
        expect(runs.map((run) => run.outcome).sort()).toEqual(['rolled back', 'succeeded']);
        for (const run of runs) await expectConsistent(express, run, trip);
      }
    } finally {
      await express.close();
    }
  });
});

describe('a group stuck in its compensations', () => {
  const group = tripParallelSaga.steps.find(isGroup) as ParallelGroup;
  const [fine, stuckStep] = group.parallel as [CompensatableStep, CompensatableStep];

  it('is redriven as AWS redrives a Parallel state: only the failed branch reruns, from where it stopped', async () => {
    const local = await LocalSaga.start({ saga: tripParallelSaga });
    try {
      const trip = tripWithId(nextTripId('group-redrive'));
      const stuck = await local.execute(trip, {
        faults: { [fine.action]: { times: 'always' }, [stuckStep.compensation]: { times: 'until-redrive' } },
        retryDelayMs: 0,
      });
      expect(stuck).toMatchObject({ outcome: 'compensation not finished', status: 'FAILED' });
      await expectConsistent(local, stuck, trip);
      const redriven = await local.redrive(stuck, { faults: { [stuckStep.compensation]: { times: 'until-redrive' } }, retryDelayMs: 0 });
      expect(redriven).toMatchObject({ outcome: 'rolled back', error: 'SagaRolledBack', redriveCount: 1 });
      // The branch that succeeded is not rerun; the stuck one reruns its retry, not its first attempts or its alert.
      expect(redriven.calls[fine.compensation]).toBe(stuck.calls[fine.compensation]);
      expect(redriven.calls[`Retry${stuckStep.compensation}`]).toBe((stuck.calls[`Retry${stuckStep.compensation}`] ?? 0) + 1);
      expect(redriven.calls[`Alert${stuckStep.compensation}`]).toBe(stuck.calls[`Alert${stuckStep.compensation}`]);
      await expectConsistent(local, redriven, trip);
      const events = redriven.history.slice(stuck.history.length).map((event) => event.type);
      expect(events.slice(0, 3)).toEqual(['ExecutionRedriven', 'ParallelStateEntered', 'ParallelStateStarted']);
    } finally {
      await local.close();
    }
  });

  it('on EXPRESS, two branches stuck at once hand the rollback off once, from the group, which finishes it', async () => {
    const express = await LocalSaga.start({ saga: tripParallelSaga, type: 'EXPRESS' });
    try {
      const trip = tripWithId(nextTripId('group-handed'));
      const stuck = await express.execute(trip, {
        faults: Object.fromEntries([
          [fine.action, { times: 'always' }],
          ...group.parallel.map((step) => [step.compensation, { times: 'always' }]),
        ]),
        retryDelayMs: 0,
      });
      expect(stuck).toMatchObject({ outcome: 'compensation not finished', error: 'SagaRollbackHandedOff' });
      const handedOff = await express.handedOff();
      expect(handedOff).toHaveLength(1);
      expect(handedOff[0]).toMatchObject({
        status: 'SUCCEEDED',
        input: { resumeFrom: groupCompensationOf(group), execution: stuck.executionArn },
      });
      expect(stillBooked(await express.bookingsOf(trip.trip_id), stuck.executionArn)).toEqual([]);
    } finally {
      await express.close();
    }
  });
});

describe('with --data', () => {
  it('keeps the tables and the execution, so that a stuck rollback can be resumed by a later process', async () => {
    // A step after the first, whose failure leaves the first booked (a step added to a trip of one).
    const saga = tripSagaOfTwoStagesOrMore;
    const last = stepsOf(saga).at(-1) as SagaStep;
    const dataDir = await scratchDir();
    const trip = tripWithId(nextTripId('persisted'));
    const first = await LocalSaga.start({ saga, dataDir });
    const stuck = await first.execute(trip, {
      faults: { [last.action]: { times: 'always' }, [firstStep.compensation]: { times: 'always' } },
      retryDelayMs: 0,
    });
    await first.close();
    expect(stuck.outcome).toBe('compensation not finished');

    const second = await LocalSaga.start({ saga, dataDir });
    try {
      expect(booked(await second.bookingsOf(trip.trip_id))).toEqual([firstStep.name]);
      const saved = await second.savedExecution(trip.trip_id);
      expect(saved?.alerts[0]?.message['stuckCompensation']).toBe(firstStep.compensation);
      const redriven = await second.redrive(saved as Execution, { retryDelayMs: 0 });
      expect(redriven).toMatchObject({ outcome: 'rolled back', redriveCount: 1 });
      expect(booked(await second.bookingsOf(trip.trip_id))).toEqual([]);
      expect(await second.savedExecution(trip.trip_id)).toMatchObject({ outcome: 'rolled back', redriveCount: 1 });
    } finally {
      await second.close();
    }
  });
});

describe('a function gets its payload and gives its result as JSON, as across Lambda’s boundary', () => {
  const careless: SagaStep = {
    kind: 'custom',
    name: 'Careless',
    action: 'ChangeWhatItGets',
    compensation: 'UndoCareless',
    code: new URL('../fixtures/careless-step/code.ts', import.meta.url),
  };
  const saga = { ...tripSaga, name: 'CarelessTrip', steps: [careless, ...tripSaga.steps] };
  let local: LocalSaga;
  beforeAll(async () => {
    local = await LocalSaga.start({ saga });
  });
  afterAll(() => local.close());

  it('so that its code cannot change the input of the steps after it, its own result once returned, or the history', async () => {
    const { CHANGED, RETURNED_AT } = await import('../fixtures/careless-step/code.ts');
    const [first, second] = [
      await local.execute(tripWithId(nextTripId('careless'))),
      await local.execute(tripWithId(nextTripId('careless'))),
    ];
    for (const execution of [first, second]) {
      expect(execution.outcome).toBe('succeeded');
      // Every payload the history records, each step's own included, is the input as the execution was started with it.
      const payloads = execution.history.flatMap((event) => {
        const details = event['lambdaFunctionScheduledEventDetails'] as { input: string } | undefined;
        return details ? [JSON.parse(details.input) as { context: { Execution: { Input: unknown } } }] : [];
      });
      expect(payloads).toHaveLength(saga.steps.flatMap(stepsOfStage).length);
      expect(execution.input).not.toHaveProperty(CHANGED);
      for (const payload of payloads) expect(payload.context.Execution.Input).toEqual(execution.input);
      // Its result as JSON holds it: the Date as its text, and not changed by the next call of the step.
      expect((execution.output as { results: Record<string, unknown> }).results[careless.action]).toEqual({
        at: RETURNED_AT.toISOString(),
      });
      expect(JSON.stringify(execution.output)).not.toContain(CHANGED);
    }
  });
});
