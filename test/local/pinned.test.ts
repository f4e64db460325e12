import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { parallel, retryStateOf, stepsOf, stepsOfStage, type Saga } from '../../asl/saga.ts';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  DescribeStateMachineForExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { LocalSaga, stillBooked, type Execution } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { booked, expectConsistent } from '../helpers/invariant.ts';
import {
  addedStep,
  bookingsOf,
  lastStep,
  previousStep,
  stageIndexOf,
  stageOf,
  tripSagaOfTwoStagesOrMore,
  tripSagaWithAddedStep,
  type CompensatableBooking,
} from '../helpers/sagas.ts';
import { interruptedExecution, withoutDefinition } from '../helpers/journals.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';

// Changing the step list while executions of the earlier one are stuck or interrupted (--data): each goes on, to its
// end and through every redrive, on the definition it started with, and the invariant holds on its own step list.

/**
 * The step list executions start on before it is edited: the trip, of two stages at least, so that it has entries to
 * reorder, remove or group, and a step that has booked before the failed one.
 */
const started = tripSagaOfTwoStagesOrMore;
const startedSteps = bookingsOf(started);
const startedLast = startedSteps.at(-1) as CompensatableBooking;

/** The edits a user makes between a start and a redrive, each from that step list. */
const edits: readonly (readonly [string, Saga])[] = [
  ['steps reordered', { ...started, steps: [...started.steps].reverse() }],
  ['the entry of the failed step removed', { ...started, steps: started.steps.filter((stage) => stage !== stageOf(startedLast, started)) }],
  ['a step added', { ...started, steps: [...started.steps, addedStep] }],
  [
    'the first entries grouped',
    { ...started, steps: [parallel('Grouped', started.steps.slice(0, 2).flatMap(stepsOfStage)), ...started.steps.slice(2)] },
  ],
];

/**
 * A rollback stuck at the compensation before the failed step's, as `--fail LAST --fail PREVIOUS=until-redrive` leaves
 * it: of the trip by default, or of another step list.
 */
async function stuckRollback(dataDir: string, tripId: string, saga: Saga = tripSaga): Promise<Execution> {
  const steps = bookingsOf(saga);
  const last = steps.at(-1) as CompensatableBooking;
  const before = await LocalSaga.start({ saga, dataDir });
  try {
    const stuck = await before.execute(tripWithId(tripId), {
      faults: { [last.action]: { times: 'always' }, [(steps.at(-2) ?? last).compensation]: { times: 'until-redrive' } },
      retryDelayMs: 0,
    });
    expect(stuck.outcome).toBe('compensation not finished');
    return stuck;
  } finally {
    await before.close();
  }
}

describe('an execution stuck in its rollback, redriven after the step list changed', () => {
  it.each(edits)('%s: it is rolled back on the definition it started with, nothing left booked', async (edit, edited) => {
    const dataDir = await scratchDir();
    const trip = tripWithId(edit.replaceAll(' ', '-'));
    await stuckRollback(dataDir, trip.trip_id, started);

    const after = await LocalSaga.start({ saga: edited, dataDir });
    try {
      const saved = after.savedExecution(trip.trip_id) as Execution;
      expect(after.pinnedOf(saved).saga).toEqual(JSON.parse(JSON.stringify(started)));
      expect(after.definitionNoteOf(saved)).toMatch(
        /^the step list changed since it started \(.+\): it runs on the definition it started with/,
      );
      const redriven = await after.redrive(saved, { retryDelayMs: 0 });
      expect(redriven).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack', outcome: 'rolled back', redriveCount: 1 });
      // Every compensation the rollback owed ran, entry by entry in reverse order of the step list the execution
      // started with (a group's in any order, a branch its Parallel state stopped run again).
      const compensated = redriven.path.flatMap((state) => startedSteps.filter((step) => step.compensation === state));
      expect(new Set(compensated)).toEqual(new Set(startedSteps));
      const entries = compensated.map((step) => stageIndexOf(step, started));
      expect(entries).toEqual([...entries].sort((earlier, later) => later - earlier));
      expect(stillBooked(await after.bookingsOf(trip.trip_id, started), saved.executionArn)).toEqual([]);
      await expectConsistent(after, redriven, trip);
      // Kept as it ended, on its own definition still.
      expect(after.savedExecution(trip.trip_id)?.pinned?.hash).toBe(saved.pinned?.hash);
    } finally {
      await after.close();
    }
  });

  it('the same step list announces nothing', async () => {
    const dataDir = await scratchDir();
    const stuck = await stuckRollback(dataDir, 'unchanged');
    const again = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      expect(again.definitionNoteOf(stuck)).toBeUndefined();
      expect(again.pinned.hash).toBe(stuck.pinned?.hash);
    } finally {
      await again.close();
    }
  });
});

describe('an execution interrupted, continued after the step list changed', () => {
  it('a step removed since: the execution finishes that step on its own definition, and its table keeps the booking', async () => {
    const dataDir = await scratchDir();
    const trip = tripWithId('continued');
    // In the added step once the step before it has booked: its retries pause 5 s.
    await interruptedExecution(tripSagaWithAddedStep, dataDir, trip, addedStep.action, lastStep.name);

    const after = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      const [recovery] = after.continueInterrupted(() => ({ retryDelayMs: 0 }));
      expect(recovery?.report).toMatch(
        new RegExp(
          `^continued: was running in ${addedStep.action} \\(the step list changed since it started \\(.*${addedStep.action}.*\\).*: continued from ${addedStep.action}$`,
        ),
      );
      const execution = (await recovery?.done) as Execution;
      expect(execution.status).toBe('SUCCEEDED');
      expect(booked(await after.bookingsOf(trip.trip_id, tripSagaWithAddedStep))).toEqual(
        stepsOf(tripSagaWithAddedStep).map((step) => step.name),
      );
      await expectConsistent(after, execution, trip);
    } finally {
      await after.close();
    }
  });
});

describe('a journal kept before executions kept their definition', () => {
  it('is said to be so, and its execution is redriven on the current step list', async () => {
    const dataDir = await scratchDir();
    const stuck = await stuckRollback(dataDir, 'older');
    await withoutDefinition(dataDir, stuck.name);

    const after = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      const saved = after.savedExecution(stuck.name) as Execution;
      expect(saved.pinned).toBeUndefined();
      expect(after.definitionNoteOf(saved)).toBe(
        `kept without its definition (a journal older than definitions in journals): it runs on the current step list, ${after.pinned.hash}`,
      );
      expect(saved.path.at(-1)).toBe(retryStateOf(previousStep));
      const redriven = await after.redrive(saved, { retryDelayMs: 0 });
      expect(redriven.outcome).toBe('rolled back');
      expect(booked(await after.bookingsOf(stuck.name))).toEqual([]);
    } finally {
      await after.close();
    }
  });
});

describe('saga local --data, restarted after the step list changed', () => {
  it('continues the execution it was running on that execution’s definition, which DescribeStateMachineForExecution gives', async () => {
    const dataDir = await scratchDir();
    const trip = tripWithId('served');
    const before = await LocalSaga.start({ saga: tripSagaWithAddedStep, dataDir });
    const first = await StepFunctionsServer.start(before, { faults: { [addedStep.action]: { times: 2 } }, retryDelayMs: 5_000 });
    const client = (endpoint: string) => new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint });
    const sfnBefore = client(first.endpoint);
    const { executionArn } = await sfnBefore.send(
      new StartExecutionCommand({ stateMachineArn: before.stateMachineArn, name: trip.trip_id, input: JSON.stringify(trip) }),
    );
    // In the added step once the step before it has booked: its retries pause 5 s.
    while ((await before.bookingsOf(trip.trip_id))[lastStep.name] === undefined) await sleep(20);
    sfnBefore.destroy();
    await first.close();
    await before.close();

    const after = await LocalSaga.start({ saga: tripSaga, dataDir });
    const recoveries: string[] = [];
    const second = await StepFunctionsServer.start(after, { retryDelayMs: 0, onRecovery: (line) => recoveries.push(line) });
    const sfn = client(second.endpoint);
    try {
      expect(recoveries).toEqual([
        expect.stringMatching(new RegExp(`^${trip.trip_id}: was running in ${addedStep.action} \\(the step list changed`)),
      ]);
      let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      while (described.status === 'RUNNING') {
        await sleep(20);
        described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      }
      expect(described.status).toBe('SUCCEEDED');
      const own = await sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn }));
      expect(Object.keys(JSON.parse(own.definition as string).States)).toContain(addedStep.action);
      expect(own.revisionId).not.toBe(after.pinned.hash);
      const current = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: after.stateMachineArn }));
      expect(Object.keys(JSON.parse(current.definition as string).States)).not.toContain(addedStep.action);
      expect(booked(await after.bookingsOf(trip.trip_id, tripSagaWithAddedStep))).toEqual(
        stepsOf(tripSagaWithAddedStep).map((step) => step.name),
      );
    } finally {
      sfn.destroy();
      await second.close();
      await after.close();
    }
  });
});
