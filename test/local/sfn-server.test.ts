import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb.ts';
import { LocalSaga, stillBooked } from '../../local/runtime.ts';
import { exampleInputOf } from '../../local/input.ts';
import orderSaga from '../../examples/order.ts';
import { inputProblemsOf } from '../../functions/input-problems.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import {
  alertStateOf,
  compensatableStepsOf,
  retriableStepsOf,
  retryStateOf,
  stepsOf,
  TerminalState,
  type CompensatableStep,
  type SagaStep,
} from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { compensatedWhen, firstStep, lastStep, previousStep, redriveEntryOf, steps, tripSagaOfTwoStagesOrMore } from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';

// The local Step Functions endpoint as the AWS SDK for JavaScript sees it: the same client, only the endpoint set.

let local: LocalSaga;
let server: StepFunctionsServer;
let sfn: SFNClient;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  local = await LocalSaga.start({ saga: tripSaga });
  // The definition's own retry pauses: a stuck compensation stays RUNNING long enough to be seen and stopped.
  server = await StepFunctionsServer.start(local);
  const client = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  sfn = new SFNClient({ ...client, endpoint: server.endpoint });
  dynamo = new DynamoDBClient({ ...client, endpoint: local.dynamo.endpoint });
});
afterAll(async () => {
  sfn.destroy();
  dynamo.destroy();
  await server.close();
  await local.close();
});

const start = (name: string, input: unknown) =>
  sfn.send(new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, name, input: JSON.stringify(input) }));

/** An execution described once it has ended, through the given endpoint's client. */
async function finished(executionArn: string, client: SFNClient = sfn): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function bookingStatus(table: string, tripId: string): Promise<string | undefined> {
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: table, Key: { trip_id: { S: tripId } }, ConsistentRead: true }));
  return Item?.['status']?.S;
}

async function apiError(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name, message, ...($metadata?.httpStatusCode ? { status: $metadata.httpStatusCode } : {}) };
  }
  throw new Error('expected the call to fail');
}

/** A raw JSON 1.0 request, for what an SDK would never send. */
async function raw(target: string, body: string): Promise<{ status: number; json: Record<string, string> }> {
  const response = await fetch(server.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, string> };
}

describe('executions', () => {
  it('the happy path: started, described until SUCCEEDED, the bookings in DynamoDB', async () => {
    const trip = tripWithId('sdk-happy');
    const { executionArn, startDate } = await start(trip.trip_id, trip);
    expect(executionArn).toBe(`arn:aws:states:${LOCAL_REGION}:000000000000:execution:TripBooking:sdk-happy`);
    expect(startDate).toBeInstanceOf(Date);
    const described = await finished(executionArn as string);
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: 'sdk-happy', stateMachineArn: local.stateMachineArn });
    expect(JSON.parse(described.output as string).results[lastStep.action].status).toBe('BOOKED');
    expect(await bookingStatus(firstStep.table, 'sdk-happy')).toBe('BOOKED');
  });

  it('a rollback: FAILED with SagaRolledBack, and only cancellation markers left', async () => {
    const trip = tripWithId('sdk-rollback', { fail: [previousStep.action] });
    const { executionArn } = await start(trip.trip_id, trip);
    expect(await finished(executionArn as string)).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
    // Every compensation owed leaves its marker (a group's all); a step never reached, nothing.
    for (const step of steps)
      expect(await bookingStatus(step.table, 'sdk-rollback')).toBe(compensatedWhen(previousStep, step) ? 'CANCELLED' : undefined);
  });

  it('an input that fails the trip schema starts, then fails with TripInvalid, writing nothing', async () => {
    const { executionArn } = await start('sdk-invalid', { trip_id: 'sdk-invalid' });
    expect(await finished(executionArn as string)).toMatchObject({ status: 'FAILED', error: 'TripInvalid' });
    expect(await bookingStatus(firstStep.table, 'sdk-invalid')).toBeUndefined();
  });

  it('StartSyncExecution is refused, as AWS refuses it on a STANDARD machine', async () => {
    const trip = tripWithId('sdk-sync');
    // AWS serves this operation on a `sync-` host; a local endpoint has none, so the SDK must not add the prefix.
    const sync = new SFNClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: server.endpoint,
      disableHostPrefix: true,
    });
    const refused = await apiError(
      sync.send(new StartSyncExecutionCommand({ stateMachineArn: local.stateMachineArn, name: trip.trip_id, input: JSON.stringify(trip) })),
    );
    sync.destroy();
    expect(refused).toMatchObject({ name: 'StateMachineTypeNotSupported', status: 400 });
  });

  it('a name is unique: the same name and input while running is the same execution; otherwise ExecutionAlreadyExists', async () => {
    const stuck = tripWithId('sdk-reuse', { fail: [lastStep.action, previousStep.compensation] });
    const first = await start(stuck.trip_id, stuck);
    const again = await start(stuck.trip_id, stuck);
    expect(again.executionArn).toBe(first.executionArn);
    expect(await apiError(start(stuck.trip_id, { ...stuck, hotel: 'elsewhere' }))).toMatchObject({
      name: 'ExecutionAlreadyExists',
      status: 400,
    });
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    expect(await apiError(start(stuck.trip_id, stuck))).toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('StopExecution aborts a running execution, keeping the error and cause given', async () => {
    const stuck = tripWithId('sdk-stop', { fail: [lastStep.action, previousStep.compensation] });
    const { executionArn } = await start(stuck.trip_id, stuck);
    // Stopped once its compensation has failed: it is then in a retry pause, of seconds.
    for (;;) {
      const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
      const entered = events.findIndex((event) => event.stateEnteredEventDetails?.name === previousStep.compensation);
      if (entered >= 0 && events.slice(entered).some((event) => event.type === 'LambdaFunctionFailed')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    const { stopDate } = await sfn.send(new StopExecutionCommand({ executionArn, error: 'Manual', cause: 'stopped by the test' }));
    expect(stopDate).toBeInstanceOf(Date);
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({
      status: 'ABORTED',
      error: 'Manual',
      cause: 'stopped by the test',
    });
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }));
    expect(events?.[0]).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Manual', cause: 'stopped by the test' },
    });
  });

  it('100 concurrent StartExecution calls: all complete, none lost', async () => {
    const trips = Array.from({ length: 100 }, (_, index) => tripWithId(`sdk-crowd-${index}`));
    const started = await Promise.all(trips.map((trip) => start(trip.trip_id, trip)));
    const described = await Promise.all(started.map(({ executionArn }) => finished(executionArn as string)));
    expect(described.map((execution) => execution.status)).toEqual(trips.map(() => 'SUCCEEDED'));
    const statuses = await Promise.all(trips.map((trip) => bookingStatus(lastStep.table, trip.trip_id)));
    expect(statuses).toEqual(trips.map(() => 'BOOKED'));
  }, 60_000);
});

describe('history, lists and the state machine', () => {
  it('GetExecutionHistory has AWS’s event types and pages through nextToken, in either order', async () => {
    const trip = tripWithId('sdk-history', { fail: [lastStep.action] });
    const { executionArn } = await start(trip.trip_id, trip);
    await finished(executionArn as string);
    const all = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events as HistoryEvent[];
    expect(all[0]).toMatchObject({ type: 'ExecutionStarted', id: 1, previousEventId: 0 });
    expect(all.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'SagaRolledBack' } });
    expect(all.find((event) => event.type === 'LambdaFunctionFailed')?.lambdaFunctionFailedEventDetails?.error).toBe('InjectedFault');
    expect(all.find((event) => event.type === 'TaskStateEntered')?.stateEnteredEventDetails?.name).toBe(firstStep.action);
    expect(all[0]?.timestamp).toBeInstanceOf(Date);

    const paged: HistoryEvent[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 4, nextToken }));
      paged.push(...(page.events ?? []));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken);
    expect(paged).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 4));
    const reversed = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true }))).events;
    expect(reversed).toEqual([...all].reverse());
    expect(await apiError(sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: 'bogus' })))).toMatchObject({
      name: 'InvalidToken',
    });
  });

  it('ListExecutions filters by status and pages, newest first', async () => {
    const succeeded = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: local.stateMachineArn, statusFilter: 'SUCCEEDED', maxResults: 2 }),
    );
    expect(succeeded.executions).toHaveLength(2);
    expect(succeeded.nextToken).toBeDefined();
    for (const execution of succeeded.executions ?? []) expect(execution.status).toBe('SUCCEEDED');
    const next = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: local.stateMachineArn,
        statusFilter: 'SUCCEEDED',
        maxResults: 2,
        nextToken: succeeded.nextToken,
      }),
    );
    expect(next.executions?.[0]?.executionArn).not.toBe(succeeded.executions?.[0]?.executionArn);
    const [newer, older] = succeeded.executions ?? [];
    expect((newer?.startDate as Date).getTime()).toBeGreaterThanOrEqual((older?.startDate as Date).getTime());
  });

  it('ListStateMachines and DescribeStateMachine show the saga, with the definition that infra deploys', async () => {
    const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines?.[0]).toEqual(
      expect.objectContaining({ stateMachineArn: local.stateMachineArn, name: tripSaga.name, type: 'STANDARD' }),
    );
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: local.stateMachineArn }));
    expect(JSON.parse(described.definition as string)).toEqual(local.definition);
    expect(described.status).toBe('ACTIVE');
  });
});

describe('history details as AWS gives them', () => {
  it('includeExecutionData: false leaves out inputs and outputs; Lambda events carry their timeout; the region is real', async () => {
    const trip = tripWithId('sdk-no-data');
    const { executionArn } = await start(trip.trip_id, trip);
    await finished(executionArn as string);
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }));
    expect(JSON.stringify(events)).not.toContain(trip.hotel);
    const full = (await sfn.send(new GetExecutionHistoryCommand({ executionArn }))).events ?? [];
    expect(JSON.stringify(full)).toContain(trip.hotel);
    const scheduled = full.find((event) => event.type === 'LambdaFunctionScheduled');
    expect(scheduled?.lambdaFunctionScheduledEventDetails?.timeoutInSeconds).toBe(
      (local.definition.States[firstStep.action] as { TimeoutSeconds?: number } | undefined)?.TimeoutSeconds,
    );
    expect(JSON.stringify(full)).not.toContain('"local"');
  });

  it('an input nested deeper than the local mode runs is InvalidExecutionInput, and nothing runs', async () => {
    const input = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const call = sfn.send(new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, name: 'sdk-deep', input }));
    expect(await apiError(call)).toMatchObject({ name: 'InvalidExecutionInput' });
  });
});

describe('with --validate-input', () => {
  it('a trip that fails the schema is refused at StartExecution with InvalidExecutionInput, naming the problem', async () => {
    const validating = await StepFunctionsServer.start(local, { validateInput: inputProblemsOf(local.saga) });
    const client = new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: validating.endpoint });
    try {
      const trip = tripWithId('sdk-validated', { check_out: '2017-07-01T00:00:00.000Z' });
      const refused = await apiError(
        client.send(new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, name: trip.trip_id, input: JSON.stringify(trip) })),
      );
      expect(refused).toMatchObject({ name: 'InvalidExecutionInput', status: 400 });
      expect(refused.message).toContain('/check_out must be a date-time after check_in');
      const valid = tripWithId('sdk-validated-ok');
      const started = await client.send(
        new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, name: valid.trip_id, input: JSON.stringify(valid) }),
      );
      expect(started.executionArn).toContain('sdk-validated-ok');
    } finally {
      client.destroy();
      await validating.close();
    }
  });
});

describe('bad requests get AWS’s errors, and the server carries on', () => {
  const missingArn = 'arn:aws:states:us-east-1:000000000000:execution:TripBooking:never-started';

  it.each([
    ['an invalid ARN', () => sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' })), 'InvalidArn'],
    [
      'an execution that does not exist',
      () => sfn.send(new DescribeExecutionCommand({ executionArn: missingArn })),
      'ExecutionDoesNotExist',
    ],
    [
      'a state machine that does not exist',
      () =>
        sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Nope', input: '{}' })),
      'StateMachineDoesNotExist',
    ],
    [
      'input that is not JSON',
      () => sfn.send(new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, input: '{ nope' })),
      'InvalidExecutionInput',
    ],
    [
      'a name with spaces',
      () => sfn.send(new StartExecutionCommand({ stateMachineArn: local.stateMachineArn, name: 'two words', input: '{}' })),
      'InvalidName',
    ],
    [
      'a bad status filter',
      () => sfn.send(new ListExecutionsCommand({ stateMachineArn: local.stateMachineArn, statusFilter: 'LOST' as never })),
      'ValidationException',
    ],
    [
      'a bad redrive filter',
      () => sfn.send(new ListExecutionsCommand({ stateMachineArn: local.stateMachineArn, redriveFilter: 'SOMETIMES' as never })),
      'ValidationException',
    ],
    [
      'PENDING_REDRIVE with a state machine (AWS asks for a Map Run)',
      () => sfn.send(new ListExecutionsCommand({ stateMachineArn: local.stateMachineArn, statusFilter: 'PENDING_REDRIVE' })),
      'ValidationException',
    ],
  ])('%s: the error is %s', async (_, call, type) => {
    expect(await apiError(call())).toMatchObject({ name: type, status: 400 });
  });

  it.each([
    ['DescribeExecution', 'executionArn'],
    ['GetExecutionHistory', 'executionArn'],
    ['StartExecution', 'stateMachineArn'],
    ['ListExecutions', 'stateMachineArn'],
  ])('%s without %s: ValidationException', async (operation, member) => {
    const { status, json } = await raw(`AWSStepFunctions.${operation}`, '{}');
    expect(status).toBe(400);
    expect(json['__type']).toMatch(/#ValidationException$/);
    expect(json['message']).toContain(`Value null at '${member}'`);
  });

  it('an unknown operation: UnknownOperationException', async () => {
    const { status, json } = await raw('AWSStepFunctions.DeleteEverything', '{}');
    expect(status).toBe(400);
    expect(json['__type']).toMatch(/#UnknownOperationException$/);
  });

  it('malformed JSON: SerializationException', async () => {
    const { status, json } = await raw('AWSStepFunctions.ListStateMachines', '{"broken":');
    expect(status).toBe(400);
    expect(json['__type']).toMatch(/#SerializationException$/);
    expect(json['message']).toBe('Request body is not valid JSON');
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'AWSStepFunctions.%s is no operation: UnknownOperationException',
    async (operation) => {
      const { status, json } = await raw(`AWSStepFunctions.${operation}`, '{"echo": 1}');
      expect(status).toBe(400);
      expect(json['__type']).toMatch(/#UnknownOperationException$/);
    },
  );

  it.each([
    ['DescribeExecution', '{"executionArn": 5}'],
    ['ListExecutions', `{"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:TripBooking", "statusFilter": ["FAILED"]}`],
    ['GetExecutionHistory', `{"executionArn": "${missingArn}", "reverseOrder": "yes"}`],
    ['ListStateMachines', '{"maxResults": "10"}'],
  ])('%s with a member of the wrong type (%s): SerializationException', async (operation, body) => {
    const { status, json } = await raw(`AWSStepFunctions.${operation}`, body);
    expect(status).toBe(400);
    expect(json['__type']).toMatch(/#SerializationException$/);
  });

  it.each(['!!!', 'AAAA', 'LTE'])('a nextToken that this server did not give (%j): InvalidToken', async (nextToken) => {
    const call = sfn.send(new ListExecutionsCommand({ stateMachineArn: local.stateMachineArn, nextToken }));
    expect(await apiError(call)).toMatchObject({ name: 'InvalidToken' });
  });

  it('a body larger than any request is refused before it is read whole (413), and the server carries on', async () => {
    const { status, json } = await raw(
      'AWSStepFunctions.ListStateMachines',
      JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }),
    ).catch(() => ({ status: 413, json: { __type: '#RequestEntityTooLargeException' } }));
    expect(status).toBe(413);
    expect(json['__type']).toMatch(/#RequestEntityTooLargeException$/);
  });

  it('a request that stalls is timed out, not held open, and the server carries on', async () => {
    const { request } = await import('node:http');
    // Its own server, with a timeout of a second rather than the default's ten: the same check, sooner.
    const timing = await StepFunctionsServer.start(local, { requestTimeoutMs: 1_000 });
    const client = new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: timing.endpoint });
    try {
      const started = Date.now();
      const closed = await new Promise<number | undefined>((resolve) => {
        const stalled = request(timing.endpoint, {
          method: 'POST',
          headers: { 'content-length': '100', 'x-amz-target': 'AWSStepFunctions.ListStateMachines' },
        });
        stalled.on('response', (response) => resolve(response.statusCode));
        stalled.on('error', () => resolve(undefined));
        stalled.write('{');
      });
      expect(closed === 408 || closed === undefined).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect((await client.send(new ListStateMachinesCommand({}))).stateMachines).toHaveLength(2);
    } finally {
      client.destroy();
      await timing.close();
    }
  }, 20_000);

  it('still answers afterwards', async () => {
    expect((await sfn.send(new ListStateMachinesCommand({}))).stateMachines).toHaveLength(2);
  });
});

describe('redrive', () => {
  it('a SUCCEEDED execution is refused with ExecutionNotRedrivable, and described as NOT_REDRIVABLE', async () => {
    const trip = tripWithId('sdk-redrive-succeeded');
    const { executionArn } = await start(trip.trip_id, trip);
    expect(await finished(executionArn as string)).toMatchObject({
      status: 'SUCCEEDED',
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven.',
    });
    expect(await apiError(sfn.send(new RedriveExecutionCommand({ executionArn })))).toMatchObject({
      name: 'ExecutionNotRedrivable',
      message: 'Execution is SUCCEEDED and cannot be redriven.',
    });
  });

  it('an execution that ended in the Fail state re-enters it and fails again, as on AWS; event ids continue', async () => {
    const trip = tripWithId('sdk-redrive-rolled-back', { fail: [lastStep.action] });
    const { executionArn } = await start(trip.trip_id, trip);
    expect(await finished(executionArn as string)).toMatchObject({ error: TerminalState.RolledBack, redriveStatus: 'REDRIVABLE' });
    const before = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events as HistoryEvent[];

    const { redriveDate } = await sfn.send(new RedriveExecutionCommand({ executionArn }));
    expect(redriveDate).toBeInstanceOf(Date);
    expect(await finished(executionArn as string)).toMatchObject({
      status: 'FAILED',
      error: TerminalState.RolledBack,
      redriveCount: 1,
      redriveDate,
    });
    const events = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events as HistoryEvent[];
    expect(events.slice(0, before.length)).toEqual(before);
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1));
    expect(events.slice(before.length).map((event) => event.type)).toEqual(['ExecutionRedriven', 'FailStateEntered', 'ExecutionFailed']);
    expect(events[before.length]).toMatchObject({ executionRedrivenEventDetails: { redriveCount: 1 } });

    const listed = async (redriveFilter: 'REDRIVEN' | 'NOT_REDRIVEN') =>
      (
        (await sfn.send(new ListExecutionsCommand({ stateMachineArn: local.stateMachineArn, redriveFilter, maxResults: 1000 })))
          .executions ?? []
      ).map((execution) => execution.executionArn);
    expect(await listed('REDRIVEN')).toContain(executionArn);
    expect(await listed('NOT_REDRIVEN')).not.toContain(executionArn);
    expect((await listed('NOT_REDRIVEN')).length).toBeGreaterThan(0);
  });
});

describe('a stuck rollback, fixed by a redrive (saga local --fail COMPENSATION=until-redrive)', () => {
  // Two compensations owed (a step added to a trip of one). The saga fails its last action; the compensation of a
  // step after the first (the one before the last when there is one) fails until the execution is redriven. The first
  // step's compensation does too, and its alert cannot be published.
  const saga = tripSagaOfTwoStagesOrMore;
  const [earliest, ...later] = compensatableStepsOf(saga) as [CompensatableStep, ...CompensatableStep[]];
  const last = later.at(-1) as CompensatableStep;
  const stuck = later.at(-2) ?? last;
  let faulty: LocalSaga;
  let faultyServer: StepFunctionsServer;
  let client: SFNClient;
  const alerts: string[] = [];
  const ends: string[] = [];

  beforeAll(async () => {
    faulty = await LocalSaga.start({ saga });
    faultyServer = await StepFunctionsServer.start(faulty, {
      retryDelayMs: 0,
      faults: {
        [stuck.compensation]: { times: 'until-redrive' },
        [earliest.compensation]: { times: 'until-redrive' },
        [alertStateOf(earliest)]: { times: 'always' },
      },
      onAlert: (alert) => alerts.push(`${alert.execution} ${alert.state}`),
      onEnd: (execution) => ends.push(`${execution.executionArn} ${execution.status}`),
    });
    client = new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: faultyServer.endpoint });
  });
  afterAll(async () => {
    client.destroy();
    await faultyServer.close();
    await faulty.close();
  });

  const ended = (executionArn: string) => finished(executionArn, client);

  async function ownBookings(tripId: string): Promise<string[]> {
    const bookings = await faulty.bookingsOf(tripId);
    return Object.entries(bookings).flatMap(([step, item]) => (item?.['status'] === 'BOOKED' ? [step] : []));
  }

  async function stuckThenRedriven(tripId: string, failing: typeof stuck): Promise<HistoryEvent[]> {
    const trip = tripWithId(tripId, { fail: [failing === stuck ? last.action : earliest.action] });
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: faulty.stateMachineArn, name: tripId, input: JSON.stringify(trip) }),
    );
    expect(await ended(executionArn as string)).toMatchObject({
      status: 'FAILED',
      error: 'InjectedFault',
      redriveCount: 0,
      redriveStatus: 'REDRIVABLE',
    });
    const first = (await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events as HistoryEvent[];
    expect(first.findLast((event) => event.type === 'TaskStateEntered')?.stateEnteredEventDetails?.name).toBe(retryStateOf(failing));
    expect(ends).toContain(`${executionArn} FAILED`);

    await client.send(new RedriveExecutionCommand({ executionArn }));
    expect(await ended(executionArn as string)).toMatchObject({ status: 'FAILED', error: TerminalState.RolledBack, redriveCount: 1 });
    expect(await ownBookings(tripId)).toEqual([]);
    const listed = await client.send(new ListExecutionsCommand({ stateMachineArn: faulty.stateMachineArn }));
    expect(listed.executions?.find((item) => item.executionArn === executionArn)?.redriveCount).toBe(1);
    const events = (await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events as HistoryEvent[];
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1));
    const redriven = events.findIndex((event) => event.type === 'ExecutionRedriven');
    expect(events[redriven + 1]?.stateEnteredEventDetails?.name).toBe(redriveEntryOf(failing, saga));
    return events.filter((event) => event.type === 'TaskSucceeded');
  }

  it('FAILED at the retry of the stuck compensation, one alert; RedriveExecution finishes the rollback', async () => {
    const published = await stuckThenRedriven('sdk-stuck', stuck);
    expect(published).toHaveLength(1);
    expect(alerts).toEqual([`${faulty.executionArnOf('sdk-stuck')} ${alertStateOf(stuck)}`]);
  });

  it('the same when the alert cannot be published', async () => {
    const published = await stuckThenRedriven('sdk-stuck-unannounced', earliest);
    expect(published).toHaveLength(0);
    expect(alerts.filter((alert) => alert.includes('sdk-stuck-unannounced'))).toEqual([]);
  });
});

describe('the rollback machine, served beside the saga', () => {
  const owner = (table: string, tripId: string) =>
    dynamo
      .send(new GetItemCommand({ TableName: table, Key: { trip_id: { S: tripId } }, ConsistentRead: true }))
      .then(({ Item }) => Item?.['execution']?.S);

  it('is listed and described as a STANDARD state machine of its own', async () => {
    const rollback = local.rollback as LocalSaga;
    const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines?.map((machine) => machine.stateMachineArn)).toEqual([local.stateMachineArn, rollback.stateMachineArn]);
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: rollback.stateMachineArn }));
    expect(JSON.parse(described.definition as string)).toEqual(rollback.definition);
  });

  it.each(steps.map((step, index) => [step.compensation, index] as const))(
    'finishes a rollback from %s: that compensation and every earlier one, on the named execution’s bookings',
    async (compensation, index) => {
      const trip = tripWithId(`rollback-from-${compensation}`);
      const booked = await finished((await start(trip.trip_id, trip)).executionArn as string);
      expect(booked.status).toBe('SUCCEEDED');
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: (local.rollback as LocalSaga).stateMachineArn,
          name: `finish-${compensation}`,
          input: JSON.stringify({ trip, execution: booked.executionArn, resumeFrom: compensation }),
        }),
      );
      expect((await finished(executionArn as string)).status).toBe('SUCCEEDED');
      for (const [position, step] of steps.entries()) {
        if (position <= index) expect(await bookingStatus(step.table, trip.trip_id)).toBe('CANCELLED');
        else expect(await owner(step.table, trip.trip_id)).toBe(booked.executionArn);
      }
    },
  );

  it('refuses a compensation it does not know, touching nothing', async () => {
    const trip = tripWithId('rollback-unknown');
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: (local.rollback as LocalSaga).stateMachineArn,
        input: JSON.stringify({ trip, execution: local.executionArnOf('nobody'), resumeFrom: 'CancelNothing' }),
      }),
    );
    expect(await finished(executionArn as string)).toMatchObject({ status: 'FAILED', error: 'UnknownCompensation' });
    for (const step of steps) expect(await bookingStatus(step.table, trip.trip_id)).toBeUndefined();
  });
});

describe('a step stuck past the pivot, redriven forward (saga local --saga examples/order.ts --fail ShipOrder=until-redrive)', () => {
  const shipment = retriableStepsOf(orderSaga).at(-1) as SagaStep;
  let order: LocalSaga;
  let orderServer: StepFunctionsServer;
  let client: SFNClient;

  beforeAll(async () => {
    order = await LocalSaga.start({ saga: orderSaga });
    orderServer = await StepFunctionsServer.start(order, { retryDelayMs: 0, faults: { [shipment.action]: { times: 'until-redrive' } } });
    client = new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: orderServer.endpoint });
  });
  afterAll(async () => {
    client.destroy();
    await orderServer.close();
    await order.close();
  });

  it('FAILED at the step’s retry, alerted, REDRIVABLE; RedriveExecution goes on to SUCCEEDED, no compensation run', async () => {
    const input = { ...((await exampleInputOf(orderSaga)) as Record<string, unknown>), [orderSaga.keyField]: 'sdk-forward' };
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: order.stateMachineArn, name: 'sdk-forward', input: JSON.stringify(input) }),
    );
    const ended = () => finished(executionArn as string, client);
    expect(await ended()).toMatchObject({ status: 'FAILED', redriveStatus: 'REDRIVABLE', redriveCount: 0 });
    const entered = async () =>
      ((await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events as HistoryEvent[]).flatMap((event) =>
        event.stateEnteredEventDetails?.name === undefined ? [] : [event.stateEnteredEventDetails.name],
      );
    expect((await entered()).at(-1)).toBe(retryStateOf(shipment));
    await client.send(new RedriveExecutionCommand({ executionArn }));
    expect(await ended()).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    const compensations = new Set(compensatableStepsOf(orderSaga).map((step) => step.compensation));
    expect((await entered()).filter((state) => compensations.has(state))).toEqual([]);
    expect(stillBooked(await order.bookingsOf('sdk-forward'), executionArn as string)).toEqual(stepsOf(orderSaga).map((step) => step.name));
  });
});
