import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PutCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Saga } from '../../asl/saga.ts';
import { localClient } from '../../local/dynamodb.ts';
import { LocalSaga, type LocalSagaOptions } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { tripSaga } from '../../saga.ts';
import { deployedSaga } from '../../bin/saga-module.ts';
import { scenariosOf } from '../../verify/scenarios.ts';
import { KEY_PREFIX } from '../../verify/key-prefix.ts';
import { saga, sagaWithEnv, startSaga } from '../helpers/cli.ts';
import {
  bookingsOf,
  firstStep,
  steps,
  TRIP_OF_TWO_STAGES_FILE,
  tripSagaOfTwoStagesOrMore,
  withStepChanged,
  type CompensatableBooking,
} from '../helpers/sagas.ts';
import { scratchDir, scratchFile } from '../helpers/scratch.ts';

// jest: heavy (saga verify in its own process, against engines it starts): test/sequencer.js starts it first on a fresh clone.
// `saga verify` as a user runs it, in its own process: against a saga local of its own, against endpoints it is
// given, and against a broken engine, which it must fail.

const scenarios = scenariosOf(tripSaga);
const faulty = scenarios.filter((scenario) => scenario.fail.length > 0);

/** The table row of a scenario, by its mark (✓ holds, ✗ does not, – skipped) and title. */
const row = (stdout: string, mark: '✓' | '✗' | '–', title: string): string | undefined =>
  stdout.split('\n').find((line) => line.startsWith(`${mark}  ${title}  `));

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A saga local in this process, and the options that point `saga verify` at it. */
async function served(options: Partial<LocalSagaOptions> & { saga?: Saga } = {}) {
  const local = await LocalSaga.start({ saga: tripSaga, ...options });
  const server = await StepFunctionsServer.start(local, { retryDelayMs: 0 });
  stops.push(async () => {
    await server.close();
    await local.close();
  });
  const endpoints = ['--endpoint-url', server.endpoint, '--dynamodb-endpoint-url', local.dynamo.endpoint];
  return { local, server, endpoints, target: ['--state-machine-arn', local.stateMachineArn, ...endpoints] };
}

describe('saga verify --local', () => {
  it('runs every scenario of the step list on its own saga local: all hold, exit 0, its trips cleaned up', async () => {
    const { code, stdout } = await saga('verify', '--local');
    expect(code).toBe(0);
    for (const scenario of scenarios) expect(row(stdout, '✓', scenario.title)).toBeDefined();
    expect(stdout).toContain(`✓ all ${scenarios.length} scenarios run hold`);
    expect(stdout).toMatch(/^Cleaned up [1-9]\d* items/m);
  });
});

describe('saga verify --local --saga FILE', () => {
  it('takes the step list as every command does: a group’s scenarios, from the list, all hold', async () => {
    const grouped = (await import('../../examples/trip-parallel.ts')).default;
    const { code, stdout } = await saga('verify', '--local', '--saga', 'examples/trip-parallel.ts');
    expect(code).toBe(0);
    expect(stdout).toContain(`saga verify: ${grouped.name} on saga local`);
    for (const scenario of scenariosOf(grouped)) expect(row(stdout, '✓', scenario.title)).toBeDefined();
  });
});

describe('the step list saga verify takes', () => {
  it('is --saga FILE; else, for --stack, its stack file’s saga setting, as pulumi up took it; else saga.ts', async () => {
    const grouped = (await import('../../examples/trip-parallel.ts')).default;
    const stackFile = await scratchFile('config:\n  step-saga:saga: examples/trip-parallel.ts\n', 'Pulumi.dev-groups.yaml');
    expect((await deployedSaga({ stack: 'dev-groups' }, stackFile)).name).toBe(grouped.name);
    const elsewhere = await scratchFile('config:\n  step-saga:saga: examples/no-such-saga.ts\n', 'Pulumi.dev-groups.yaml');
    expect((await deployedSaga({ stack: 'dev-groups', saga: 'examples/trip-parallel.ts' }, elsewhere)).name).toBe(grouped.name);
    // A stack with no file in this project, or no stack: the trip's.
    expect((await deployedSaga({ stack: 'dev-deployed-elsewhere' })).name).toBe(tripSaga.name);
    expect((await deployedSaga({})).name).toBe(tripSaga.name);
  });
});

describe('saga verify --endpoint-url … --state-machine-arn …', () => {
  it('verifies a saga local it is pointed at, finding the tables from the functions’ configuration, and deletes only its own trips', async () => {
    const server = startSaga('local', '--port', '0', '--dynamodb-port', '0', '--retry-delay', '0');
    stops.push(async () => {
      server.child.kill('SIGINT');
      await server.exited;
    });
    const [, sfnEndpoint = ''] = await server.waitFor(/Step Functions (http:\S+)/);
    const [, dynamodbEndpoint = ''] = await server.waitFor(/DynamoDB\s+(http:\S+)/);
    const [, arn = ''] = await server.waitFor(/State machine\s+(arn:\S+)/);
    const dynamodb = localClient(dynamodbEndpoint);
    const unrelated = { trip_id: 'someone-elses-trip', status: 'BOOKED', note: 'not verify’s' };
    await dynamodb.send(new PutCommand({ TableName: firstStep.table, Item: unrelated }));

    const { code, stdout } = await saga(
      'verify',
      '--state-machine-arn',
      arn,
      '--endpoint-url',
      sfnEndpoint,
      '--dynamodb-endpoint-url',
      dynamodbEndpoint,
    );
    expect(code).toBe(0);
    expect(stdout).toContain(`tables         ${steps.map((step) => `${step.name}=${step.table}`).join(', ')}`);
    for (const scenario of scenarios) expect(row(stdout, '✓', scenario.title)).toBeDefined();

    const { Item } = await dynamodb.send(
      new GetCommand({ TableName: firstStep.table, Key: { trip_id: unrelated.trip_id }, ConsistentRead: true }),
    );
    expect(Item).toEqual(unrelated);
    for (const step of steps) {
      const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: step.table, ConsistentRead: true }));
      expect(Items.filter((item) => String(item['trip_id']).startsWith(KEY_PREFIX))).toEqual([]);
    }
  });

  it('fails a broken engine, a compensation that does not undo, naming the scenarios it breaks (exit 1)', async () => {
    // The trip, of two stages at least: only a later action's failure rolls back a booking the first step made.
    const trip = tripSagaOfTwoStagesOrMore;
    const [first, second] = bookingsOf(trip) as [CompensatableBooking, CompensatableBooking];
    const broken = withStepChanged(first, { compensationModule: '../test/helpers/no-undo-cancel.ts' }, trip);
    const { target } = await served({ saga: broken });
    const { code, stdout } = await saga('verify', '--saga', TRIP_OF_TWO_STAGES_FILE, ...target);
    expect(code).toBe(1);
    // Every rollback that reaches the first step's booking leaves it booked: a later action failing is one.
    const laterActionFails = `${second.action} fails`;
    expect(row(stdout, '✗', laterActionFails)).toBeDefined();
    expect(stdout).toContain(`✗ rolled back, but ${first.name} still booked by it`);
    expect(stdout).toMatch(new RegExp(`^✗ \\d+ of ${scenariosOf(trip).length} scenarios do not hold: .*${laterActionFails}`, 'm'));
    // A scenario that books nothing still holds: the verdict names what broke, not everything.
    expect(row(stdout, '✓', 'invalid trip')).toBeDefined();
  });

  it('runs only the scenarios without faults where fault injection is disabled, and says why the others were skipped', async () => {
    const { target } = await served({ faultInjection: false });
    const { code, stdout } = await saga('verify', ...target);
    expect(code).toBe(0);
    for (const scenario of faulty) {
      expect(row(stdout, '–', scenario.title)).toContain('skipped: fault injection is disabled (SAGA_FAULT_INJECTION)');
    }
    for (const scenario of scenarios.filter((scenario) => !faulty.includes(scenario)))
      expect(row(stdout, '✓', scenario.title)).toBeDefined();
  });

  it('takes every table from --table where the functions’ configuration cannot be read, and then injects no fault', async () => {
    const { target } = await served();
    const tables = steps.flatMap((step) => ['--table', `${step.name}=${step.table}`]);
    const { code, stdout } = await saga('verify', ...target, '--lambda-endpoint-url', 'http://127.0.0.1:1', ...tables);
    expect(code).toBe(0);
    for (const scenario of faulty)
      expect(row(stdout, '–', scenario.title)).toContain("fault injection unknown: the functions' configuration could not be read");
    expect(row(stdout, '✓', scenarios[0]?.title ?? '')).toBeDefined();
  });
});

describe('saga verify --stack', () => {
  /** A `pulumi` on PATH that prints the outputs of a stack deployed on the server, and notes how it was called. */
  async function fakePulumi(arn: string) {
    const dir = await scratchDir();
    const outputs = {
      stateMachineArn: arn,
      tableNames: Object.fromEntries(steps.map((step) => [step.name, step.table])),
      faultInjection: true,
    };
    await writeFile(join(dir, 'outputs.json'), JSON.stringify(outputs));
    await writeFile(join(dir, 'pulumi'), '#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\ncat "$(dirname "$0")/outputs.json"\n');
    await chmod(join(dir, 'pulumi'), 0o755);
    return { env: { ...process.env, PATH: `${dir}:${process.env['PATH']}` }, calls: join(dir, 'calls') };
  }

  it('reads the stack’s outputs with pulumi and, on a dev stack, runs every scenario', async () => {
    const { local, endpoints } = await served();
    const { env, calls } = await fakePulumi(local.stateMachineArn);
    const { code, stdout } = await sagaWithEnv(env, 'verify', '--stack', 'dev-ci', ...endpoints);
    expect(code).toBe(0);
    expect(stdout).toContain('on stack dev-ci');
    for (const scenario of scenarios) expect(row(stdout, '✓', scenario.title)).toBeDefined();
    expect(await readFile(calls, 'utf8')).toBe('stack output --json --stack dev-ci\n');
  });

  it('refuses a stack not named dev or dev-…, running nothing (exit 2); told it is not production, runs no fault', async () => {
    const { local, server, endpoints } = await served();
    const { env } = await fakePulumi(local.stateMachineArn);
    const refused = await sagaWithEnv(env, 'verify', '--stack', 'prod', ...endpoints);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^saga: NotADevelopmentStack: stack prod is not a stack named dev or dev-…/);
    expect(await server.call('ListExecutions', { stateMachineArn: local.stateMachineArn })).toEqual({ executions: [] });

    const { code, stdout } = await sagaWithEnv(env, 'verify', '--stack', 'prod', '--yes-this-is-not-production', ...endpoints);
    expect(code).toBe(0);
    for (const scenario of faulty) expect(row(stdout, '–', scenario.title)).toContain('skipped: not a dev stack: no fault is injected');
    expect(stdout).toContain('faults         none (not a dev stack: no fault is injected)');
  });

  it('says that the Pulumi CLI is missing, by name (exit 2)', async () => {
    const { code, stderr } = await sagaWithEnv({ ...process.env, PATH: await scratchDir() }, 'verify', '--stack', 'dev');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^saga: PulumiMissing: --stack dev reads the stack's outputs with the Pulumi CLI, which is not installed/);
  });
});

describe('saga verify, a bad target (nothing run, exit 2)', () => {
  const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:TripBooking';
  it.each([
    ['no target', [], /^saga: VerifyTargetError: name the target: --local, --stack NAME, or --state-machine-arn ARN/],
    [
      'a bad ARN',
      ['--state-machine-arn', 'arn:aws:lambda:us-east-1:000000000000:function:x'],
      /VerifyTargetError: ".*" is not a state machine ARN/,
    ],
    [
      'an unknown step in --table',
      ['--state-machine-arn', arn, '--table', 'Nope=NopeBookings'],
      new RegExp(
        `VerifyTargetError: --table "Nope=NopeBookings": "Nope" is not a step \\(one of ${steps.map((step) => step.name).join(', ')}\\)`,
      ),
    ],
    [
      '--retry-delay without --local: a deployed definition’s pauses are its own',
      ['--state-machine-arn', arn, '--retry-delay', '0'],
      /^saga: --retry-delay goes with --local/,
    ],
    [
      'a malformed --table',
      ['--state-machine-arn', arn, '--table', firstStep.name],
      /VerifyTargetError: --table ".*": expected STEP=TABLE/,
    ],
    [
      'an endpoint that does not answer',
      ['--state-machine-arn', arn, '--endpoint-url', 'http://127.0.0.1:1', '--dynamodb-endpoint-url', 'http://127.0.0.1:1'],
      /^saga: EndpointUnreachable: cannot reach Step Functions at http:\/\/127.0.0.1:1/,
    ],
    [
      'a state machine on AWS named by its ARN alone: its stack is unknown',
      ['--state-machine-arn', arn],
      /^saga: NotADevelopmentStack: arn:aws:states:.* is not a stack named dev or dev-…/,
    ],
  ])('%s', async (_, args, message) => {
    const { code, stderr } = await saga('verify', ...(args as string[]));
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it.each([
    [
      'a DynamoDB endpoint that does not answer',
      (dynamodb: string) => ['--dynamodb-endpoint-url', `${dynamodb.replace(/:\d+$/, ':1')}`],
      /^saga: EndpointUnreachable: cannot reach DynamoDB at http:\/\/127\.0\.0\.1:1/,
    ],
    [
      'a table the endpoint does not have',
      (dynamodb: string) => ['--dynamodb-endpoint-url', dynamodb, '--table', `${firstStep.name}=NoSuchTable`],
      new RegExp(`^saga: VerifyTargetError: ${firstStep.name}'s table NoSuchTable does not exist`),
    ],
  ])('%s: checked before the first scenario, nothing started', async (_, dynamodbArgs, message) => {
    const { server, local } = await served();
    const { code, stderr } = await saga(
      'verify',
      '--state-machine-arn',
      arn,
      '--endpoint-url',
      server.endpoint,
      ...dynamodbArgs(local.dynamo.endpoint),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(await server.call('ListExecutions', { stateMachineArn: arn })).toEqual({ executions: [] });
  });

  it('an ARN the endpoint does not know', async () => {
    const { endpoints } = await served();
    const { code, stderr } = await saga('verify', '--state-machine-arn', `${arn}-other`, ...endpoints);
    expect(code).toBe(2);
    expect(stderr).toMatch(/VerifyTargetError: .*StateMachineDoesNotExist/);
  });
});
