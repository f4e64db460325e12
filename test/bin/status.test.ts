import { afterAll, describe, expect, it } from '@jest/globals';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SagaOutcome } from '../../asl/errors.ts';
import { compensationEntryOf, retriableStepsOf, retryStateOf, stepsOf, type Saga, type SagaStep } from '../../asl/saga.ts';
import orderSaga from '../../examples/order.ts';
import { exampleInputOf } from '../../local/input.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { StepFunctionsServer, type StepFunctionsServerOptions } from '../../local/sfn-server.ts';
import { tripSaga } from '../../saga.ts';
import { Need, type NeedsAPerson } from '../../status/needs.ts';
import { saga } from '../helpers/cli.ts';
import {
  bookingsOf,
  compensationStatesOf,
  firstStep,
  heldWhenStuck,
  stageOf,
  TRIP_OF_TWO_STAGES_FILE,
  tripSagaOfTwoStagesOrMore,
  type CompensatableBooking,
} from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';

// `saga status` as a person on call runs it, in its own process, against a saga local given by its endpoints.

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A saga local serving a step list (`sagaFile`, the same as `saga status --saga` takes it: saga.ts by default). */
async function served(options: StepFunctionsServerOptions = {}, sagaServed: Saga = tripSaga, sagaFile?: string) {
  const local = await LocalSaga.start({ saga: sagaServed });
  const server = await StepFunctionsServer.start(local, options);
  stops.push(async () => {
    await server.close();
    await local.close();
  });
  const sfn = new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: server.endpoint });
  stops.push(async () => sfn.destroy());
  const start = async (id: string, fail: string[] = []) => {
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, name: id, input: JSON.stringify(tripWithId(id, { fail })) }),
    );
    return executionArn;
  };
  const ended = async (executionArn: string) => {
    for (;;) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status !== 'RUNNING') return described;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const status = (...args: string[]) =>
    saga(
      'status',
      ...(sagaFile === undefined ? [] : ['--saga', sagaFile]),
      ...['--endpoint-url', server.endpoint, '--dynamodb-endpoint-url', local.dynamo.endpoint],
      ...args,
    );
  return { local, server, sfn, start, ended, status };
}

const needsOf = (stdout: string): NeedsAPerson[] => (JSON.parse(stdout) as { needs: NeedsAPerson[] }).needs;

/**
 * What a stuck rollback runs: the trip, of two stages at least, so that a step before the failed one has booked when
 * its compensation gets stuck (`previous`, the one before the last).
 */
const trip = tripSagaOfTwoStagesOrMore;
const tripSteps = bookingsOf(trip);
const last = tripSteps.at(-1) as CompensatableBooking;
const previous = tripSteps.at(-2) as CompensatableBooking;
const first = tripSteps[0] as CompensatableBooking;

describe('saga status --endpoint-url … --dynamodb-endpoint-url …', () => {
  it('of a succeeded, a rolled-back and a stuck execution lists exactly the stuck one, with its bookings, deadline and redrive; exit 1, then 0 once redriven', async () => {
    const { sfn, start, ended, status } = await served({ retryDelayMs: 0 }, trip, TRIP_OF_TWO_STAGES_FILE);
    const succeeded = await start('status-succeeded');
    const rolledBack = await start('status-rolled-back', [last.action]);
    // The last action fails and the previous step's compensation stays stuck: the steps up to it stay booked.
    const stuck = await start('status-stuck', [last.action, `${previous.compensation}=until-redrive`]);
    expect((await ended(succeeded)).status).toBe('SUCCEEDED');
    expect((await ended(rolledBack)).error).toBe(SagaOutcome.RolledBack);
    const stuckEnd = await ended(stuck);
    expect(stuckEnd.status).toBe('FAILED');

    const text = await status();
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('1 execution needs a person:');
    expect(text.stdout).toContain(`✗ status-stuck  ${Need.Stuck}`);
    expect(text.stdout).not.toContain('status-succeeded');
    expect(text.stdout).not.toContain('status-rolled-back');
    const owed = heldWhenStuck(previous, trip).map((step) => step.name);
    // The rollback machine takes over at the stuck compensation's entry of the step list (a group is resumed whole).
    const resumeFrom = compensationEntryOf(stageOf(previous, trip));
    expect(text.stdout).toContain(`still booked  ${owed.join(', ')}`);
    expect(text.stdout).toContain(`stopped at    ${retryStateOf(previous)}`);
    // 14 days after its end, counted down from whenever status ran: a whole 14 d only within half a second of it.
    const deadline = new Date((stuckEnd.stopDate as Date).getTime() + 14 * 86_400_000).toISOString();
    expect(text.stdout).toMatch(new RegExp(`redrive until ${deadline.replace(/\./g, '\\.')} \\(in (14 d|13 d 23 h)\\)`));

    const json = await status('--json');
    expect(json.code).toBe(1);
    const [need, ...others] = needsOf(json.stdout);
    expect(others).toEqual([]);
    expect(need).toMatchObject({
      need: Need.Stuck,
      executionArn: stuck,
      bookingsLeft: owed,
      redriveDeadline: deadline,
      redrivable: true,
      stoppedAt: retryStateOf(previous),
    });
    expect(need?.command).toMatch(new RegExp(`^aws stepfunctions redrive-execution --endpoint-url \\S+ --execution-arn ${stuck}$`));
    expect(need?.rollbackCommand).toContain(`"resumeFrom":"${resumeFrom}"`);
    // Bounded: three lists per machine (saga and rollback), one description per ended execution, one history per need.
    const report = JSON.parse(json.stdout) as { examined: number; calls: { stepFunctions: number; dynamodb: number } };
    expect(report.examined).toBe(2);
    expect(report.calls.stepFunctions).toBe(2 * 3 + report.examined + 1);
    expect(report.calls.dynamodb).toBe(tripSteps.length);

    await sfn.send(new RedriveExecutionCommand({ executionArn: stuck }));
    expect((await ended(stuck)).error).toBe(SagaOutcome.RolledBack);
    const after = await status();
    expect(after.stdout).toContain('✓ nothing needs a person');
    expect(after.code).toBe(0);
  });

  it('lists an execution stuck past the pivot as stuck forward, with its redrive and no undo; exit 0 once redriven forward', async () => {
    const stuckStep = retriableStepsOf(orderSaga).at(-1) as SagaStep;
    const { local, sfn, ended, status } = await served(
      { retryDelayMs: 0, faults: { [stuckStep.action]: { times: 'until-redrive' } } },
      orderSaga,
    );
    const name = 'status-forward';
    const example = (await exampleInputOf(orderSaga)) as Record<string, unknown>;
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: local.stateMachineArn,
        name,
        input: JSON.stringify({ ...example, [orderSaga.keyField]: name }),
      }),
    );
    expect((await ended(executionArn)).status).toBe('FAILED');
    const orderStatus = (...args: string[]) => status('--saga', 'examples/order.ts', ...args);

    const text = await orderStatus();
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`✗ ${name}  ${Need.StuckForward}`);
    expect(text.stdout).toContain(`stuck forward at ${stuckStep.action}, past the pivot: a redrive goes on forward`);
    expect(text.stdout).not.toContain('or undo with');
    const [need, ...others] = needsOf((await orderStatus('--json')).stdout);
    expect(others).toEqual([]);
    // Everything before the stuck step holds its effect: nothing is undone past the pivot.
    const before = stepsOf<string>(orderSaga).slice(0, stepsOf<string>(orderSaga).indexOf(stuckStep));
    expect(need).toMatchObject({
      need: Need.StuckForward,
      forwardStep: stuckStep.action,
      stoppedAt: retryStateOf(stuckStep),
      bookingsLeft: before.map((step) => step.name),
      redrivable: true,
    });
    expect(need?.command).toMatch(new RegExp(`^aws stepfunctions redrive-execution --endpoint-url \\S+ --execution-arn ${executionArn}$`));
    expect(need?.rollbackCommand).toBeUndefined();

    await sfn.send(new RedriveExecutionCommand({ executionArn }));
    expect((await ended(executionArn)).status).toBe('SUCCEEDED');
    const after = await orderStatus();
    expect(after.stdout).toContain('✓ nothing needs a person');
    expect(after.code).toBe(0);
  });

  it('lists a run stopped with bookings left, whose command is a redrive and whose undo is the rollback machine; not one stopped holding nothing', async () => {
    // The definition's own retry pauses: the stuck compensation is still retrying when the execution is stopped.
    const { sfn, start, ended, status } = await served({}, trip, TRIP_OF_TWO_STAGES_FILE);
    const stopWhenCompensationFailed = async (executionArn: string, compensation: string) => {
      for (;;) {
        const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
        const entered = events.findIndex((event) => event.stateEnteredEventDetails?.name === compensation);
        if (entered >= 0 && events.slice(entered).some((event) => event.type === 'LambdaFunctionFailed')) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await sfn.send(new StopExecutionCommand({ executionArn }));
      expect((await ended(executionArn)).status).toBe('ABORTED');
    };
    const aborted = await start('status-aborted', [last.action, previous.compensation]);
    await stopWhenCompensationFailed(aborted, previous.compensation);
    // Stopped while its first compensation retried, its action having failed: it holds nothing.
    const nothingHeld = await start('status-aborted-empty', [first.action, first.compensation]);
    await stopWhenCompensationFailed(nothingHeld, first.compensation);

    const { code, stdout } = await status('--json');
    expect(code).toBe(1);
    const needs = needsOf(stdout);
    expect(needs.map((need) => need.name)).toEqual(['status-aborted']);
    // Stopped in the compensation's entry of the step list: at itself, or at one of its group's (run at once).
    const entry = compensationEntryOf(stageOf(previous, trip));
    expect(needs[0]).toMatchObject({ need: Need.Aborted, status: 'ABORTED' });
    expect(compensationStatesOf(stageOf(previous, trip))).toContain(needs[0]?.stoppedAt);
    expect(needs[0]?.bookingsLeft).toContain(first.name);
    expect(needs[0]?.command).toContain(`redrive-execution`);
    expect(needs[0]?.rollbackCommand).toContain(`"resumeFrom":"${entry}"`);
  });

  it('says when it could not look at everything (--max-executions): exit 1 even with nothing found', async () => {
    const { start, ended, status } = await served({ retryDelayMs: 0 });
    for (const id of ['status-bound-1', 'status-bound-2']) await ended(await start(id, [firstStep.action]));
    const { code, stdout } = await status('--max-executions', '1');
    expect(stdout).toMatch(/NOT looked at {3}past --max-executions: \S+ FAILED/);
    expect(stdout).toContain('? nothing found among those looked at');
    expect(code).toBe(1);
  });

  it('refuses a target it cannot find, naming what to give (exit 2)', async () => {
    const { code, stderr } = await saga('status');
    expect(code).toBe(2);
    expect(stderr).toContain('--local, --stack NAME, --state-machine-arn ARN, or --endpoint-url URL');
    const { status } = await served();
    const wrong = await status('--saga', 'examples/trip-parallel.ts');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/serves no state machine named \S+: give it with --state-machine-arn ARN/);
  });
});
