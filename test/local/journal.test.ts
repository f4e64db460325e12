import { describe, expect, it } from '@jest/globals';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { isGroup, type ParallelGroup, type SagaStep } from '../../asl/saga.ts';
import { LocalSaga, type Execution } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { localStateMachineArn, sfnOf, startSaga, type SagaProcess } from '../helpers/cli.ts';
import { expectAllConsistent, failFlags, HELD, HELD_RETRY_DELAY, KILLS, plan, RETRY_DELAY, SEED } from '../helpers/crashes.ts';
import { expectConsistent } from '../helpers/invariant.ts';
import { addedStep, firstStep, lastStep, tripParallelSaga, tripSagaWithAddedStep } from '../helpers/sagas.ts';
import { interruptedExecution, withoutDefinition } from '../helpers/journals.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';

// jest: heavy (saga local killed 13 times, restarted on the same folder): test/sequencer.js starts it first on a fresh clone.
// The journal against crashes: `saga local --data` killed (SIGKILL) at random moments, seeded and reproducible, then
// restarted on the same folder (`saga run --data` is in journal-run.test.ts, so that Jest runs the two at once).
// Nothing accepted is lost, and every execution ends consistent.

async function served(
  dataDir: string,
  faults: readonly string[],
  retryDelay = RETRY_DELAY,
): Promise<{ server: SagaProcess; sfn: SFNClient }> {
  const server = startSaga(
    'local',
    '--data',
    dataDir,
    '--port',
    '0',
    '--dynamodb-port',
    '0',
    '--retry-delay',
    retryDelay,
    ...failFlags(faults),
  );
  return { server, sfn: await sfnOf(server) };
}

/** Waits until the execution's history shows the held compensation failed once: it now pauses before its retry. */
async function heldInFlight(sfn: SFNClient, executionArn: string): Promise<void> {
  for (;;) {
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const entered = events.findIndex((event) => event.stateEnteredEventDetails?.name === firstStep.compensation);
    if (entered >= 0 && events.slice(entered).some((event) => event.type === 'LambdaFunctionFailed')) return;
    await sleep(20);
  }
}

describe('killed at random moments (SIGKILL), restarted on the same folder', () => {
  it(`saga local --data: every ARN ever returned stays describable, and every execution ends consistent (seed ${SEED})`, async () => {
    const dataDir = await scratchDir();
    const returned: string[] = [];
    let describedUpTo = 0;
    const tripIds: string[] = [];
    let continued = 0;
    // One kill that surely strikes an execution in flight, seen paused before a compensation's retry; the random
    // ones below strike wherever they fall.
    {
      const { server, sfn } = await served(dataDir, HELD, HELD_RETRY_DELAY);
      const tripId = 'crash-held';
      tripIds.push(tripId);
      const input = JSON.stringify(tripWithId(tripId));
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: localStateMachineArn, name: tripId, input }));
      returned.push(executionArn as string);
      await heldInFlight(sfn, executionArn as string);
      server.child.kill('SIGKILL');
      await server.exited;
      sfn.destroy();
    }
    for (const [round, { killAfterMs, faults, gapMs }] of plan(SEED).entries()) {
      const { server, sfn } = await served(dataDir, faults);
      // What the last kill could have lost: every ARN returned since the restart before it. All are described again
      // once the last start has run everything to its end.
      for (const executionArn of returned.slice(describedUpTo)) await sfn.send(new DescribeExecutionCommand({ executionArn }));
      describedUpTo = returned.length;
      const killAt = Date.now() + killAfterMs;
      for (let index = 0; Date.now() < killAt; index += 1) {
        const tripId = `crash-${round}-${index}`;
        tripIds.push(tripId);
        const input = JSON.stringify(tripWithId(tripId));
        // Not awaited: some requests are in flight when the process dies, and get no ARN.
        sfn.send(new StartExecutionCommand({ stateMachineArn: localStateMachineArn, name: tripId, input })).then(
          ({ executionArn }) => void returned.push(executionArn as string),
          () => undefined,
        );
        await sleep(gapMs);
      }
      server.child.kill('SIGKILL');
      await server.exited;
      sfn.destroy();
      continued += server.output().match(/↻ .*: continued from/g)?.length ?? 0;
    }
    // The last start is not killed: everything running is continued to its end.
    const { server, sfn } = await served(dataDir, []);
    for (;;) {
      const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: localStateMachineArn, statusFilter: 'RUNNING' }));
      if (executions?.length === 0) break;
      await sleep(100);
    }
    for (const executionArn of returned) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status === 'FAILED') expect(described.redriveStatus).toBe('REDRIVABLE');
      else expect(described.status).toBe('SUCCEEDED');
    }
    sfn.destroy();
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
    const kept = await expectAllConsistent(dataDir, tripIds);
    // The schedule did strike executions in flight.
    expect(returned.length).toBeGreaterThan(KILLS);
    expect(continued).toBeGreaterThan(0);
    for (const executionArn of returned) expect(kept.map((execution) => execution.executionArn)).toContain(executionArn);
  }, 180_000);
});

describe('in one process', () => {
  it('a StopExecution still aborts, for good: the end is kept, and a line torn by a crash is ignored', async () => {
    const dataDir = await scratchDir();
    const local = await LocalSaga.start({ saga: tripSaga, dataDir });
    const stop = new AbortController();
    const started = local.begin(tripWithId('stopped'), {
      faults: { [firstStep.action]: { times: 2 } },
      retryDelayMs: 5_000,
      signal: stop.signal,
    });
    stop.abort();
    expect(await started.done).toMatchObject({ status: 'ABORTED' });
    await local.close();
    await appendFile(join(dataDir, 'executions', 'stopped.jsonl'), '{"type":"ev');

    const restarted = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      expect(restarted.continueInterrupted()).toEqual([]);
      expect(restarted.savedExecution('stopped')).toMatchObject({ status: 'ABORTED', outcome: 'aborted' });
    } finally {
      await restarted.close();
    }
  });

  it('an execution of an older journal (no definition kept) interrupted in a state the step list no longer has ends FAILED there', async () => {
    const dataDir = await scratchDir();
    // In the added step once the step before it has booked: its retries pause 5 s.
    await interruptedExecution(tripSagaWithAddedStep, dataDir, tripWithId('gone'), addedStep.action, lastStep.name);
    await withoutDefinition(dataDir, 'gone');

    const after = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      const [recovery] = after.continueInterrupted();
      expect(recovery?.report).toBe(
        `gone: was running in ${addedStep.action} (kept without its definition (a journal older than definitions in journals): ` +
          `it runs on the current step list, ${after.pinned.hash}), which the step list no longer has: ended FAILED (ExecutionInterrupted)`,
      );
      expect(await recovery?.done).toMatchObject({ status: 'FAILED', error: 'ExecutionInterrupted' });
      expect(after.savedExecution('gone')?.history.at(-1)).toMatchObject({ type: 'ExecutionFailed' });
    } finally {
      await after.close();
    }
  });

  it('an execution interrupted inside a group is continued from the group: the branch that ended keeps its result', async () => {
    const dataDir = await scratchDir();
    const group = tripParallelSaga.steps.find(isGroup) as ParallelGroup;
    const [quick, slow] = group.parallel as [SagaStep, SagaStep];
    const trip = tripWithId('in-group');
    // The quick branch has booked; the slow one pauses 5 s before its retry.
    await interruptedExecution(tripParallelSaga, dataDir, trip, slow.action, quick.name);

    const after = await LocalSaga.start({ saga: tripParallelSaga, dataDir });
    try {
      const [recovery] = after.continueInterrupted(() => ({ retryDelayMs: 0 }));
      expect(recovery?.report).toBe(`in-group: was running in ${group.name}: continued from ${group.name}`);
      const execution = (await recovery?.done) as Execution;
      expect(execution.status).toBe('SUCCEEDED');
      // Called once before the interruption: its branch had ended, and is not run again.
      expect(execution.calls[quick.action]).toBe(1);
      await expectConsistent(after, execution, trip);
    } finally {
      await after.close();
    }
  });
});
