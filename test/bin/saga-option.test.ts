import { describe, expect, it } from '@jest/globals';
import {
  groupCompensationOf,
  isGroup,
  retriableStepsOf,
  stepsOf,
  stepsOfStage,
  type ParallelGroup,
  type SagaStep,
} from '../../asl/index.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/dynamodb.ts';
import { saga, sfnOf, startSaga } from '../helpers/cli.ts';
import { everySaga, tripParallelSaga, tripSagaOfTwoStagesOrMore } from '../helpers/sagas.ts';
import { scratchDir, scratchFile } from '../helpers/scratch.ts';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { readFileSync } from 'node:fs';

// Every `saga` command takes the step list from --saga FILE: the example with a group, examples/trip-parallel.ts.

const EXAMPLE = 'examples/trip-parallel.ts';
const group = tripParallelSaga.steps.find(isGroup) as ParallelGroup;
const grouped = group.parallel;
/** The steps before the group, whose compensations follow the group's. */
const earlier = tripParallelSaga.steps.slice(0, tripParallelSaga.steps.findIndex(isGroup)).flatMap(stepsOfStage);

describe('--saga examples/trip-parallel.ts', () => {
  it('saga asl has a Parallel state for the group', async () => {
    const { code, stdout } = await saga('asl', '--saga', EXAMPLE);
    expect(code).toBe(0);
    const definition = JSON.parse(stdout);
    expect(definition.States[group.name].Type).toBe('Parallel');
    expect(definition.States[groupCompensationOf(group)].Type).toBe('Parallel');
  });

  it('saga run --fail on a grouped action exits 3, shows every compensation of the group and the earlier ones, nothing left booked', async () => {
    const failing = grouped.at(-1) as SagaStep;
    const { code, stdout } = await saga('run', '--saga', EXAMPLE, '--fail', failing.action, '--json');
    expect(code).toBe(3);
    const run = JSON.parse(stdout) as {
      error: string;
      bookingsLeft: string[];
      events: { type: string; stateEnteredEventDetails?: { name: string } }[];
    };
    expect(run.error).toBe('SagaRolledBack');
    expect(run.bookingsLeft).toEqual([]);
    const entered = run.events.flatMap((event) => (event.stateEnteredEventDetails ? [event.stateEnteredEventDetails.name] : []));
    // The group's compensations, at once, then those of the steps before it, in reverse.
    const afterGroup = entered.slice(entered.indexOf(groupCompensationOf(group)));
    for (const step of [...grouped, ...earlier]) expect(afterGroup).toContain(step.compensation);
    expect(afterGroup.at(-1)).toBe('SagaRolledBack');
    expect(run.events.map((event) => event.type)).toEqual(
      expect.arrayContaining([
        'ParallelStateEntered',
        'ParallelStateStarted',
        'ParallelStateFailed',
        'ParallelStateSucceeded',
        'ParallelStateExited',
      ]),
    );
    const { stdout: report } = await saga('run', '--saga', EXAMPLE, '--fail', failing.action);
    for (const step of stepsOf(tripParallelSaga)) expect(report).toMatch(new RegExp(`^  ${step.name} +(CANCELLED|—)`, 'm'));
    expect(report).toContain('nothing of its own is left booked');
  });

  it('saga cost prints the happy path and every rollback, the group counted as Step Functions counts a Parallel state', async () => {
    const { code, stdout } = await saga('cost', '--saga', EXAMPLE);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`\\| all steps succeed +\\| ${stepsOf(tripParallelSaga).length + 1} +\\|`));
    const position = tripParallelSaga.steps.findIndex(isGroup) + 1;
    for (const step of grouped) expect(stdout).toContain(`${step.action} fails (step ${position}, group ${group.name}): roll back`);
    expect(stdout).toContain('a Parallel state as long as its slowest branch');
  });

  it('saga graph and saga validate read it too', async () => {
    const graph = await saga('graph', '--saga', EXAMPLE);
    expect(graph.stdout).toContain(`subgraph`);
    const validate = await saga('validate', '--saga', EXAMPLE);
    expect(validate.stdout).toContain(`✓ ${tripParallelSaga.name} (${stepsOf(tripParallelSaga).length} steps)`);
  });

  it('saga local serves it: an execution through the AWS SDK, its history with the Parallel events', async () => {
    const server = startSaga(
      'local',
      '--saga',
      EXAMPLE,
      '--port',
      '0',
      '--dynamodb-port',
      '0',
      '--retry-delay',
      '0',
      '--fail',
      (grouped[0] as SagaStep).action,
    );
    try {
      const sfn = await sfnOf(server);
      const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${tripParallelSaga.name}`;
      const input = readFileSync(new URL('../../examples/trip.json', import.meta.url), 'utf8');
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'parallel-local', input }));
      await server.waitFor(/■ \S+parallel-local FAILED \(SagaRolledBack\): rolled back/);
      expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      expect(events?.filter((event) => event.type === 'ParallelStateEntered')).toHaveLength(2);
    } finally {
      server.child.kill('SIGINT');
      await server.exited;
    }
  });
});

describe('--saga FILE that is not a step list', () => {
  it('a missing file: exit 2, naming it', async () => {
    const { code, stderr } = await saga('asl', '--saga', 'examples/nothing-here.ts');
    expect(code).toBe(2);
    expect(stderr).toContain('step list examples/nothing-here.ts: no such file');
  });

  it('a module without a default export, or one whose export is no step list: exit 1, SagaDefinitionError', async () => {
    const noDefault = await scratchFile('export const saga = {};\n', 'no-default.mjs');
    const notASaga = await scratchFile('export default { name: "X", steps: "none" };\n', 'not-a-saga.mjs');
    const first = await saga('cost', '--saga', noDefault);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('SagaDefinitionError');
    expect(first.stderr).toContain('has no default export');
    const second = await saga('run', '--saga', notASaga);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('"steps" must be a list of steps and groups');
  });

  it('a module that does not load: exit 2, with its error', async () => {
    const broken = await scratchFile('export default {\n', 'broken.mjs');
    const { code, stderr } = await saga('graph', '--saga', broken);
    expect(code).toBe(2);
    expect(stderr).toContain('cannot be loaded as a module: SyntaxError');
  });

  it('a group of one step: exit 1, the group named', async () => {
    const file = await scratchFile(
      `import { parallel, stepsOf } from ${JSON.stringify(new URL('../../asl/saga.ts', import.meta.url).href)};\n` +
        `import { tripSagaOfTwoStagesOrMore as trip } from ${JSON.stringify(new URL('../helpers/saga-shapes.ts', import.meta.url).href)};\n` +
        'const [first, second] = stepsOf(trip);\n' +
        'export default { ...trip, steps: [parallel("Alone", [first]), second] };\n',
      'one-step-group.mjs',
    );
    const { code, stderr } = await saga('validate', '--saga', file);
    expect(code).toBe(1);
    expect(stderr).toContain('group "Alone" has 1 step(s): a group runs at least two at once');
  });

  it('an input schema that cannot be compiled: saga validate exits 1, SagaDefinitionError naming it', async () => {
    const file = await scratchFile(
      `import trip from ${JSON.stringify(new URL('../../saga.ts', import.meta.url).href)};\n` +
        'export default { ...trip, input: { ...trip.input, [trip.keyField]: { type: "string", pattern: "(" } } };\n',
      'uncompilable-schema.mjs',
    );
    const { code, stderr } = await saga('validate', '--saga', file);
    expect(code).toBe(1);
    expect(stderr).toContain('SagaDefinitionError');
    expect(stderr).toContain('its input schema cannot be compiled');
  });

  it('a step without a compensation: read as a step list when it is the pivot, named when it is compensatable', async () => {
    const file = async (role: string, name: string) =>
      scratchFile(
        `import { stepsOf } from ${JSON.stringify(new URL('../../asl/saga.ts', import.meta.url).href)};\n` +
          `import { tripSagaOfTwoStagesOrMore as trip } from ${JSON.stringify(new URL('../helpers/saga-shapes.ts', import.meta.url).href)};\n` +
          'const [{ compensation, ...first }, ...rest] = stepsOf(trip);\n' +
          `export default { ...trip, steps: [{ ...first, ${role} }, ...rest] };\n`,
        name,
      );
    const [, second] = stepsOf(tripSagaOfTwoStagesOrMore) as [SagaStep, SagaStep];
    // The pivot reads as a step list, whose own rules then name what follows it.
    const pivot = await saga('validate', '--saga', await file("role: 'pivot'", 'pivot-first.mjs'));
    expect(pivot.code).toBe(1);
    expect(pivot.stderr).toContain(`step "${second.name}" comes after the pivot: it must be retriable`);
    const compensatable = await saga('validate', '--saga', await file('', 'no-compensation.mjs'));
    expect(compensatable.code).toBe(1);
    expect(compensatable.stderr).toContain('entry 1 of steps: "compensation" must be a string');
    expect(compensatable.stderr).not.toContain('after the pivot');
  });

  it('a data folder keeps its saga: saga resume --data continues it without --saga, and refuses another saga by name', async () => {
    const forward = everySaga.find(({ saga: each }) => retriableStepsOf(each).length > 0);
    if (!forward) throw new Error('no saga of examples/ has a retriable step');
    const stuck = retriableStepsOf(forward.saga).at(-1) as SagaStep;
    const data = await scratchDir();
    const run = await saga('run', '--saga', forward.file, '--fail', `${stuck.action}=until-redrive`, '--retry-delay', '0', '--data', data);
    expect(run.code).toBe(4);
    const name = (run.stdout.match(/saga resume --data \S+ --execution (\S+)/) ?? [])[1] as string;
    const resumed = await saga('resume', '--data', data, '--execution', name, '--retry-delay', '0');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`Tables for ${forward.saga.keyField}`);
    for (const step of stepsOf(forward.saga)) expect(resumed.stdout).toMatch(new RegExp(`^ +${step.name} +BOOKED`, 'm'));
    expect(resumed.stdout).not.toContain('changed since it started');
    const other = everySaga.find(({ saga: each }) => each.name !== forward.saga.name) as (typeof everySaga)[number];
    const refused = await saga('resume', '--saga', other.file, '--data', data, '--execution', name);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`holds executions of the saga ${forward.saga.name}`);
    expect(refused.stderr).toContain(`not ${other.saga.name}`);
  });

  it('every command says so in its help', async () => {
    for (const command of ['asl', 'validate', 'graph', 'cost', 'run', 'resume', 'local', 'tour']) {
      const { stdout } = await saga(command, '--help');
      expect(stdout).toContain('--saga <file>');
      expect(stdout).toContain('default export');
    }
  });
});
