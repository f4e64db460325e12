import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { localStateMachineArn, saga, sfnOf, startSaga } from '../helpers/cli.ts';
import { scratchDir, scratchFile } from '../helpers/scratch.ts';
import { tourOf } from '../../bin/local-commands.ts';
import { actionEntryOf, alertStateOf, retryStateOf, type SagaStep, type Stage } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import type { Trip } from '../../saga.ts';
import {
  addedStep,
  actionStatesOf,
  bookingsOf,
  expectSamePath,
  firstStep,
  happyPathOf,
  lastStep,
  redriveEntryOf,
  redrivenRollbackPathOf,
  rollbackPathOf,
  heldWhenStuck,
  stageOf,
  steps,
  TRIP_OF_TWO_STAGES_FILE,
  tripSagaOfTwoStagesOrMore,
  type CompensatableBooking,
} from '../helpers/sagas.ts';
import { exampleTrip, tripWithId } from '../helpers/trips.ts';

// jest: heavy (the saga command started and stopped dozens of times): test/sequencer.js starts it first on a fresh clone.
// The local mode as a user meets it: the `saga` command in its own process, its output and exit status.

/** The lines naming states entered (→ or ■, a group's with its note), in order. */
const pathOf = (stdout: string): string[] =>
  [...stdout.matchAll(/^\s+\d+ ms {2}[→■] (\S+)(?: \(its branches at once\))?$/gm)].map((match) => match[1] as string);
/** The Task states that succeeded (a ✓ line each), as `saga run` prints them. */
const succeededIn = (stdout: string): Set<string> =>
  new Set([...stdout.matchAll(/^\s+\d+ ms\s+✓ (\w+) \(/gm)].map((match) => match[1] as string));
/** The state a failed action's step fails at in the saga's eyes: its own, or its group's. */
const failingStateOf = (action: string): string => actionEntryOf(stageOf(steps.find((step) => step.action === action) as SagaStep));

/**
 * The trip as a step list file, of two stages at least: what a stuck rollback runs, so that a step before the failed
 * one has booked and owes its compensation, and the step list has a step to remove or move.
 */
const TRIP = TRIP_OF_TWO_STAGES_FILE;
const trip = tripSagaOfTwoStagesOrMore;
const tripSteps = bookingsOf(trip);
const tripLast = tripSteps.at(-1) as CompensatableBooking;
/** The step whose compensation a stuck rollback leaves stuck: the one before the last, owed when the last action fails. */
const stuck = tripSteps.at(-2) as CompensatableBooking;

/** `saga run --data`: the trip's last action fails, and the compensation before it fails until redriven. */
const stuckRollback = (data: string) =>
  saga(
    'run',
    ...['--saga', TRIP, '--fail', tripLast.action, '--fail', `${stuck.compensation}=until-redrive`, '--retry-delay', '0'],
    ...['--data', data],
  );

describe('saga tour (npm start)', () => {
  it('shows the happy path, a rollback and a retried compensation, each with tables and a verdict, and exits 0', async () => {
    const { code, stdout } = await saga('tour');
    expect(code).toBe(0);
    const [, second, third] = tourOf(tripSaga);
    expect(stdout).toContain(`✓ succeeded: all ${steps.length} bookings made`);
    expect(stdout).toContain(`━━ ${second?.title} ━━`);
    expect(stdout).toContain(
      `↩ rolled back: ${failingStateOf(Object.keys(second?.faults ?? {})[0] as string)} failed (InjectedFault); every compensation ran, nothing of its own is left booked`,
    );
    expect(stdout).toContain(`━━ ${third?.title} ━━`);
    expect(stdout).toContain(`↩ rolled back: ${failingStateOf(lastStep.action)} failed (InjectedFault)`);
    // The retried compensation, named on each retry.
    const retried = Object.keys(third?.faults ?? {})[1];
    expect(stdout.match(/↻ \S+ retry \d/g)).toEqual([`↻ ${retried} retry 1`, `↻ ${retried} retry 2`]);
    expect(stdout).not.toContain('INCONSISTENT');
  });
});

describe('saga run', () => {
  it('runs the example trip: every state, the tables, the verdict; exit 0', async () => {
    const { code, stdout } = await saga('run');
    expect(code).toBe(0);
    expectSamePath(pathOf(stdout), happyPathOf());
    expect(stdout).toMatch(new RegExp(`${firstStep.name} +BOOKED +${exampleTrip[firstStep.records[0] as keyof Trip]}`));
    expect(stdout).toContain('retry pauses as the definition says');
  });

  it('--fail on the last action rolls back in reverse and exits 3', async () => {
    const { code, stdout } = await saga('run', '--fail', lastStep.action);
    expect(code).toBe(3);
    expectSamePath(pathOf(stdout), rollbackPathOf(lastStep));
  });

  it('a compensation that fails until redriven alerts and exits 4; `saga resume` redrives it: rolled back, exit 3', async () => {
    const data = await scratchDir();
    const run = await stuckRollback(data);
    expect(run.code).toBe(4);
    expect(pathOf(run.stdout).slice(-2)).toEqual([alertStateOf(stuck), retryStateOf(stuck)]);
    expect(run.stdout).toContain(`"stuckCompensation":"${stuck.compensation}"`);
    // What a user reads: each error's message, not the stack traces the alert's causes carry.
    expect(run.stdout).not.toContain('"trace"');
    expect(run.stdout).toContain(`saga resume --data ${data} --execution ${exampleTrip.trip_id}`);

    const resumed = await saga('resume', '--data', data, '--execution', exampleTrip.trip_id, '--retry-delay', '0');
    expect(resumed.code).toBe(3);
    expect(pathOf(resumed.stdout)[0]).toBe(redriveEntryOf(stuck, trip));
    expect(resumed.stdout).toContain('↩ rolled back');
    expect(resumed.stdout).not.toContain('BOOKED');

    const again = await saga('resume', '--data', data, '--execution', 'no-such-trip');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('no execution named "no-such-trip"');
  }, 30_000);

  // The issue's reproduction: the step list is edited (as `--saga FILE` gives it) between the stuck run and `saga resume`.
  it.each([
    ['reordered', 'steps: [...trip.steps].reverse()'],
    ['without its failed step', 'steps: trip.steps.slice(0, -1)'],
    ['with a step added', `steps: [...trip.steps, ${JSON.stringify(addedStep)}]`],
  ])('a stuck rollback resumed with the step list %s ends rolled back, nothing booked, on its own definition', async (_, edit) => {
    const data = await scratchDir();
    const run = await stuckRollback(data);
    expect(run.code).toBe(4);
    const edited = await scratchFile(
      `import trip from ${JSON.stringify(new URL(`../../${TRIP}`, import.meta.url).href)};\nexport default { ...trip, ${edit} };\n`,
      'edited.ts',
    );
    const resumed = await saga('resume', '--saga', edited, '--data', data, '--execution', exampleTrip.trip_id, '--retry-delay', '0');
    expect(resumed.stdout).toMatch(/^Note: the step list changed since it started \(.+\): it runs on the definition it started with/m);
    // The stuck compensation again, then every one owed after it, in the order of the step list the execution started with.
    expectSamePath(pathOf(resumed.stdout), redrivenRollbackPathOf(stuck, trip, succeededIn(run.stdout)), trip);
    // The tables of the step list it started with, each step's item undone.
    for (const step of tripSteps) expect(resumed.stdout).toMatch(new RegExp(`^ +${step.name} +CANCELLED`, 'm'));
    expect(resumed.stdout).toContain('↩ rolled back');
    expect(resumed.stdout).not.toContain('BOOKED');
    expect(resumed.stdout).not.toContain('INCONSISTENT');
    expect(resumed.code).toBe(3);
  });

  it('redriving while the fault persists says so and exits 4; a succeeded execution is not redrivable (exit 2)', async () => {
    const data = await scratchDir();
    // The first step's compensation, owed by every rollback (the failing step's own, in a trip of one).
    const { compensation } = firstStep;
    await saga('run', '--fail', lastStep.action, '--fail', compensation, '--retry-delay', '0', '--data', data);
    const resumed = await saga('resume', '--data', data, '--execution', exampleTrip.trip_id, '--fail', compensation, '--retry-delay', '0');
    expect(resumed.code).toBe(4);
    expect(resumed.stdout).toContain(`⚠ compensation not finished: ${compensation} gave up`);

    // Another folder: the trip is still booked there by the stuck execution.
    const other = await scratchDir();
    await saga('run', '--name', 'fine', '--data', other);
    const succeeded = await saga('resume', '--data', other, '--execution', 'fine');
    expect(succeeded.code).toBe(2);
    expect(succeeded.stderr).toContain('Execution is SUCCEEDED and cannot be redriven.');
  });

  it('--json prints a history shaped like GetExecutionHistory', async () => {
    const { code, stdout } = await saga(
      'run',
      '--json',
      '--fail',
      `${firstStep.compensation}=1`,
      '--fail',
      lastStep.action,
      '--retry-delay',
      '0',
    );
    expect(code).toBe(3);
    const history = JSON.parse(stdout) as {
      status: string;
      error: string;
      events: { id: number; previousEventId: number; type: string }[];
    };
    expect(history).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
    // Numbered in order, each after the one it follows (in a group's branch, that branch's previous event).
    history.events.forEach((event, index) => {
      expect(event.id).toBe(index + 1);
      expect(event.previousEventId).toBeGreaterThanOrEqual(0);
      expect(event.previousEventId).toBeLessThan(event.id);
    });
    const types = history.events.map((event) => event.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionFailed');
    expect(types.filter((type) => type === 'LambdaFunctionFailed')).toHaveLength(2);
    expect(types).toContain('FailStateEntered');
  });

  it('--graph draws the path taken', async () => {
    const file = join(await scratchDir(), 'path.svg');
    const { code } = await saga('run', '--fail', lastStep.action, '--graph', file);
    expect(code).toBe(3);
    const svg = await readFile(file, 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('#1570ef');
  });

  it('an invalid trip is bad input: the problems named, nothing written, exit 5', async () => {
    const file = await scratchFile(JSON.stringify(tripWithId('bad-dates', { check_out: '2017-07-01T00:00:00.000Z' })));
    const { code, stdout } = await saga('run', '--input', file);
    expect(code).toBe(5);
    expectSamePath(pathOf(stdout), [...actionStatesOf(tripSaga.steps[0] as Stage), 'TripRejected']);
    expect(stdout).toContain('✗ bad input: invalid trip: /trip/check_out must be a date-time after check_in; nothing was written');
  });

  it('input that is not JSON is bad input, exit 5', async () => {
    const { code, stderr } = await saga('run', '--input', await scratchFile('{ "trip_id": '));
    expect(code).toBe(5);
    expect(stderr).toMatch(/bad input: .* is not JSON/);
  });

  it('input nested too deeply for the local mode is bad input, refused before it runs: exit 5, no stack trace', async () => {
    const { code, stdout, stderr } = await saga('run', '--input', await scratchFile(`${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    expect(code).toBe(5);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^saga: bad input: .* nests deeper than \d+ levels\n$/);
  });

  it('input that is not an object says that it has no trip id, rather than naming tables after a generated name', async () => {
    const { code, stdout } = await saga('run', '--input', await scratchFile('["not", "a", "trip"]'));
    expect(code).toBe(5);
    expect(stdout).toContain('The input has no trip_id: no table can hold a booking of it.');
    expect(stdout).not.toContain('Tables for');
  });

  it('--dynamodb-port chooses the embedded DynamoDB’s port', async () => {
    const port = 18_000 + Math.floor(Math.random() * 1000);
    const { code, stdout } = await saga('run', '--dynamodb-port', String(port));
    expect(code).toBe(0);
    expect(stdout).toContain(`DynamoDB (dynalite) at http://127.0.0.1:${port}`);
  });

  it('a data folder that cannot be made is refused at once, exit 2 (Node’s own recursive mkdir never returns under /proc)', async () => {
    const { code, stderr } = await saga('run', '--data', '/proc/no-such-folder/data');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^saga: ENOENT: .*\/proc\/no-such-folder/);
  }, 10_000);

  it.each([
    [['--input', '/nonexistent/trip.json'], /cannot read \/nonexistent\/trip.json/],
    [['--fail', 'NoSuchState'], new RegExp(`"NoSuchState" is not a Task state \\(one of ${firstStep.action}, ${firstStep.compensation}`)],
    [['--fail', `${lastStep.action}=0`], /N must be at least 1/],
    [['--fail', `${lastStep.action}=sometimes`], /expected STATE, STATE=N, STATE=always or STATE=until-redrive/],
    [['--retry-delay', 'soon'], /expected a whole number of milliseconds/],
    [['--graph', 'path.png'], /the picture is an SVG; name the file \*\.svg/],
    [['--graph', '/nonexistent/folder/path.svg'], /the folder \/nonexistent\/folder does not exist/],
    [['--name', 'two words'], /"two words" cannot name an execution/],
    [['--fail', lastStep.action, '--fail', `${lastStep.action}=2`], new RegExp(`--fail names ${lastStep.action} twice`)],
  ])('refuses %j with a clear message and exit 2', async (args, message) => {
    const { code, stderr } = await saga('run', ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});

describe('saga local', () => {
  it('refuses the same port for both endpoints, naming both options', async () => {
    const { code, stderr } = await saga('local', '--port', '18084', '--dynamodb-port', '18084');
    expect(code).toBe(2);
    expect(stderr).toContain('--port and --dynamodb-port are both 18084');
  });
});

describe('saga resume --help', () => {
  it('says the execution is required and what names it', async () => {
    const { stdout } = await saga('resume', '--help');
    expect(stdout.replace(/\s+/g, ' ')).toContain("the execution's name: the input's key, unless `saga run --name` gave another");
  });
});

describe('Ctrl-C with --data', () => {
  // The stuck compensation's retry state retries for seconds: Ctrl-C strikes it there, a booking of an earlier step held.
  const retrying = ['--saga', TRIP, '--fail', tripLast.action, '--fail', `${stuck.compensation}=until-redrive`, '--retry-delay', '300'];

  it('saga run stops cleanly: it prints what is still booked and the command that finishes it, which does (exit 130, then 3)', async () => {
    const data = await scratchDir();
    const run = startSaga('run', '--data', data, ...retrying);
    await run.waitFor(new RegExp(`→ ${retryStateOf(stuck)}\n`));
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    // Still booked: the stuck step's, and those of earlier entries (the rest of its group has been cancelled).
    const owned = heldWhenStuck(stuck, trip).map((step) => step.name);
    expect(run.output()).toContain(`still booked by it: ${owned.join(', ')}.`);
    expect(run.output()).toContain(`To finish it: npx saga resume --data ${data} --execution ${exampleTrip.trip_id}`);

    const resumed = await saga('resume', '--data', data, '--execution', exampleTrip.trip_id, '--retry-delay', '0');
    expect(resumed.stdout).toContain(
      `↻ ${exampleTrip.trip_id}: was running in ${redriveEntryOf(stuck, trip)}: continued from ${redriveEntryOf(stuck, trip)}`,
    );
    expect(resumed.code).toBe(3);
    expect(resumed.stdout).toContain('↩ rolled back');
  }, 60_000);

  it('saga local keeps an execution retrying a compensation RUNNING: the next start continues it, not ABORTED', async () => {
    const data = await scratchDir();
    const args = ['local', '--data', data, '--port', '0', '--dynamodb-port', '0'];
    const first = startSaga(...args, ...retrying);
    const sfn = await sfnOf(first);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: localStateMachineArn,
        name: 'interrupted',
        input: JSON.stringify(tripWithId('interrupted')),
      }),
    );
    for (;;) {
      const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      if (events.some((event) => event.stateEnteredEventDetails?.name === retryStateOf(stuck))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    sfn.destroy();
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = startSaga(...args, '--retry-delay', '0');
    const again = await sfnOf(second);
    expect(second.output()).toContain(
      `↻ interrupted: was running in ${redriveEntryOf(stuck, trip)}: continued from ${redriveEntryOf(stuck, trip)}`,
    );
    let described = await again.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).not.toBe('ABORTED');
    while (described.status === 'RUNNING') described = await again.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack', redriveCount: 0 });
    again.destroy();
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, 60_000);
});
